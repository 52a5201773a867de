/*
 * logline.h — one diagnostic line in the format every shapesync program
 * writes to stderr: the house text form ("<prog>: error: <msg>", then
 * "detail:" and "hint:" lines) or one JSON object per line for a log
 * system. Levels, their names as Electric's ELECTRIC_LOG_LEVEL spells them,
 * and the formatter; cmd/cli.c decides where the lines go.
 */
#ifndef SS_LOGLINE_H
#define SS_LOGLINE_H

#include <stdint.h>

#include "util.h"

/* Levels, least severe first: a threshold lets through its own level and
 * every one above it. */
enum ss_log_level {
	SS_LOG_DEBUG,
	SS_LOG_INFO,
	SS_LOG_WARNING,
	SS_LOG_ERROR,
};

enum ss_log_format {
	SS_LOG_TEXT, /* the house style; no timestamp */
	SS_LOG_JSON, /* one object per line */
};

/* One message. msg is required; detail and hint may be NULL or "". All
 * borrowed for the call. */
struct ss_logline {
	enum ss_log_level level;
	int64_t ts_us; /* wall clock, Unix microseconds */
	const char *program;
	long pid;
	const char *msg, *detail, *hint;
};

/*
 * Append l to out, newline-terminated.
 * text: "<program>: <level>: <msg>\n" for warning, error and debug,
 * "<program>: <msg>\n" for info (the progress lines programs have always
 * printed), then "detail: <detail>\n" and "hint: <hint>\n" when present.
 * json: {"ts":"<RFC 3339 UTC, microseconds>","level":"<name>",
 * "program":"<program>","pid":<pid>,"msg":"<msg>"[,"detail":".."]
 * [,"hint":".."]} and "\n"; a newline inside msg stays inside its string.
 */
void ss_logline_format(struct ss_buf *out, enum ss_log_format fmt,
		       const struct ss_logline *l);

/* "debug", "info", "warning", "error". */
const char *ss_log_level_name(enum ss_log_level level);

/*
 * Parse a level as ELECTRIC_LOG_LEVEL takes it (Elixir Logger's names):
 * debug; info and notice (info); warning and warn; error, critical, alert
 * and emergency (error). Case-insensitive. Returns 0, or -1 with err
 * (SS_ERR_USAGE) naming `what` and the accepted names.
 */
int ss_log_level_parse(const char *s, enum ss_log_level *out, const char *what,
		       struct ss_err *err);

/* Parse "text" or "json". Returns 0, or -1 with err (SS_ERR_USAGE) naming
 * `what`. */
int ss_log_format_parse(const char *s, enum ss_log_format *out,
			const char *what, struct ss_err *err);

#endif
