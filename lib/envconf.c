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
