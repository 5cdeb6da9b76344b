-- The DNS responder on the open internet (issue 15): its answers over UDP
-- are rate-limited per client /24 (IPv4) or /56 (IPv6), and beyond
-- [dns] record_rate rows a second per prefix its queries are counted,
-- not stored one by one.
--   rrl          NULL: a query answered as usual; 'slip': answered TC=1
--                by the rate limit (truncated = 1 too); 'summary': no
--                query, the count of a prefix's queries without a row of
--                their own once it fell silent (qname, rcode NULL)
--   unrecorded   queries of the same prefix since its previous row that
--                have no row of their own (slipped, dropped or answered)
--   rrl_dropped  of those, how many the rate limit left unanswered
-- Queries received from a prefix = its rows other than 'summary' plus the
-- sum of its unrecorded.
ALTER TABLE dns_queries ADD COLUMN rrl TEXT;
ALTER TABLE dns_queries ADD COLUMN unrecorded INTEGER NOT NULL DEFAULT 0;
ALTER TABLE dns_queries ADD COLUMN rrl_dropped INTEGER NOT NULL DEFAULT 0;
