/*
 * test-logline.c — tests for lib/logline: the text form (the house style,
 * unchanged), the JSON form (one object per line, every field, escaping)
 * and level and format names.
 */
#include "logline.h"
#include "unit.h"

static const char *fmt(enum ss_log_format f, enum ss_log_level level,
		       const char *msg, const char *detail, const char *hint)
{
	static struct ss_buf b = SS_BUF_INIT;
	struct ss_logline l = {
	    level, 1700000000123456LL, "shapesync-x", 42, msg, detail, hint};

	ss_buf_reset(&b);
	ss_logline_format(&b, f, &l);
	return b.buf;
}

int main(void)
{
	struct ss_err err = SS_ERR_INIT;
	enum ss_log_level lv;
	enum ss_log_format f;

	CHECK_STR(
	    fmt(SS_LOG_TEXT, SS_LOG_ERROR, "could not open 'x'", NULL, NULL),
	    "shapesync-x: error: could not open 'x'\n");
	CHECK_STR(fmt(SS_LOG_TEXT, SS_LOG_WARNING, "w", "d", "h"),
		  "shapesync-x: warning: w\ndetail: d\nhint: h\n");
	CHECK_STR(fmt(SS_LOG_TEXT, SS_LOG_INFO,
		      "listening on http://127.0.0.1:1", "", NULL),
		  "shapesync-x: listening on http://127.0.0.1:1\n");
	CHECK_STR(fmt(SS_LOG_TEXT, SS_LOG_DEBUG, "m", NULL, "h"),
		  "shapesync-x: debug: m\nhint: h\n");

	CHECK_STR(
	    fmt(SS_LOG_JSON, SS_LOG_ERROR, "bad \"q\"\n2", "d", "h"),
	    "{\"ts\":\"2023-11-14T22:13:20.123456Z\",\"level\":\"error\","
	    "\"program\":\"shapesync-x\",\"pid\":42,\"msg\":\"bad \\\"q\\\"\\n2\","
	    "\"detail\":\"d\",\"hint\":\"h\"}\n");
	CHECK_STR(fmt(SS_LOG_JSON, SS_LOG_INFO, "m", "", NULL),
		  "{\"ts\":\"2023-11-14T22:13:20.123456Z\",\"level\":\"info\","
		  "\"program\":\"shapesync-x\",\"pid\":42,\"msg\":\"m\"}\n");

	CHECK(ss_log_level_parse("debug", &lv, "L", &err) == 0 &&
	      lv == SS_LOG_DEBUG);
	CHECK(ss_log_level_parse("INFO", &lv, "L", &err) == 0 &&
	      lv == SS_LOG_INFO);
	CHECK(ss_log_level_parse("notice", &lv, "L", &err) == 0 &&
	      lv == SS_LOG_INFO);
	CHECK(ss_log_level_parse("warn", &lv, "L", &err) == 0 &&
	      lv == SS_LOG_WARNING);
	CHECK(ss_log_level_parse("warning", &lv, "L", &err) == 0 &&
	      lv == SS_LOG_WARNING);
	CHECK(ss_log_level_parse("critical", &lv, "L", &err) == 0 &&
	      lv == SS_LOG_ERROR);
	CHECK(ss_log_level_parse("emergency", &lv, "L", &err) == 0 &&
	      lv == SS_LOG_ERROR);
	CHECK(ss_log_level_parse("loud", &lv, "$L", &err) < 0);
	CHECK(err.code == SS_ERR_USAGE);
	CHECK_STR(err.msg,
		  "invalid $L 'loud': must be one of debug, info, notice, "
		  "warning, error");
	CHECK_STR(ss_log_level_name(SS_LOG_WARNING), "warning");

	CHECK(ss_log_format_parse("json", &f, "F", &err) == 0 &&
	      f == SS_LOG_JSON);
	CHECK(ss_log_format_parse("text", &f, "F", &err) == 0 &&
	      f == SS_LOG_TEXT);
	CHECK(ss_log_format_parse("JSON", &f, "F", &err) < 0);
	CHECK_STR(err.msg, "invalid F 'JSON': must be 'text' or 'json'");
	return unit_report();
}
