-- The zones mailscoped serves itself (issue 12): besides dns.<base>, with
-- [dns] zones the *-bogus and *-dns6 children that `mailscope zones`
-- wrote.  The challenge whose zone a query fell in ('dns', 'v4-bogus',
-- 'v6-dns6', ...); NULL for a query outside every zone, or dropped.
ALTER TABLE dns_queries ADD COLUMN challenge TEXT;
CREATE INDEX dns_queries_challenge ON dns_queries (challenge);
