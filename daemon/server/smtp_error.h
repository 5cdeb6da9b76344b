/*
 * The one map from internal errors to SMTP replies, most severe first
 * (as Postfix's cleanup_strerror.c).  Adding an error is one row.
 */
#ifndef MAILSCOPE_SMTP_ERROR_H
#define MAILSCOPE_SMTP_ERROR_H

enum smtp_err {
	SE_NONE = -1,
	/* Order is severity: of several errors latched in DATA, the lowest wins. */
	SE_STORE_FAILED,
	SE_MEMORY,
	SE_SHUTDOWN,
	SE_TIMEOUT,
	SE_TOO_MANY_CONNECTIONS,
	SE_TOO_MANY_FROM_IP,
	SE_CONNECTION_RATE,
	SE_STORE_BUSY,
	SE_TOO_MANY_ERRORS,
	SE_TOO_MANY_COMMANDS,
	SE_QUOTA_SESSION,
	SE_QUOTA_CLIENT,
	SE_MESSAGE_TOO_BIG,
	SE_LINE_TOO_LONG,
	SE_TLS_REQUIRED,
	SE_REQUIRETLS_NO_TLS,
	SE_TLS_UNAVAILABLE,
	SE_RELAY_DENIED,
	SE_NO_SUCH_USER,
	SE_UNKNOWN_TEST,
	SE_TOO_MANY_RECIPIENTS,
	SE_QUOTA_TEST,
	SE_GREYLIST_FULL,
	SE_GREYLISTED,
	SE_SIZE_EXCEEDED,
	SE_UNKNOWN_COMMAND,
	SE_UNKNOWN_PARAM,
	SE_NOT_IMPLEMENTED,
	SE_SYNTAX,
	SE_BARE_CR,
	SE_BAD_ADDRESS,
	SE_NEED_SMTPUTF8,
	SE_NULL_RECIPIENT,
	SE_NEED_HELO,
	SE_NESTED_MAIL,
	SE_NEED_MAIL,
	SE_NEED_RCPT,
	SE_DATA_AFTER_BDAT,
	SE_TLS_ACTIVE,
	SE_BAD_SEQUENCE,
	SE_COUNT
};

struct smtp_error_row {
	int		 code;		/* 4xx or 5xx */
	const char	*status;	/* RFC 3463 enhanced status code */
	const char	*text;
	int		 closes;	/* the session ends after the reply */
	const char	*reason;	/* end_reason when it closes */
	const char	*refusal;	/* refusals.reason; NULL: no row */
};

const struct smtp_error_row *smtp_error_row(enum smtp_err);
/* The more severe of A and B (SE_NONE is the least). */
enum smtp_err	smtp_error_worst(enum smtp_err a, enum smtp_err b);

#endif /* MAILSCOPE_SMTP_ERROR_H */
