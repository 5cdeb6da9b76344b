-- mailscope schema, version 1.  Times are Unix seconds (REAL, UTC).
CREATE TABLE tests (
	id		TEXT PRIMARY KEY,	-- 26 chars, lowercase base32
	created		REAL NOT NULL
);

-- Every TCP connection, mail or not.
CREATE TABLE connections (
	id		INTEGER PRIMARY KEY,
	host		TEXT NOT NULL,		-- host profile (CHALLENGES.md)
	local_addr	TEXT NOT NULL,		-- listener, "127.0.0.1:2525"
	client_addr	TEXT NOT NULL,
	client_port	INTEGER NOT NULL,
	family		INTEGER NOT NULL,	-- 4 or 6
	started		REAL NOT NULL,
	ended		REAL,			-- NULL while open
	helo_verb	TEXT,			-- EHLO or HELO
	helo		TEXT,			-- as sent
	extensions	TEXT,			-- ESMTP extensions the client used
	starttls	INTEGER NOT NULL DEFAULT 0,
	pipelined_discarded INTEGER NOT NULL DEFAULT 0,	-- bytes dropped at STARTTLS
	improper_pipelining INTEGER NOT NULL DEFAULT 0,
	transactions	INTEGER NOT NULL DEFAULT 0,
	test_id		TEXT,			-- attributed test
	commands	TEXT,			-- "ehlo=1 mail=1/2 rcpt=1 quit=1"
	end_reason	TEXT,
	tls_established	INTEGER NOT NULL DEFAULT 0,
	tls_version	TEXT,
	tls_cipher	TEXT,
	tls_group	TEXT,
	tls_sni		TEXT,
	tls_resumed	INTEGER,
	ch_versions	TEXT,			-- ClientHello: offered versions
	ch_ciphers	TEXT,
	ch_groups	TEXT,			-- decimal codepoints, unknown ones kept
	ch_sigalgs	TEXT,
	ch_alpn		TEXT,
	tls_alert_sent	TEXT,
	tls_alert_received TEXT,
	tls_error	TEXT
);
CREATE INDEX connections_test ON connections (test_id);
CREATE INDEX connections_client ON connections (client_addr, started);

-- One mail transaction that reached the end of DATA and was accepted.
CREATE TABLE transactions (
	id		INTEGER PRIMARY KEY,
	connection_id	INTEGER NOT NULL REFERENCES connections (id),
	received	REAL NOT NULL,
	mail_from	TEXT NOT NULL,		-- "" for the null reverse path
	mail_params	TEXT,
	size		INTEGER NOT NULL,
	headers		BLOB,			-- the header section, capped
	body_sha256	TEXT NOT NULL,
	bare_lf		INTEGER NOT NULL,
	bare_cr		INTEGER NOT NULL,
	long_lines	INTEGER NOT NULL,
	tls		INTEGER NOT NULL
);
CREATE INDEX transactions_connection ON transactions (connection_id);

CREATE TABLE recipients (
	id		INTEGER PRIMARY KEY,
	transaction_id	INTEGER NOT NULL REFERENCES transactions (id),
	address		TEXT NOT NULL,
	challenge	TEXT,			-- NULL: postmaster
	test_id		TEXT
);
CREATE INDEX recipients_test ON recipients (test_id);
CREATE INDEX recipients_transaction ON recipients (transaction_id);
