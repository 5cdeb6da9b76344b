-- Reports sent to us: TLS-RPT (RFC 8460) to tlsrpt@<base>, the address
-- every zone publishes.  The message is kept whole (reports are gzip
-- attachments); it is parsed and attributed later (the report issue).
-- One row per transaction that had a report address among its recipients;
-- the transaction and its recipients are stored as for any mail.
CREATE TABLE inbound_reports (
	id		INTEGER PRIMARY KEY,
	transaction_id	INTEGER NOT NULL UNIQUE REFERENCES transactions (id),
	connection_id	INTEGER NOT NULL REFERENCES connections (id),
	received	REAL NOT NULL,
	kind		TEXT NOT NULL,		-- 'tlsrpt'
	rcpt		TEXT NOT NULL,		-- the report address, as given
	mail_from	TEXT NOT NULL,		-- "" for the null reverse path
	size		INTEGER NOT NULL,	-- bytes after dot-unstuffing
	sha256		TEXT NOT NULL,		-- of the message, hex
	message		BLOB NOT NULL		-- the message as received
);
CREATE INDEX inbound_reports_received ON inbound_reports (received);
