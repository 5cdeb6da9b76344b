-- The sender's zones: for the MAIL FROM domain, the header From domain,
-- every DKIM d= domain and the reverse name of the client address
-- (in-addr.arpa, ip6.arpa), the zone holding the name (by its SOA) and
-- that zone's DNSSEC status, validated by mailscoped from the configured
-- trust anchor (RFC 4035 4.3): secure (a chain of signed DS and DNSKEY
-- sets from the anchor), insecure (a signed proof that a delegation on
-- the path has no DS), bogus (a signature, DS or denial that does not
-- validate), indeterminate (a lookup failed, or the zone is not below
-- the trust anchor).  At most 10 names per message.  No rows when the
-- daemon runs with resolver = off.
CREATE TABLE sender_zones (
	transaction_id	INTEGER NOT NULL REFERENCES transactions (id),
	role		TEXT NOT NULL,		-- 'mailfrom', 'from', 'dkim' or 'reverse'
	name		TEXT NOT NULL,		-- lowercase, no final dot
	zone		TEXT,			-- its zone's apex; NULL: not found
	dnssec		TEXT NOT NULL,		-- secure insecure bogus indeterminate
	dnssec_error	TEXT,			-- why not secure
	ipv6_ns		INTEGER,		-- 1: each zone below the anchor's on the path, and the name's own, has a name server with an AAAA record; 0: one has none; NULL: not known
	PRIMARY KEY (transaction_id, role, name)
);
