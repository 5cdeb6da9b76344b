-- Stable researcher views (docs/researcher.md).  Created again by the
-- store when this text changes (its SHA-256 is kept in schema_views).
DROP VIEW IF EXISTS v_connections;
CREATE VIEW v_connections AS
SELECT c.id AS connection_id, c.test_id, c.host, c.local_addr,
	c.client_addr, c.client_port, c.family,
	datetime(c.started, 'unixepoch') AS started,
	datetime(c.ended, 'unixepoch') AS ended,
	c.helo_verb, c.helo, c.extensions, c.starttls,
	c.tls_established, c.tls_version, c.tls_cipher, c.tls_group,
	c.tls_sni, c.tls_resumed, c.ch_versions, c.ch_ciphers, c.ch_groups,
	c.ch_sigalgs, c.ch_alpn, c.tls_alert_sent, c.tls_alert_received,
	c.tls_error, c.pipelined_discarded, c.improper_pipelining,
	c.transactions, c.commands, c.end_reason, c.mail_commands,
	-- evidence: TLS completed, then the sender left without trying MAIL
	(c.tls_established = 1 AND c.mail_commands = 0) AS tls_then_left,
	c.bare_cr_commands,
	-- the address names the challenge (schema/013): its own address, or
	-- the set of challenges a shared one may be for
	c.challenge, c.challenges
FROM connections c;

DROP VIEW IF EXISTS v_deliveries;
CREATE VIEW v_deliveries AS
SELECT r.test_id, r.challenge, r.address,
	datetime(t.received, 'unixepoch') AS received,
	c.host, c.client_addr, c.family, c.helo,
	c.tls_version, c.tls_cipher, c.tls_group,
	t.mail_from, t.size, t.bare_lf, t.bare_cr,
	t.id AS transaction_id, c.id AS connection_id,
	CASE WHEN a.finished IS NULL THEN 'pending' ELSE 'done' END
	    AS analysis,
	(SELECT count(*) FROM header_findings f WHERE f.transaction_id = t.id
	    AND f.finding = 'dup') AS header_dup,
	(SELECT count(*) FROM header_findings f WHERE f.transaction_id = t.id
	    AND f.finding IN ('missing', 'missing_recommended'))
	    AS header_missing,
	m.from_domain, m.envelope_domain, m.from_matches_envelope,
	(SELECT s.result FROM spf_results s WHERE s.transaction_id = t.id
	    AND s.identity = 'mailfrom') AS spf_mailfrom,
	(SELECT s.result FROM spf_results s WHERE s.transaction_id = t.id
	    AND s.identity = 'helo') AS spf_helo,
	-- the best signature result (pass, policy, fail, temperror,
	-- permerror, neutral), none when unsigned; NULL: not checked
	(SELECT k.result FROM dkim_results k WHERE k.transaction_id = t.id)
	    AS dkim,
	-- pass fail none temperror permerror; NULL: not checked
	(SELECT d.result FROM dmarc_results d WHERE d.transaction_id = t.id)
	    AS dmarc,
	t.nul_bytes,
	-- the extensions used (schema/012_extensions.sql)
	t.mail_params, r.rcpt_params, t.body_method, t.chunks, t.smtputf8,
	t.requiretls, t.ret, t.envid, r.notify, r.orcpt,
	-- schema/013: 1 when the address was not one of the challenge's (no
	-- result of it); which MX of the challenge, 1 or 2 (sts-2mx-*); the
	-- challenge(s) the connection's address names
	r.wrong_host,
	CASE WHEN r.challenge IS NULL THEN NULL
	    WHEN c.host = ch.host THEN 1 WHEN c.host = ch.host2 THEN 2 END
	    AS mx,
	c.challenge AS connection_challenge,
	c.challenges AS connection_challenges,
	-- why a finished analysis has no results (schema/009); NULL: it has
	a.error AS analysis_error
FROM recipients r
JOIN transactions t ON t.id = r.transaction_id
JOIN connections c ON c.id = t.connection_id
LEFT JOIN challenges ch ON ch.name = r.challenge
LEFT JOIN analyses a ON a.transaction_id = t.id
LEFT JOIN messages m ON m.transaction_id = t.id;

-- The header analyzer's findings with the test and challenge they belong
-- to: finding is dup, missing, missing_recommended, 8bit_undeclared or
-- long_line (count: lines over 998 characters, RFC 5322 2.1.1).
DROP VIEW IF EXISTS v_header_findings;
CREATE VIEW v_header_findings AS
SELECT r.test_id, r.challenge, f.transaction_id, f.field, f.finding, f.count
FROM header_findings f
JOIN recipients r ON r.transaction_id = f.transaction_id;

DROP VIEW IF EXISTS v_test_summary;
CREATE VIEW v_test_summary AS
SELECT s.id AS test_id, datetime(s.created, 'unixepoch') AS created,
	(SELECT count(*) FROM connections c WHERE c.test_id = s.id) AS connections,
	-- a delivery on another challenge's address is no result (wrong_host)
	(SELECT count(DISTINCT r.challenge) FROM recipients r
	    WHERE r.test_id = s.id AND r.wrong_host = 0) AS challenges_delivered,
	(SELECT datetime(max(t.received), 'unixepoch') FROM recipients r
	    JOIN transactions t ON t.id = r.transaction_id
	    WHERE r.test_id = s.id) AS last_delivery
FROM tests s;

-- Greylisting per test and recipient: the retry delay, the attempts, and
-- whether the accepted retry came from the address of the first attempt.
-- Only the attempts of the current entry count (an expired one restarts).
DROP VIEW IF EXISTS v_greylist;
CREATE VIEW v_greylist AS
SELECT g.test_id, g.rcpt, g.mail_from,
	datetime(g.first_seen, 'unixepoch') AS first_seen,
	datetime(g.passed, 'unixepoch') AS passed,
	g.passed - g.first_seen AS retry_delay,
	g.attempts,
	(SELECT count(DISTINCT a.client_addr) FROM greylist_attempts a
	    WHERE a.mail_from = g.mail_from AND a.rcpt = g.rcpt
	    AND a.time >= g.first_seen) AS addresses,
	(SELECT a.client_addr FROM greylist_attempts a
	    WHERE a.mail_from = g.mail_from AND a.rcpt = g.rcpt
	    AND a.time >= g.first_seen
	    ORDER BY a.time, a.id LIMIT 1) AS first_addr,
	(SELECT a.client_addr FROM greylist_attempts a
	    WHERE a.mail_from = g.mail_from AND a.rcpt = g.rcpt
	    AND a.time >= g.first_seen
	    AND a.result = 'accepted' ORDER BY a.time, a.id LIMIT 1)
	    AS accepted_addr
FROM greylist g;

-- Every request to the HTTPS listener (and every connection that ended
-- without one), with the test attributed by client address: the test of
-- the nearest connection from the same address within an hour (DESIGN.md,
-- data flow 3: the client IP within a time window of a known test).
DROP VIEW IF EXISTS v_policy_fetches;
CREATE VIEW v_policy_fetches AS
SELECT f.id AS fetch_id, datetime(f.time, 'unixepoch') AS time,
	f.local_addr, f.client_addr, f.client_port, f.family,
	f.tls_version, f.tls_cipher, f.sni, f.host, f.method, f.path,
	f.user_agent, f.status, f.bytes, f.challenge, f.error,
	-- SQLite allows the outer row in WHERE, not in a subquery's ORDER BY
	(SELECT c.test_id FROM connections c
	    WHERE c.client_addr = f.client_addr AND c.test_id IS NOT NULL
	    AND c.started BETWEEN f.time - 3600 AND f.time + 3600
	    AND abs(c.started - f.time) = (SELECT min(abs(n.started - f.time))
		FROM connections n
		WHERE n.client_addr = f.client_addr AND n.test_id IS NOT NULL
		AND n.started BETWEEN f.time - 3600 AND f.time + 3600)
	    ORDER BY c.id LIMIT 1) AS test_id
FROM policy_fetches f;

-- Reports sent to us (schema/011_inbound_reports.sql) with the connection
-- they came over; without the message itself (inbound_reports.message).
DROP VIEW IF EXISTS v_inbound_reports;
CREATE VIEW v_inbound_reports AS
SELECT i.id AS report_id, i.kind,
	datetime(i.received, 'unixepoch') AS received,
	i.rcpt, i.mail_from, i.size, i.sha256,
	i.transaction_id, i.connection_id,
	c.host, c.client_addr, c.family, c.helo,
	c.tls_version, c.tls_cipher
FROM inbound_reports i
JOIN connections c ON c.id = i.connection_id;

-- TLS-RPT reports parsed (schema/016_tlsrpt.sql): one row per policy,
-- with its report's organization and dates; a malformed report is one row
-- without a policy.  failure_rows: its tlsrpt_failures rows.  test_id,
-- attribution, candidates: the policy's test (schema/017).
DROP VIEW IF EXISTS v_tlsrpt;
CREATE VIEW v_tlsrpt AS
SELECT r.id AS tlsrpt_report_id, r.inbound_report_id,
	i.transaction_id, i.connection_id,
	datetime(i.received, 'unixepoch') AS received,
	datetime(r.parsed_at, 'unixepoch') AS parsed_at,
	r.status, r.error, r.organization, r.report_id, r.contact,
	r.date_start, r.date_end,
	p.id AS policy_id, p.policy_type, p.policy_domain, p.policy_string,
	p.mx_host, p.successful, p.failed,
	(SELECT count(*) FROM tlsrpt_failures f
	    WHERE f.tlsrpt_policy_id = p.id) AS failure_rows,
	p.test_id, p.attribution, p.candidates
FROM tlsrpt_reports r
JOIN inbound_reports i ON i.id = r.inbound_report_id
LEFT JOIN tlsrpt_policies p ON p.tlsrpt_report_id = r.id;

-- Every connection of a test (schema/014_attribution.sql): attributed by
-- a recipient (rcpt), the SNI (sni), or the client network's evidence for
-- exactly one test (address); an ambiguous connection is listed under
-- each of its candidates.  A connection closed before schema 14 has no
-- attribution row: its recipient's test (rcpt) stands.  challenge: the
-- one whose own address the connection came to (schema/013).
DROP VIEW IF EXISTS v_test_connections;
CREATE VIEW v_test_connections AS
SELECT coalesce(a.test_id, c.test_id) AS test_id,
	c.id AS connection_id, c.host, c.challenge, c.client_addr,
	a.client_net, c.family,
	datetime(c.started, 'unixepoch') AS started,
	datetime(c.ended, 'unixepoch') AS ended,
	coalesce(a.reason, 'rcpt') AS reason, a.candidates,
	datetime(a.decided_at, 'unixepoch') AS decided_at,
	c.end_reason, c.tls_established, c.tls_sni, c.tls_error,
	c.tls_alert_sent, c.tls_alert_received, c.mail_commands,
	c.transactions, c.commands
FROM connections c
LEFT JOIN connection_attribution a ON a.connection_id = c.id
WHERE coalesce(a.test_id, c.test_id) IS NOT NULL
UNION ALL
SELECT s.id AS test_id,
	c.id AS connection_id, c.host, c.challenge, c.client_addr,
	a.client_net, c.family,
	datetime(c.started, 'unixepoch') AS started,
	datetime(c.ended, 'unixepoch') AS ended,
	a.reason, a.candidates,
	datetime(a.decided_at, 'unixepoch') AS decided_at,
	c.end_reason, c.tls_established, c.tls_sni, c.tls_error,
	c.tls_alert_sent, c.tls_alert_received, c.mail_commands,
	c.transactions, c.commands
FROM connection_attribution a
JOIN tests s ON instr(' ' || a.candidates || ' ', ' ' || s.id || ' ') > 0
JOIN connections c ON c.id = a.connection_id
WHERE a.reason = 'ambiguous';

-- Every MX address of every probe (schema/021_probes.sql), with the
-- probe's domain and grade: one row per probe host, a probe that found
-- no address (null MX, no MX, an error) as one row with NULL host
-- columns.  The findings are counted by severity; probe_findings lists
-- them (docs/probe.md names every key).
DROP VIEW IF EXISTS v_probes;
CREATE VIEW v_probes AS
SELECT p.id AS probe_id, p.domain,
	datetime(p.started, 'unixepoch') AS started,
	datetime(p.finished, 'unixepoch') AS finished,
	p.grade, p.score, p.error, p.null_mx, p.implicit_mx, p.dnssec,
	p.mta_sts_mode, p.dmarc_policy, p.spf_lookups,
	h.id AS host_id, h.mx, h.preference, h.addr, h.family, h.reachable,
	h.stop, h.ptr, h.fcrdns, h.banner_name, h.starttls, h.tls,
	h.tls_version, h.tls_cipher, h.tls_group, h.tls10, h.tls11, h.tls12,
	h.tls13, h.weak_classes, h.cert_cn, h.cert_issuer, h.cert_key_type,
	h.cert_key_bits, h.cert_sig_alg,
	datetime(h.cert_not_after, 'unixepoch') AS cert_not_after,
	h.chain_valid, h.name_match, h.dane, h.sts_match, h.open_relay,
	h.recipient_filtering, h.greylisting, h.spf_checked,
	(SELECT count(*) FROM probe_findings f WHERE f.probe_id = p.id
	    AND f.severity = 'critical') AS findings_critical,
	(SELECT count(*) FROM probe_findings f WHERE f.probe_id = p.id
	    AND f.severity = 'bad') AS findings_bad,
	(SELECT count(*) FROM probe_findings f WHERE f.probe_id = p.id
	    AND f.severity = 'warn') AS findings_warn
FROM probes p
LEFT JOIN probe_hosts h ON h.probe_id = p.id;
