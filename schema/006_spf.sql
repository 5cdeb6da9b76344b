-- SPF (RFC 7208) of each accepted message, checked against the configured
-- resolver with the client's address: one row per identity, 'mailfrom'
-- (RFC 7208 2.4; for the null reverse path postmaster@<HELO>) and 'helo'
-- (2.3).  No rows when the daemon runs with resolver = off.
CREATE TABLE spf_results (
	transaction_id	INTEGER NOT NULL REFERENCES transactions (id),
	identity	TEXT NOT NULL,		-- 'mailfrom' or 'helo'
	domain		TEXT,			-- checked, lowercased, escaped; NULL: no HELO
	result		TEXT NOT NULL,		-- pass fail softfail neutral none temperror permerror
	explanation	TEXT,			-- the domain's exp= text (fail only), escaped
	record		TEXT,			-- the domain's SPF record, escaped
	dns_lookups	INTEGER NOT NULL,	-- DNS-querying terms evaluated (limit 10, 4.6.4)
	void_lookups	INTEGER NOT NULL,	-- of them NXDOMAIN or no data (limit 2, 4.6.4)
	error		TEXT,			-- why none, permerror or temperror
	PRIMARY KEY (transaction_id, identity)
);

-- The client's DNS: the PTR names of its address, whether one of them
-- resolves back to the address (FCrDNS), and the HELO name's addresses.
-- Statuses are DNS RCODE names (noerror, nxdomain, servfail, ...) or
-- timeout, error, badname; helo_status also none (no HELO) and literal.
CREATE TABLE client_dns (
	transaction_id	INTEGER PRIMARY KEY REFERENCES transactions (id),
	ptr		TEXT,			-- PTR names, space-separated, escaped
	ptr_status	TEXT NOT NULL,
	fcrdns		INTEGER,		-- 1, 0; NULL: a lookup failed
	helo_resolves	INTEGER,		-- 1, 0; NULL: no name or a lookup failed
	helo_addrs	TEXT,			-- its A and AAAA addresses, space-separated
	helo_status	TEXT NOT NULL
);
