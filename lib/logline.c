/*
 * logline.c — formatting of diagnostic lines, text or JSON. See logline.h.
 */
#include "logline.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const names[] = {"debug", "info", "warning", "error"};

const char *ss_log_level_name(enum ss_log_level level)
{
	return (unsigned)level < 4 ? names[level] : "error";
}

static void add_text_field(struct ss_buf *out, const char *label, const char *s)
{
	if (s && *s)
		ss_buf_addf(out, "%s: %s\n", label, s);
}

static void add_json_field(struct ss_buf *out, const char *key, const char *s)
{
	if (!s || !*s)
		return;
	ss_buf_addf(out, ",\"%s\":", key);
	ss_buf_add_json_string(out, s, strlen(s));
}

void ss_logline_format(struct ss_buf *out, enum ss_log_format fmt,
		       const struct ss_logline *l)
{
	char ts[48];

	if (fmt == SS_LOG_JSON) {
		ss_format_time_us(l->ts_us, ts, sizeof(ts));
		ss_buf_addf(out,
			    "{\"ts\":\"%s\",\"level\":\"%s\",\"program\":", ts,
			    ss_log_level_name(l->level));
		ss_buf_add_json_string(out, l->program, strlen(l->program));
		ss_buf_addf(out, ",\"pid\":%ld,\"msg\":", l->pid);
		ss_buf_add_json_string(out, l->msg, strlen(l->msg));
		add_json_field(out, "detail", l->detail);
		add_json_field(out, "hint", l->hint);
		ss_buf_adds(out, "}\n");
		return;
	}
	if (l->level == SS_LOG_INFO)
		ss_buf_addf(out, "%s: %s\n", l->program, l->msg);
	else
		ss_buf_addf(out, "%s: %s: %s\n", l->program,
			    ss_log_level_name(l->level), l->msg);
	add_text_field(out, "detail", l->detail);
	add_text_field(out, "hint", l->hint);
}

int ss_log_level_parse(const char *s, enum ss_log_level *out, const char *what,
		       struct ss_err *err)
{
	static const struct {
		const char *name;
		enum ss_log_level level;
	} tab[] = {
	    {"debug", SS_LOG_DEBUG},	 {"info", SS_LOG_INFO},
	    {"notice", SS_LOG_INFO},	 {"warning", SS_LOG_WARNING},
	    {"warn", SS_LOG_WARNING},	 {"error", SS_LOG_ERROR},
	    {"critical", SS_LOG_ERROR},	 {"alert", SS_LOG_ERROR},
	    {"emergency", SS_LOG_ERROR},
	};
	char q[80];
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (!strcasecmp(s, tab[i].name)) {
			*out = tab[i].level;
			return 0;
		}
	ss_quote_text(q, sizeof(q), s, strlen(s), 40);
	return ss_err_set(err, SS_ERR_USAGE,
			  "invalid %s '%s': must be one of debug, "
			  "info, notice, warning, error",
			  what, q);
}

int ss_log_format_parse(const char *s, enum ss_log_format *out,
			const char *what, struct ss_err *err)
{
	char q[80];

	if (!strcmp(s, "text")) {
		*out = SS_LOG_TEXT;
		return 0;
	}
	if (!strcmp(s, "json")) {
		*out = SS_LOG_JSON;
		return 0;
	}
	ss_quote_text(q, sizeof(q), s, strlen(s), 40);
	return ss_err_set(err, SS_ERR_USAGE,
			  "invalid %s '%s': must be 'text' or 'json'", what, q);
}
