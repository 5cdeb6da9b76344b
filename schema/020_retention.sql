-- Retention (the operator issue: `mailscope purge`, retention_days):
-- purge deletes a connection's rows by connection, and foreign keys look
-- up the rows that name a deleted connection: both need these indexes,
-- or each batch would scan the tables under the write lock.
CREATE INDEX greylist_attempts_connection ON greylist_attempts (connection_id);
CREATE INDEX inbound_reports_connection ON inbound_reports (connection_id);
