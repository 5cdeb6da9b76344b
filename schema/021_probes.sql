-- `mailscope probe DOMAIN` (issue 19): one row per probe, one per MX
-- address probed, one per finding (docs/probe.md).  result_json is the
-- whole result as probe_json() wrote it (schema PROBE_SCHEMA), so a probe
-- can be shown again in any format without the network.  Times are Unix
-- seconds; the views write them as datetime() text.
CREATE TABLE probes (
	id		INTEGER PRIMARY KEY,
	domain		TEXT NOT NULL,
	started		REAL NOT NULL,
	finished	REAL,
	grade		TEXT,		-- A+ A B C D F; NULL: none (null MX)
	score		INTEGER,	-- 0-100
	resolver	TEXT,
	error		TEXT,		-- the probe could not run: why
	null_mx		INTEGER NOT NULL DEFAULT 0,
	implicit_mx	INTEGER NOT NULL DEFAULT 0,
	dnssec		INTEGER,	-- the MX answer's AD bit; NULL unknown
	spf		TEXT,
	spf_lookups	INTEGER,
	dmarc		TEXT,
	dmarc_policy	TEXT,
	mta_sts_mode	TEXT,
	tlsrpt		TEXT,
	result_json	TEXT NOT NULL
);
CREATE INDEX probes_domain ON probes (domain, started);
CREATE INDEX probes_started ON probes (started);

-- Tri-state columns: 1 yes, 0 no, NULL not found out.
CREATE TABLE probe_hosts (
	id		INTEGER PRIMARY KEY,
	probe_id	INTEGER NOT NULL REFERENCES probes (id) ON DELETE CASCADE,
	mx		TEXT NOT NULL,
	preference	INTEGER NOT NULL,
	sts_match	INTEGER,
	addr		TEXT NOT NULL,
	family		INTEGER NOT NULL,	-- 4 or 6
	reachable	INTEGER NOT NULL,	-- a TCP connection was made
	stop		TEXT NOT NULL,		-- done connect banner ...
	stop_detail	TEXT,
	connect_ms	REAL,
	ptr		TEXT,
	fcrdns		INTEGER,
	banner_code	INTEGER,
	banner		TEXT,
	banner_name	TEXT,
	ehlo_code	INTEGER,
	extensions	TEXT,		-- "SIZE PIPELINING ...", before TLS
	size_limit	INTEGER,
	starttls	INTEGER NOT NULL,	-- STARTTLS advertised
	starttls_code	INTEGER,
	tls		INTEGER NOT NULL,	-- the handshake succeeded
	tls_version	TEXT,
	tls_cipher	TEXT,
	tls_group	TEXT,
	tls_error	TEXT,
	tls10		INTEGER,
	tls11		INTEGER,
	tls12		INTEGER,
	tls13		INTEGER,
	weak_classes	TEXT,		-- accepted weak classes, "rc4 3des"
	cert_subject	TEXT,		-- the leaf's fields
	cert_cn		TEXT,
	cert_san	TEXT,		-- space separated
	cert_issuer	TEXT,
	cert_sha256	TEXT,
	cert_key_type	TEXT,
	cert_key_bits	INTEGER,
	cert_sig_alg	TEXT,
	cert_not_before	REAL,
	cert_not_after	REAL,
	cert_self_signed INTEGER,
	chain_valid	INTEGER,
	chain_error	TEXT,
	name_match	INTEGER,
	dane		TEXT,		-- none unvalidated match nomatch ...
	open_relay	INTEGER,
	recipient_filtering INTEGER,
	greylisting	INTEGER,
	spf_checked	INTEGER
);
CREATE INDEX probe_hosts_probe ON probe_hosts (probe_id);

CREATE TABLE probe_findings (
	id		INTEGER PRIMARY KEY,
	probe_id	INTEGER NOT NULL REFERENCES probes (id) ON DELETE CASCADE,
	key		TEXT NOT NULL,
	severity	TEXT NOT NULL,	-- good info warn bad critical
	mx		TEXT,		-- NULL: the domain
	addr		TEXT,		-- NULL: the whole MX or domain
	summary		TEXT NOT NULL,
	evidence	TEXT		-- its lines, newline separated
);
CREATE INDEX probe_findings_probe ON probe_findings (probe_id);
CREATE INDEX probe_findings_key ON probe_findings (key);
