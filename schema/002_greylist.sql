-- Greylisting of the grey host (CHALLENGES.md): one row per (MAIL FROM,
-- RCPT); the client address is deliberately not part of the key.
CREATE TABLE greylist (
	mail_from	TEXT NOT NULL,		-- lowercased
	rcpt		TEXT NOT NULL,		-- lowercased
	test_id		TEXT,
	first_seen	REAL NOT NULL,
	last_seen	REAL NOT NULL,
	attempts	INTEGER NOT NULL,	-- RCPTs seen, the accepted one included
	passed		REAL,			-- when a retry was first accepted
	PRIMARY KEY (mail_from, rcpt)
);

-- Every greylisted RCPT attempt, deferred or accepted, with its address.
CREATE TABLE greylist_attempts (
	id		INTEGER PRIMARY KEY,
	connection_id	INTEGER NOT NULL,
	mail_from	TEXT NOT NULL,
	rcpt		TEXT NOT NULL,
	test_id		TEXT,
	client_addr	TEXT NOT NULL,
	time		REAL NOT NULL,
	result		TEXT NOT NULL		-- deferred | accepted
);
CREATE INDEX greylist_attempts_test ON greylist_attempts (test_id);
