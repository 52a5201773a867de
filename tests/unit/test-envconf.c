/*
 * test-envconf.c — tests for lib/envconf: Electric's boolean, time and
 * ELECTRIC_MAX_CONCURRENT_REQUESTS forms, stream names and random slot
 * names, each with its errors naming the variable.
 */
#include "envconf.h"
#include "unit.h"

static void test_bool(void)
{
	struct ss_err err = SS_ERR_INIT;
	int v = -1;

	CHECK(ss_envconf_bool("X", "true", &v, &err) == 0 && v == 1);
	CHECK(ss_envconf_bool("X", "TRUE", &v, &err) == 0 && v == 1);
	CHECK(ss_envconf_bool("X", "1", &v, &err) == 0 && v == 1);
	CHECK(ss_envconf_bool("X", "false", &v, &err) == 0 && v == 0);
	CHECK(ss_envconf_bool("X", "0", &v, &err) == 0 && v == 0);
	CHECK(ss_envconf_bool("X", "no", &v, &err) == 0 && v == 0);
	CHECK(ss_envconf_bool("X", "maybe", &v, &err) < 0);
	CHECK(err.code == SS_ERR_USAGE);
	CHECK_STR(err.msg, "invalid $X 'maybe': must be true or false");
}

static void test_time(void)
{
	static const struct {
		const char *in;
		int64_t ms;
	} good[] = {
	    {"30s", 30000},    {"5000", 5000},	 {"250ms", 250},
	    {"1.5s", 1500},    {"5min", 300000}, {"2m", 120000},
	    {"1h", 3600000},   {"2 sec", 2000},	 {"10msec", 10},
	    {"3hr", 10800000}, {"0.5", 0},
	};
	static const char *const bads[] = {
	    "",	    "s",     "-1s", "+1s",  " 1s", "1 d", "1day", "inf", "nan",
	    "0x10", "1e400", "1e3", "1..2", ".",   "30S", "0",	  "0s",
	};
	struct ss_err err = SS_ERR_INIT;
	int64_t ms;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int rc = ss_envconf_time_ms("T", good[i].in, 0, &ms, &err);

		if (good[i].ms == 0) {
			CHECK(rc < 0); /* under a millisecond */
			continue;
		}
		CHECK(rc == 0);
		CHECK(ms == good[i].ms);
	}
	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		ss_err_clear(&err);
		CHECK(ss_envconf_time_ms("T", bads[i], 0, &ms, &err) < 0);
		CHECK(err.code == SS_ERR_USAGE &&
		      !strncmp(err.msg, "invalid $T '", 12));
	}
	CHECK(ss_envconf_time_ms("T", "0", 1, &ms, &err) == 0 && ms == 0);
	CHECK(ss_envconf_time_ms("T", "0s", 1, &ms, &err) == 0 && ms == 0);
}

static void test_concurrent(void)
{
	struct ss_err err = SS_ERR_INIT;
	int64_t ini = 300, ex = 10000;

	CHECK(ss_envconf_max_concurrent("M", "{\"initial\":1,\"existing\":2}",
					&ini, &ex, &err) == 0);
	CHECK(ini == 1 && ex == 2);
	CHECK(ss_envconf_max_concurrent("M", "{\"existing\":7}", &ini, &ex,
					&err) == 0);
	CHECK(ini == 1 && ex == 7);
	CHECK(ss_envconf_max_concurrent("M", "{}", &ini, &ex, &err) == 0);
	CHECK(ini == 1 && ex == 7);
	CHECK(ss_envconf_max_concurrent("M", "300", &ini, &ex, &err) < 0);
	CHECK(ss_envconf_max_concurrent("M", "{\"initial\":0}", &ini, &ex,
					&err) < 0);
	CHECK(ss_envconf_max_concurrent("M", "{\"initial\":\"5\"}", &ini, &ex,
					&err) < 0);
	CHECK(ss_envconf_max_concurrent("M", "{\"initial\":1.5}", &ini, &ex,
					&err) < 0);
	CHECK(ss_envconf_max_concurrent("M", "{\"initail\":5}", &ini, &ex,
					&err) < 0);
	CHECK_STR(err.msg, "invalid $M '{\"initail\":5}': only \"initial\" and "
			   "\"existing\" are known");
	CHECK(ss_envconf_max_concurrent("M", "{\"initial\":1,\"initial\":2}",
					&ini, &ex, &err) < 0);
	CHECK(ss_envconf_max_concurrent("M", "{\"initial\":", &ini, &ex, &err) <
	      0);
	CHECK(err.code == SS_ERR_USAGE);
	CHECK(ini == 1 && ex == 7);
}

static void test_stream(void)
{
	struct ss_err err = SS_ERR_INIT;
	char slot[SS_ENVCONF_NAME_MAX], pub[SS_ENVCONF_NAME_MAX];
	char id[64];

	CHECK(ss_envconf_stream_names("S", "default", slot, pub, &err) == 0);
	CHECK_STR(slot, "electric_slot_default");
	CHECK_STR(pub, "electric_publication_default");
	CHECK(ss_envconf_stream_names("S", "_a1", slot, pub, &err) == 0);
	CHECK_STR(slot, "electric_slot__a1");
	CHECK(ss_envconf_stream_names("S", "", slot, pub, &err) < 0);
	CHECK(ss_envconf_stream_names("S", "1a", slot, pub, &err) < 0);
	CHECK(ss_envconf_stream_names("S", "My", slot, pub, &err) < 0);
	CHECK(ss_envconf_stream_names("S", "a-b", slot, pub, &err) < 0);
	CHECK(ss_envconf_stream_names("S", "a\"b", slot, pub, &err) < 0);
	memset(id, 'a', 42);
	id[42] = '\0';
	CHECK(ss_envconf_stream_names("S", id, slot, pub, &err) == 0);
	CHECK(strlen(pub) == 63);
	id[42] = 'a';
	id[43] = '\0';
	CHECK(ss_envconf_stream_names("S", id, slot, pub, &err) < 0);
	CHECK(err.code == SS_ERR_USAGE && strstr(err.msg, "$S"));
}

static void test_random(void)
{
	struct ss_err err = SS_ERR_INIT;
	char a[SS_ENVCONF_NAME_MAX], b[SS_ENVCONF_NAME_MAX];
	size_t i;

	CHECK(ss_envconf_random_slot(a, &err) == 0);
	CHECK(ss_envconf_random_slot(b, &err) == 0);
	CHECK(strlen(a) == 14 + 32 && !strncmp(a, "electric_slot_", 14));
	for (i = 14; i < strlen(a); i++)
		CHECK((a[i] >= '0' && a[i] <= '9') ||
		      (a[i] >= 'a' && a[i] <= 'f'));
	CHECK(strcmp(a, b) != 0);
}

int main(void)
{
	test_bool();
	test_time();
	test_concurrent();
	test_stream();
	test_random();
	return unit_report();
}
