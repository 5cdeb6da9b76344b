-- Commands refused by a limit of the open internet (issue 15), so that
-- a sender's 4xx or 5xx has its reason in the store:
--   reason  unknown_test    RCPT of a well-formed test ID no test has
--                           (550 5.1.1)
--           quota_session   MAIL beyond max_transactions (421 4.7.0)
--           quota_client    MAIL beyond max_client_transactions an hour
--                           from the client's address or /64 (421 4.7.0)
--           quota_test      RCPT of a test that has max_test_transactions
--                           (452 4.5.3)
--           memory          DATA or BDAT while the sessions hold
--                           max_message_memory (452 4.3.1)
--           greylist_full   RCPT of a greylisted host while the greylist
--                           table is full of entries not yet passed
--                           (451 4.7.1)
-- At most 32 rows a connection; connections.refusals counts them all.
CREATE TABLE refusals (
	id		INTEGER PRIMARY KEY,
	connection_id	INTEGER NOT NULL REFERENCES connections (id),
	time		REAL NOT NULL,
	command		TEXT NOT NULL,		-- mail, rcpt, data or bdat
	reason		TEXT NOT NULL,
	reply		TEXT NOT NULL,		-- "550 5.1.1"
	address		TEXT,			-- RCPT's path, as given
	test_id		TEXT			-- RCPT's test ID, well-formed
);
CREATE INDEX refusals_connection ON refusals (connection_id);
CREATE INDEX refusals_test ON refusals (test_id);
ALTER TABLE connections ADD COLUMN refusals INTEGER NOT NULL DEFAULT 0;
-- A connection refused at accept by a limit (max_connections,
-- max_per_ip, max_connection_rate) has a row of its own up to 10 a second
-- from its client network (an IPv4 address, an IPv6 /64); beyond, it is
-- answered and closed without one, and counted here, in the next such
-- row of the network: connections refused unrecorded since the previous.
ALTER TABLE connections ADD COLUMN unrecorded INTEGER NOT NULL DEFAULT 0;
