/*
 * test-envconf.c — tests for lib/envconf: Electric's boolean, time and
 * ELECTRIC_MAX_CONCURRENT_REQUESTS forms, stream names and random slot
 * names, each with its errors naming the variable; serve's settings
 * from a fake environment.
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

/* A fake environment: NULL-terminated name, value pairs. */
static const char *const *fake_env;

static const char *fake_get(const char *name)
{
	size_t i;

	for (i = 0; fake_env[i]; i += 2)
		if (!strcmp(fake_env[i], name))
			return fake_env[i + 1];
	return NULL;
}

static void serve_defaults(struct ss_envconf_serve *s)
{
	memset(s, 0, sizeof(*s));
	s->registry = "reg";
	s->data_dir = "data";
	s->publication = "shapesync";
	s->bind = "127.0.0.1";
	s->port = 3000;
	s->pool_size = 8;
	s->max_initial = 300;
	s->max_existing = 10000;
	s->conn_timeout_s = 60;
	s->chunk_bytes = 10;
}

/* The error of one variable alone, or "" when its value is good. */
static const char *serve_error(const char *name, const char *v)
{
	static char msg[sizeof(((struct ss_err *)0)->msg)];
	const char *env[] = {name, v, NULL};
	struct ss_envconf_serve s;
	struct ss_err err = SS_ERR_INIT;

	fake_env = env;
	serve_defaults(&s);
	msg[0] = '\0';
	if (ss_envconf_serve(fake_get, &s, &err) < 0) {
		CHECK(err.code == SS_ERR_USAGE);
		snprintf(msg, sizeof(msg), "%s", err.msg);
	}
	return msg;
}

static void test_serve(void)
{
	static const char *const none[] = {"DATABASE_URL", "", NULL};
	static const char *const all[] = {
	    "DATABASE_URL",
	    "postgres://a",
	    "ELECTRIC_QUERY_DATABASE_URL",
	    "postgres://q",
	    "SHAPESYNC_REGISTRY",
	    "/r.db",
	    "ELECTRIC_STORAGE_DIR",
	    "/storage",
	    "ELECTRIC_PORT",
	    "4000",
	    "ELECTRIC_SECRET",
	    "s3",
	    "ELECTRIC_INSECURE",
	    "yes",
	    "ELECTRIC_LONG_POLL_TIMEOUT",
	    "5000",
	    "ELECTRIC_CACHE_MAX_AGE",
	    "7",
	    "ELECTRIC_CACHE_STALE_AGE",
	    "8",
	    "ELECTRIC_SHAPE_CHUNK_BYTES_THRESHOLD",
	    "4096",
	    "ELECTRIC_MAX_SHAPES",
	    "9",
	    "ELECTRIC_ENABLE_INTEGRATION_TESTING",
	    "true",
	    "ELECTRIC_MAX_CONCURRENT_REQUESTS",
	    "{\"initial\":5}",
	    "ELECTRIC_DB_POOL_SIZE",
	    "3",
	    "ELECTRIC_REPLICATION_IDLE_TIMEOUT",
	    "2s",
	    "ELECTRIC_PROMETHEUS_PORT",
	    "9090",
	    "ELECTRIC_TCP_READ_TIMEOUT",
	    "1500",
	    "ELECTRIC_TCP_SEND_TIMEOUT",
	    "3min",
	    "ELECTRIC_REPLICATION_STREAM_ID",
	    "abc",
	    "ELECTRIC_LISTEN_ON_IPV6",
	    "true",
	    "ELECTRIC_MANUAL_TABLE_PUBLISHING",
	    "TRUE",
	    NULL};
	struct ss_envconf_serve s;
	struct ss_err err = SS_ERR_INIT;

	/* nothing set (an empty value is unset): the defaults stay */
	fake_env = none;
	serve_defaults(&s);
	CHECK(ss_envconf_serve(fake_get, &s, &err) == 0);
	CHECK(s.database_url == NULL && s.secret == NULL);
	CHECK_STR(s.registry, "reg");
	CHECK_STR(s.data_dir, "data");
	CHECK_STR(s.publication, "shapesync");
	CHECK_STR(s.bind, "127.0.0.1");
	CHECK(s.port == 3000 && s.pool_size == 8 && s.metrics_port == 0);
	CHECK(s.max_initial == 300 && s.max_existing == 10000);
	CHECK(s.conn_timeout_s == 60 && s.chunk_bytes == 10);
	CHECK(!s.insecure && !s.integration && !s.manual_publishing);

	/* everything set */
	fake_env = all;
	serve_defaults(&s);
	CHECK(ss_envconf_serve(fake_get, &s, &err) == 0);
	CHECK_STR(s.database_url, "postgres://q");
	CHECK_STR(s.registry, "/r.db");
	CHECK_STR(s.data_dir, "/storage");
	CHECK_STR(s.publication, "electric_publication_abc");
	CHECK_STR(s.slot, "electric_slot_abc");
	CHECK_STR(s.bind, "::1");
	CHECK_STR(s.secret, "s3");
	CHECK(s.port == 4000 && s.insecure == 1 && s.integration == 1);
	CHECK(s.long_poll_ms == 5000 && s.cache_max_age == 7 &&
	      s.cache_stale_age == 8);
	CHECK(s.chunk_bytes == 4096 && s.max_shapes == 9);
	CHECK(s.max_initial == 5 && s.max_existing == 10000);
	CHECK(s.pool_size == 3 && s.db_idle_ms == 2000 &&
	      s.metrics_port == 9090);
	/* the smaller timeout, rounded up to whole seconds */
	CHECK(s.conn_timeout_s == 2);
	CHECK(s.manual_publishing == 1);

	/* a flag is true only for true, 1 or yes */
	fake_env = (const char *const[]){"ELECTRIC_INSECURE", "TRUE", NULL};
	serve_defaults(&s);
	CHECK(ss_envconf_serve(fake_get, &s, &err) == 0 && s.insecure == 0);

	/* errors name the variable and its value */
	CHECK_STR(serve_error("ELECTRIC_PORT", "70000"),
		  "invalid $ELECTRIC_PORT '70000': invalid ELECTRIC_PORT "
		  "'70000': must be between 0 and 65535");
	CHECK(strstr(serve_error("ELECTRIC_DB_POOL_SIZE", "0"),
		     "invalid $ELECTRIC_DB_POOL_SIZE '0'") != NULL);
	CHECK_STR(serve_error("ELECTRIC_TCP_READ_TIMEOUT", "25h"),
		  "invalid $ELECTRIC_TCP_READ_TIMEOUT '25h': at most 24 hours");
	CHECK(strstr(serve_error("ELECTRIC_LISTEN_ON_IPV6", "maybe"),
		     "must be true or false") != NULL);
	CHECK(strstr(serve_error("ELECTRIC_REPLICATION_STREAM_ID", "A-b"),
		     "$ELECTRIC_REPLICATION_STREAM_ID") != NULL);
	CHECK_STR(serve_error("ELECTRIC_MAX_SHAPES", "12"), "");
}

int main(void)
{
	test_bool();
	test_time();
	test_concurrent();
	test_stream();
	test_random();
	test_serve();
	return unit_report();
}
