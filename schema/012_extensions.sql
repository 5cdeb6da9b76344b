-- The extensions senders use (issue 11): every host offers SMTPUTF8 (RFC
-- 6531), CHUNKING (RFC 3030), DSN (RFC 3461) and, under TLS, REQUIRETLS
-- (RFC 8689); what a sender used is recorded per transaction and recipient.
-- How the message came: 'DATA', or 'BDAT' with its number of chunks
-- (BDAT commands, the LAST one included; 0 for DATA).
ALTER TABLE transactions ADD COLUMN body_method TEXT NOT NULL DEFAULT 'DATA';
ALTER TABLE transactions ADD COLUMN chunks INTEGER NOT NULL DEFAULT 0;
-- MAIL ... SMTPUTF8 and MAIL ... REQUIRETLS given: 0 or 1.
ALTER TABLE transactions ADD COLUMN smtputf8 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE transactions ADD COLUMN requiretls INTEGER NOT NULL DEFAULT 0;
-- DSN: RET ('FULL' or 'HDRS') and ENVID (xtext as sent); NULL: not given.
ALTER TABLE transactions ADD COLUMN ret TEXT;
ALTER TABLE transactions ADD COLUMN envid TEXT;
-- The RCPT command's ESMTP parameters as sent ("" for none), and its DSN
-- NOTIFY and ORCPT values as sent (NULL: not given).
ALTER TABLE recipients ADD COLUMN rcpt_params TEXT;
ALTER TABLE recipients ADD COLUMN notify TEXT;
ALTER TABLE recipients ADD COLUMN orcpt TEXT;
