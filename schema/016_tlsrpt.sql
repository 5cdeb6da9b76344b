-- TLS-RPT reports (RFC 8460) parsed from inbound_reports by the analysis
-- workers (issue 13): one row per stored report message, 'ok' or
-- 'malformed' (error says why; then no policies), its policies (4.4) and
-- their failure details.  Strings are escaped and cut to 1024 bytes;
-- a report keeps at most 1000 policies and 10000 failure details (error
-- says how many were not stored).  Attribution to tests comes later.
CREATE TABLE tlsrpt_reports (
	id			INTEGER PRIMARY KEY,
	inbound_report_id	INTEGER NOT NULL UNIQUE
				    REFERENCES inbound_reports (id),
	parsed_at		REAL NOT NULL,
	status			TEXT NOT NULL,	-- 'ok' | 'malformed'
	error			TEXT,		-- why malformed; what was capped
	organization		TEXT,		-- organization-name
	report_id		TEXT,		-- report-id
	contact			TEXT,		-- contact-info
	date_start		TEXT,		-- date-range start-datetime
	date_end		TEXT		-- date-range end-datetime
);
CREATE TABLE tlsrpt_policies (
	id			INTEGER PRIMARY KEY,
	tlsrpt_report_id	INTEGER NOT NULL REFERENCES tlsrpt_reports (id),
	policy_type		TEXT NOT NULL,	-- 'sts', 'tlsa', 'no-policy-found'
	policy_domain		TEXT NOT NULL,	-- lowercased
	policy_string		TEXT,		-- JSON array of strings, as sent
	mx_host			TEXT,		-- JSON array of strings, as sent
	successful		INTEGER NOT NULL,
	failed			INTEGER NOT NULL
);
CREATE INDEX tlsrpt_policies_report ON tlsrpt_policies (tlsrpt_report_id);
CREATE INDEX tlsrpt_policies_domain ON tlsrpt_policies (policy_domain);
CREATE TABLE tlsrpt_failures (
	id			INTEGER PRIMARY KEY,
	tlsrpt_policy_id	INTEGER NOT NULL REFERENCES tlsrpt_policies (id),
	result_type		TEXT NOT NULL,
	sending_mta_ip		TEXT,
	receiving_mx_hostname	TEXT,		-- lowercased
	receiving_ip		TEXT,
	failed_sessions		INTEGER NOT NULL,
	additional_information	TEXT,
	failure_reason_code	TEXT
);
CREATE INDEX tlsrpt_failures_policy ON tlsrpt_failures (tlsrpt_policy_id);
