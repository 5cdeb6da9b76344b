-- DKIM (RFC 6376) of each accepted message, verified by libopendkim with
-- the keys fetched from the configured resolver.  No rows when the daemon
-- runs with resolver = off.  One row per message: the summary.
CREATE TABLE dkim_results (
	transaction_id	INTEGER PRIMARY KEY REFERENCES transactions (id),
	signatures	INTEGER NOT NULL,	-- DKIM-Signature fields in the message
	result		TEXT NOT NULL,		-- the best signature result; none: unsigned
	error		TEXT			-- why the signatures were not verified
);

-- One row per DKIM-Signature field, the first 50 (position 1: the topmost
-- field).  result is RFC 8601 2.7.1's: pass; fail (the signature or the
-- body hash did not verify); policy (an RSA key under 1024 bits, RFC 8301
-- 3.2); neutral (not verified: over a limit); temperror (the key lookup
-- failed, RFC 6376 6.1.2); permerror (a malformed signature, no key, a
-- revoked or malformed key, an expired signature, ...).  Only the first
-- 10 signatures of a message, of at most 1000 header fields, are verified.
CREATE TABLE dkim_signatures (
	transaction_id	INTEGER NOT NULL REFERENCES transactions (id),
	position	INTEGER NOT NULL,
	domain		TEXT,			-- d=, lowercased, escaped
	selector	TEXT,			-- s=, escaped
	algorithm	TEXT,			-- a=: rsa-sha256, ed25519-sha256, ... (escaped)
	key_bits	INTEGER,		-- of the key applied; NULL: none
	canon_header	TEXT NOT NULL,		-- c=: simple or relaxed (escaped)
	canon_body	TEXT NOT NULL,
	body_length	INTEGER,		-- l=; NULL: the whole body is signed
	result		TEXT NOT NULL,
	error		TEXT,			-- why not pass, escaped
	aligned		INTEGER,		-- d= aligns with the From domain (relaxed, RFC 7489 3.1.1); NULL: not known
	PRIMARY KEY (transaction_id, position)
);

-- DMARC (RFC 7489) of each accepted message: the record of the header
-- From domain, else of its Organizational Domain (6.6.3; from the Public
-- Suffix List, 3.2), its tags, the alignment of the SPF-authenticated
-- MAIL FROM (or HELO) domain and of the passing DKIM signatures (3.1),
-- and the result: pass (an aligned identifier passed), fail, none (no
-- record, no From domain), temperror (the lookup failed), permerror
-- (several records, or one without a valid p= and rua=).  No rows when
-- the daemon runs with resolver = off.
CREATE TABLE dmarc_results (
	transaction_id	INTEGER PRIMARY KEY REFERENCES transactions (id),
	from_domain	TEXT,			-- header From domain, escaped; NULL: none
	org_domain	TEXT,			-- its Organizational Domain
	policy_domain	TEXT,			-- where the record was found
	record		TEXT,			-- the record, escaped
	result		TEXT NOT NULL,		-- pass fail none temperror permerror
	error		TEXT,			-- why none, temperror or permerror
	p		TEXT,			-- none quarantine reject (p=none for an invalid p= with a valid rua=, 6.6.3)
	sp		TEXT,			-- NULL: as p
	pct		INTEGER,
	adkim		TEXT,			-- r or s
	aspf		TEXT,
	fo		TEXT,			-- escaped
	rua		TEXT,			-- as published, escaped
	ruf		TEXT,
	invalid_tags	TEXT,			-- tags ignored as invalid (6.3), space-separated
	spf_domain	TEXT,			-- the SPF-authenticated domain (spf_results, mailfrom)
	spf_result	TEXT,			-- its SPF result
	spf_aligned	INTEGER,		-- 1: SPF passed for an aligned domain (aspf)
	dkim_aligned	INTEGER,		-- 1: a signature passed for an aligned d= (adkim)
	policy		TEXT,			-- the policy for the From domain: p, or sp for a subdomain
	disposition	TEXT			-- what it asks for this message: none when it passes (pct= not applied)
);

-- The report destinations of the record (rua=, ruf=: the first 10 URIs
-- of each) and, for a destination outside the policy domain's
-- Organizational Domain, whether it authorises the reports: a v=DMARC1
-- record at <policy domain>._report._dmarc.<destination host> (7.1).
CREATE TABLE dmarc_destinations (
	transaction_id	INTEGER NOT NULL REFERENCES transactions (id),
	tag		TEXT NOT NULL,		-- rua or ruf
	position	INTEGER NOT NULL,	-- 1: the first URI of the tag
	uri		TEXT NOT NULL,		-- as published, escaped
	domain		TEXT,			-- its host, lowercased; NULL: none
	external	INTEGER,		-- 1: another Organizational Domain
	authorized	INTEGER,		-- 1, 0; NULL: not external, or the lookup failed
	status		TEXT,			-- that lookup: noerror, nxdomain, timeout, ...
	PRIMARY KEY (transaction_id, tag, position)
);
