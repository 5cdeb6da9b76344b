-- Attribution of connections to tests (docs/researcher.md, "Which test a
-- connection belongs to").  The connections row is never changed: the
-- decision is a row of its own, written by the store's writer when the
-- connection closes and revised when later evidence names a test from the
-- same client network.

-- One row per closed connection (none for one still open, or closed
-- before this migration).
CREATE TABLE connection_attribution (
	connection_id	INTEGER PRIMARY KEY,
	client_net	TEXT NOT NULL,	-- IPv4 address, or IPv6 /64 "p::/64"
	started		REAL NOT NULL,	-- of the connection
	test_id		TEXT,		-- NULL: ambiguous or none
	reason		TEXT NOT NULL,	-- rcpt | sni | address | ambiguous | none
	candidates	TEXT,		-- address, ambiguous: test IDs, space-separated
	decided_at	REAL NOT NULL	-- when this decision was made
);
CREATE INDEX connection_attribution_net
	ON connection_attribution (client_net, started);
CREATE INDEX connection_attribution_test ON connection_attribution (test_id);

-- What ties a client network to a test: a connection from it with a
-- recipient or an SNI naming the test, a greylisted RCPT of the test, a
-- query to the dns zone for the test.  One row per (network, test), its
-- first and last evidence.
CREATE TABLE attribution_evidence (
	client_net	TEXT NOT NULL,
	test_id		TEXT NOT NULL,
	first_seen	REAL NOT NULL,
	last_seen	REAL NOT NULL,
	PRIMARY KEY (client_net, test_id)
);
