-- Every request to the HTTPS listener (MTA-STS policies): a fetch is
-- direct evidence that the sender implements MTA-STS (CHALLENGES.md).
CREATE TABLE policy_fetches (
	id		INTEGER PRIMARY KEY,
	time		REAL NOT NULL,
	local_addr	TEXT NOT NULL,
	client_addr	TEXT NOT NULL,
	client_port	INTEGER NOT NULL,
	family		INTEGER NOT NULL,
	tls_version	TEXT,
	tls_cipher	TEXT,
	sni		TEXT,			-- as sent, escaped
	host		TEXT,			-- Host header, escaped
	method		TEXT,
	path		TEXT,			-- escaped
	user_agent	TEXT,			-- escaped
	status		INTEGER,		-- HTTP status sent; NULL: no request
	bytes		INTEGER,		-- body bytes sent
	challenge	TEXT,			-- whose policy was asked for
	error		TEXT			-- TLS or HTTP failure
);
CREATE INDEX policy_fetches_client ON policy_fetches (client_addr, time);

-- Every query to the responder of the per-test dns.<base> zone.
CREATE TABLE dns_queries (
	id		INTEGER PRIMARY KEY,
	time		REAL NOT NULL,
	local_addr	TEXT NOT NULL,
	client_addr	TEXT NOT NULL,
	client_port	INTEGER NOT NULL,
	family		INTEGER NOT NULL,
	transport	TEXT NOT NULL,		-- udp | tcp
	qname		TEXT,			-- exactly as sent (0x20 case kept)
	qtype		INTEGER,
	qclass		INTEGER,
	edns		INTEGER NOT NULL DEFAULT 0,	-- OPT record present
	edns_size	INTEGER,		-- advertised UDP payload size
	do_bit		INTEGER NOT NULL DEFAULT 0,
	rcode		INTEGER,		-- of our answer; NULL: dropped
	truncated	INTEGER NOT NULL DEFAULT 0,	-- TC sent
	minimised	INTEGER NOT NULL DEFAULT 0,	-- qname above a full test name
	test_id		TEXT,			-- from the qname
	error		TEXT			-- why a packet was dropped
);
CREATE INDEX dns_queries_test ON dns_queries (test_id);
