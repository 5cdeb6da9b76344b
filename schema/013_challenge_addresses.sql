-- The address names the challenge (issue 12): each challenge may have
-- listen addresses of its own (challenge_listen), so that a connection
-- names its challenge before any command, even one refused before RCPT.
-- The challenge whose own address the connection came to; NULL on an
-- address its host's challenges share (listen).
ALTER TABLE connections ADD COLUMN challenge TEXT;
-- The challenges the connection may be for, comma-separated in catalogue
-- order: the one above on an address of its own; on a shared address,
-- those whose MX publishes it (else every challenge of the host).
ALTER TABLE connections ADD COLUMN challenges TEXT;
CREATE INDEX connections_challenge ON connections (challenge);
-- 1: the recipient's challenge is not among the connection's challenges
-- (a sender that ignored the MX, a test by hand on the wrong address).
-- Such a delivery is no result of its challenge.
ALTER TABLE recipients ADD COLUMN wrong_host INTEGER NOT NULL DEFAULT 0;

-- The catalogue (daemon/lib/catalog.c) with the addresses of the config,
-- rewritten by mailscoped at every start.
CREATE TABLE challenges (
	name		TEXT PRIMARY KEY,
	host		TEXT NOT NULL,		-- of the (first) MX
	host2		TEXT,			-- of the second MX (sts-2mx-*)
	mx_family	TEXT NOT NULL,		-- A, AAAA or dual
	dns		TEXT NOT NULL,		-- DNS flags, "signed,tlsa-bad"
	addresses	TEXT,			-- its own on host; NULL: shared
	addresses2	TEXT,			-- its own on host2
	description	TEXT NOT NULL		-- what a delivery means
);
