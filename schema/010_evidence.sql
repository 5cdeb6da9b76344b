-- Evidence exactly as sent (issue 11).
-- NUL bytes in the message (DATA), kept in the hash and the headers.
ALTER TABLE transactions ADD COLUMN nul_bytes INTEGER NOT NULL DEFAULT 0;
-- Commands refused because a CR not part of CRLF was in the line.
ALTER TABLE connections ADD COLUMN bare_cr_commands INTEGER NOT NULL
    DEFAULT 0;
