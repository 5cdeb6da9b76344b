-- TLS-RPT policies attributed to tests (issue 13): by the per-test policy
-- domain <id>.uniq.<base> (attribution 'uniq'), else by the reporting
-- organisation's sending addresses and the report's date range
-- ('sender'); 'ambiguous' names the candidates, 'none' found no test.
ALTER TABLE tlsrpt_policies ADD COLUMN test_id TEXT;
ALTER TABLE tlsrpt_policies ADD COLUMN attribution TEXT;
ALTER TABLE tlsrpt_policies ADD COLUMN candidates TEXT;
CREATE INDEX tlsrpt_policies_test ON tlsrpt_policies (test_id);
