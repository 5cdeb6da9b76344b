-- How many MAIL commands a connection sent, so that a sender that
-- completed TLS and left without trying MAIL is told apart.
ALTER TABLE connections ADD COLUMN mail_commands INTEGER NOT NULL DEFAULT 0;
