-- Analysis of each accepted message (issue: message analysis).  A row in
-- analyses is written with the transaction; finished stays NULL while the
-- analyzers run ("pending" in the report).
CREATE TABLE analyses (
	transaction_id	INTEGER PRIMARY KEY REFERENCES transactions (id),
	queued		REAL NOT NULL,
	finished	REAL
);

-- What the header analyzer found about the message as a whole.
CREATE TABLE messages (
	transaction_id	INTEGER PRIMARY KEY REFERENCES transactions (id),
	header_count	INTEGER NOT NULL,
	header_from	TEXT,			-- the From field, escaped
	from_domain	TEXT,			-- its address's domain, lowercased
	envelope_domain	TEXT,			-- MAIL FROM's domain, lowercased
	from_matches_envelope INTEGER,		-- the two domains are equal
	message_id	TEXT,			-- escaped
	received_count	INTEGER NOT NULL,	-- Received: fields (hops)
	eight_bit	INTEGER NOT NULL,	-- 8-bit bytes in the message
	body_8bitmime	INTEGER NOT NULL	-- MAIL FROM declared BODY=8BITMIME or SMTPUTF8
);

-- One row per finding: a single-instance field that appears more than
-- once (dup), a required one missing (missing), a recommended one missing
-- (missing_recommended), 8-bit data without BODY=8BITMIME (8bit_undeclared).
CREATE TABLE header_findings (
	id		INTEGER PRIMARY KEY,
	transaction_id	INTEGER NOT NULL REFERENCES transactions (id),
	field		TEXT,			-- lowercase field name, if any
	finding		TEXT NOT NULL,
	count		INTEGER			-- how many times it appeared
);
CREATE INDEX header_findings_transaction ON header_findings (transaction_id);
