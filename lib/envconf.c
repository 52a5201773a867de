/*
 * envconf.c — parsing of Electric's environment variable values. See
 * envconf.h.
 */
#include "envconf.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

static int bad(struct ss_err *err, const char *name, const char *v,
	       const char *why)
{
	char q[120];

	ss_quote_text(q, sizeof(q), v, strlen(v), 80);
	/* An option ("--x") is named as it is, a variable with its '$'. */
	return ss_err_set(err, SS_ERR_USAGE, "invalid %s%s '%s': %s",
			  name[0] == '-' ? "" : "$", name, q, why);
}

int ss_envconf_bool(const char *name, const char *v, int *out,
		    struct ss_err *err)
{
	if (!strcasecmp(v, "true") || !strcmp(v, "1") ||
	    !strcasecmp(v, "yes")) {
		*out = 1;
		return 0;
	}
	if (!strcasecmp(v, "false") || !strcmp(v, "0") ||
	    !strcasecmp(v, "no")) {
		*out = 0;
		return 0;
	}
	return bad(err, name, v, "must be true or false");
}

int ss_envconf_time_ms(const char *name, const char *v, int allow_zero,
		       int64_t *out_ms, struct ss_err *err)
{
	static const struct {
		const char *unit;
		double ms;
	} units[] = {
	    {"", 1},	    {"ms", 1},	    {"msec", 1},
	    {"s", 1000},    {"sec", 1000},  {"m", 60000},
	    {"min", 60000}, {"h", 3600000}, {"hr", 3600000},
	};
	const char *why = "must be a positive number with an optional unit "
			  "(ms, s, min, h)";
	const char *p = v;
	char *end;
	double num, ms;
	size_t i, n;

	/* Digits with at most one '.': strtod alone would also take
	 * "inf", "nan", hex, exponents and leading spaces. */
	for (n = 0, i = 0;
	     (p[n] >= '0' && p[n] <= '9') || (p[n] == '.' && !i++); n++)
		;
	if (!n || (n == 1 && *p == '.'))
		return bad(err, name, v, why);
	errno = 0;
	num = strtod(p, &end);
	if (errno || end != p + n || !isfinite(num))
		return bad(err, name, v, why);
	for (p = end; *p == ' '; p++)
		;
	n = strlen(p);
	while (n && p[n - 1] == ' ')
		n--;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strlen(units[i].unit) == n && !strncmp(p, units[i].unit, n))
			break;
	if (i == sizeof(units) / sizeof(units[0]))
		return bad(err, name, v, why);
	ms = num * units[i].ms;
	if (ms >= 9.2e15)
		return bad(err, name, v, "too large");
	if (num == 0 && !allow_zero)
		return bad(err, name, v, why);
	*out_ms = (int64_t)ms;
	if (num > 0 && *out_ms == 0)
		return bad(err, name, v, "less than a millisecond");
	return 0;
}

int ss_envconf_max_concurrent(const char *name, const char *v, int64_t *initial,
			      int64_t *existing, struct ss_err *err)
{
	json_error_t je;
	json_t *root = json_loads(v, JSON_REJECT_DUPLICATES, &je), *val;
	const char *key;
	int64_t ini = *initial, ex = *existing;

	if (!root)
		return bad(
		    err, name, v,
		    "not JSON, e.g. {\"initial\":300,\"existing\":10000}");
	if (!json_is_object(root)) {
		json_decref(root);
		return bad(err, name, v,
			   "must be a JSON object with \"initial\" and "
			   "\"existing\"");
	}
	json_object_foreach(root, key, val)
	{
		int64_t *dst;

		if (!strcmp(key, "initial"))
			dst = &ini;
		else if (!strcmp(key, "existing"))
			dst = &ex;
		else {
			json_decref(root);
			return bad(err, name, v,
				   "only \"initial\" and \"existing\" "
				   "are known");
		}
		if (!json_is_integer(val) || json_integer_value(val) < 1 ||
		    json_integer_value(val) > 2147483647) {
			json_decref(root);
			return bad(err, name, v,
				   "\"initial\" and \"existing\" must be "
				   "integers from 1 to 2147483647");
		}
		*dst = json_integer_value(val);
	}
	json_decref(root);
	*initial = ini;
	*existing = ex;
	return 0;
}

int ss_envconf_stream_names(const char *name, const char *id, char *slot,
			    char *pub, struct ss_err *err)
{
	static const char pub_prefix[] = "electric_publication_";
	size_t i, n = strlen(id);

	if (!n)
		return bad(err, name, id, "empty");
	for (i = 0; i < n; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || c == '_' ||
		      (i && c >= '0' && c <= '9')))
			return bad(
			    err, name, id,
			    "must be a lowercase identifier: "
			    "a letter or '_', then letters, digits or '_'");
	}
	if (sizeof(pub_prefix) - 1 + n > SS_ENVCONF_NAME_MAX - 1)
		return bad(err, name, id,
			   "too long for a publication name "
			   "(42 characters at most)");
	snprintf(slot, SS_ENVCONF_NAME_MAX, "electric_slot_%s", id);
	snprintf(pub, SS_ENVCONF_NAME_MAX, "%s%s", pub_prefix, id);
	return 0;
}

int ss_envconf_random_slot(char *out, struct ss_err *err)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[16];
	char *p;
	size_t i;

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return ss_err_set(err, SS_ERR_RUNTIME,
				  "could not get random bytes: %s",
				  strerror(errno));
	p = out + snprintf(out, SS_ENVCONF_NAME_MAX, "electric_slot_");
	for (i = 0; i < sizeof(r); i++) {
		*p++ = hex[r[i] >> 4];
		*p++ = hex[r[i] & 15];
	}
	*p = '\0';
	return 0;
}

/* ------------------------------------------------------------ serve */

static const char *env_or(ss_envconf_getenv_fn get, const char *name,
			  const char *dflt)
{
	const char *v = get(name);

	return v && *v ? v : dflt;
}

static int env_flag(ss_envconf_getenv_fn get, const char *name)
{
	const char *v = get(name);

	return v &&
	       (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes"));
}

static int env_int(ss_envconf_getenv_fn get, const char *name, int64_t min,
		   int64_t max, int64_t *out, struct ss_err *err)
{
	const char *v = get(name);
	struct ss_err e = SS_ERR_INIT;

	if (!v || !*v)
		return 0;
	if (ss_parse_i64(v, min, max, out, name, &e) < 0)
		return ss_err_set(err, SS_ERR_USAGE, "invalid $%s '%s': %s",
				  name, v, e.msg);
	return 0;
}

/* A connection timeout in whole seconds (libmicrohttpd's unit). */
static int env_time_s(ss_envconf_getenv_fn get, const char *name, int64_t *out,
		      struct ss_err *err)
{
	const char *v = env_or(get, name, NULL);
	int64_t ms;

	if (!v)
		return 0;
	if (ss_envconf_time_ms(name, v, 0, &ms, err) < 0)
		return -1;
	/* Round up, at least 1. */
	ms = (ms + 999) / 1000;
	if (ms > 86400)
		return ss_err_set(err, SS_ERR_USAGE,
				  "invalid $%s '%s': at most 24 hours", name,
				  v);
	*out = ms;
	return 0;
}

int ss_envconf_serve(ss_envconf_getenv_fn get, struct ss_envconf_serve *s,
		     struct ss_err *err)
{
	const char *v;
	int64_t n;
	int b;

	s->database_url = env_or(get, "DATABASE_URL", s->database_url);
	s->registry = env_or(get, "SHAPESYNC_REGISTRY", s->registry);
	s->data_dir = env_or(get, "SHAPESYNC_DATA_DIR",
			     env_or(get, "ELECTRIC_STORAGE_DIR", s->data_dir));
	n = s->port;
	if (env_int(get, "ELECTRIC_PORT", 0, 65535, &n, err) < 0)
		return -1;
	s->port = (int)n;
	s->secret = env_or(get, "ELECTRIC_SECRET", s->secret);
	s->insecure = env_flag(get, "ELECTRIC_INSECURE");
	if (env_int(get, "ELECTRIC_LONG_POLL_TIMEOUT", 0, 3600000,
		    &s->long_poll_ms, err) < 0 ||
	    env_int(get, "ELECTRIC_CACHE_MAX_AGE", 0, INT32_MAX,
		    &s->cache_max_age, err) < 0 ||
	    env_int(get, "ELECTRIC_CACHE_STALE_AGE", 0, INT32_MAX,
		    &s->cache_stale_age, err) < 0)
		return -1;
	n = (int64_t)s->chunk_bytes;
	if (env_int(get, "ELECTRIC_SHAPE_CHUNK_BYTES_THRESHOLD", 1, INT64_MAX,
		    &n, err) < 0)
		return -1;
	s->chunk_bytes = (uint64_t)n;
	if (env_int(get, "ELECTRIC_MAX_SHAPES", 0, INT64_MAX, &s->max_shapes,
		    err) < 0)
		return -1;
	s->integration = env_flag(get, "ELECTRIC_ENABLE_INTEGRATION_TESTING");
	if (env_int(get, "SHAPESYNC_TEST_FAIL_THREAD_START", 0, INT64_MAX,
		    &s->test_fail_thread_start, err) < 0)
		return -1;

	/* Electric's settings that have no shapesync name of their own;
	 * options given later win. */
	v = env_or(get, "ELECTRIC_MAX_CONCURRENT_REQUESTS", NULL);
	if (v && ss_envconf_max_concurrent("ELECTRIC_MAX_CONCURRENT_REQUESTS",
					   v, &s->max_initial, &s->max_existing,
					   err) < 0)
		return -1;
	n = s->pool_size;
	if (env_int(get, "ELECTRIC_DB_POOL_SIZE", 1, 1000, &n, err) < 0)
		return -1;
	s->pool_size = (int)n;
	/* Scale to zero: replicate sleeps, and the pool lets go too. */
	v = env_or(get, "ELECTRIC_REPLICATION_IDLE_TIMEOUT", NULL);
	if (v && ss_envconf_time_ms("ELECTRIC_REPLICATION_IDLE_TIMEOUT", v, 1,
				    &s->db_idle_ms, err) < 0)
		return -1;
	n = 0;
	if (env_int(get, "ELECTRIC_PROMETHEUS_PORT", 0, 65535, &n, err) < 0)
		return -1;
	s->metrics_port = (int)n;
	/* The query URL, by its new name, then its old one. */
	s->database_url = env_or(
	    get, "ELECTRIC_QUERY_DATABASE_URL",
	    env_or(get, "ELECTRIC_POOLED_DATABASE_URL", s->database_url));
	{
		/* libmicrohttpd has one inactivity timeout for both ways. */
		int64_t rd = s->conn_timeout_s, wr = s->conn_timeout_s;

		if (env_time_s(get, "ELECTRIC_TCP_READ_TIMEOUT", &rd, err) <
			0 ||
		    env_time_s(get, "ELECTRIC_TCP_SEND_TIMEOUT", &wr, err) < 0)
			return -1;
		s->conn_timeout_s = rd < wr ? rd : wr;
	}
	v = env_or(get, "ELECTRIC_REPLICATION_STREAM_ID", NULL);
	if (v) {
		if (ss_envconf_stream_names("ELECTRIC_REPLICATION_STREAM_ID", v,
					    s->slot, s->pub, err) < 0)
			return -1;
		s->publication = s->pub;
	}
	v = env_or(get, "ELECTRIC_LISTEN_ON_IPV6", NULL);
	if (v) {
		if (ss_envconf_bool("ELECTRIC_LISTEN_ON_IPV6", v, &b, err) < 0)
			return -1;
		if (b)
			s->bind = "::1";
	}
	v = env_or(get, "ELECTRIC_MANUAL_TABLE_PUBLISHING", NULL);
	if (v && ss_envconf_bool("ELECTRIC_MANUAL_TABLE_PUBLISHING", v,
				 &s->manual_publishing, err) < 0)
		return -1;
	return 0;
}
