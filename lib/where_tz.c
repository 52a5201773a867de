/*
 * where_tz.c — lib/where's time zones: a reader of the system's TZif
 * files and their POSIX TZ rules, the offset of a zone at a UTC or local
 * time, and timezone(zone, value) / AT TIME ZONE.
 */
#include <ctype.h>
#include <dirent.h>

#include "where_int.h"

/*
 * Zone names (Europe/Paris) come from the system time zone database, as
 * Debian's PostgreSQL uses it (--with-system-tzdata=/usr/share/zoneinfo).
 * Only the transitions in the file are used: for later times a zone with
 * daylight saving rules is an error rather than a guess.
 */
#define TZDIR "/usr/share/zoneinfo"

/* Time zone abbreviations with a fixed offset, from PostgreSQL's
 * "Default" set (full zone names such as Europe/Paris are not known). */
static const struct {
	const char *name;
	int secs;
} tz_abbrevs[] = {
    {"utc", 0},	      {"gmt", 0},      {"z", 0},	{"ut", 0},
    {"zulu", 0},      {"wet", 0},      {"west", 3600},	{"bst", 3600},
    {"cet", 3600},    {"cest", 7200},  {"met", 3600},	{"mest", 7200},
    {"eet", 7200},    {"eest", 10800}, {"msk", 10800},	{"ist", 7200},
    {"jst", 32400},   {"kst", 32400},  {"hkt", 28800},	{"awst", 28800},
    {"acst", 34200},  {"aest", 36000}, {"aedt", 39600}, {"nzst", 43200},
    {"nzdt", 46800},  {"ast", -14400}, {"adt", -10800}, {"est", -18000},
    {"edt", -14400},  {"cst", -21600}, {"cdt", -18000}, {"mst", -25200},
    {"mdt", -21600},  {"pst", -28800}, {"pdt", -25200}, {"akst", -32400},
    {"akdt", -28800}, {"hst", -36000}, {"nst", -12600}, {"ndt", -9000},
};

int ss_w_tz_abbrev(const char *p, size_t n, int *secs)
{
	size_t i;

	for (i = 0; i < sizeof(tz_abbrevs) / sizeof(tz_abbrevs[0]); i++)
		if (strlen(tz_abbrevs[i].name) == n &&
		    strncasecmp(p, tz_abbrevs[i].name, n) == 0) {
			*secs = tz_abbrevs[i].secs;
			return 1;
		}
	return 0;
}

/* POSIX TZ string pieces: a name, an offset (west positive), a date. */
static const char *tzs_name(const char *p)
{
	if (*p == '<') {
		while (*p && *p != '>')
			p++;
		return *p ? p + 1 : NULL;
	}
	if (!isalpha((unsigned char)*p))
		return NULL;
	while (isalpha((unsigned char)*p))
		p++;
	return p;
}

static const char *tzs_time(const char *p, int32_t *secs)
{
	int sign = 1, h = 0, m = 0, s = 0;

	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	if (!isdigit((unsigned char)*p))
		return NULL;
	while (isdigit((unsigned char)*p))
		h = h * 10 + (*p++ - '0');
	if (*p == ':') {
		p++;
		while (isdigit((unsigned char)*p))
			m = m * 10 + (*p++ - '0');
		if (*p == ':') {
			p++;
			while (isdigit((unsigned char)*p))
				s = s * 10 + (*p++ - '0');
		}
	}
	*secs = sign * (h * 3600 + m * 60 + s);
	return p;
}

static const char *tzs_date(const char *p, struct tzrule_date *r)
{
	r->secs = 7200;
	if (*p == 'M') {
		r->kind = 'M';
		if (sscanf(p + 1, "%d.%d.%d", &r->m, &r->w, &r->d) != 3 ||
		    r->m < 1 || r->m > 12 || r->w < 1 || r->w > 5 || r->d < 0 ||
		    r->d > 6)
			return NULL;
		p++;
		while (isdigit((unsigned char)*p) || *p == '.')
			p++;
	} else {
		r->kind = *p == 'J' ? 'J' : 'n';
		if (*p == 'J')
			p++;
		if (!isdigit((unsigned char)*p))
			return NULL;
		r->d = 0;
		while (isdigit((unsigned char)*p))
			r->d = r->d * 10 + (*p++ - '0');
	}
	if (*p == '/')
		p = tzs_time(p + 1, &r->secs);
	return p;
}

/* Parse the footer; 0 when it has DST rules we understand. */
static int tz_parse_rule(const char *p, struct tzdb *tz)
{
	int32_t o;

	if (!(p = tzs_name(p)) || !(p = tzs_time(p, &o)))
		return -1;
	tz->std_off = -o;
	if (!*p)
		return -1; /* no DST */
	if (!(p = tzs_name(p)))
		return -1;
	tz->dst_off = tz->std_off + 3600;
	if (*p != ',') {
		if (!(p = tzs_time(p, &o)))
			return -1;
		tz->dst_off = -o;
	}
	if (*p++ != ',' || !(p = tzs_date(p, &tz->start)) || *p++ != ',' ||
	    !(p = tzs_date(p, &tz->end)) || *p)
		return -1;
	return 0;
}

/* The UTC instant of a rule date in `year`, its time read at offset. */
static int64_t tz_rule_instant(const struct tzrule_date *r, int year,
			       int32_t off)
{
	int64_t jd;

	if (r->kind == 'M') {
		int first = ss_w_date2j(year, r->m, 1);
		int dow = (first + 1) % 7; /* 0 = Sunday */
		int day = 1 + (r->d - dow + 7) % 7 + (r->w - 1) * 7;

		while (day > ss_w_days_in_month(year, r->m))
			day -= 7;
		jd = first + day - 1;
	} else if (r->kind == 'J') {
		/* 1..365, February 29 never counted */
		jd = ss_w_date2j(year, 1, 1) + r->d - 1;
		if (r->d >= 60 && ss_w_days_in_month(year, 2) == 29)
			jd++;
	} else {
		jd = ss_w_date2j(year, 1, 1) + r->d;
	}
	return (jd - 2440588) * 86400 + r->secs - off;
}

static int tz_year_of(int64_t utc)
{
	int y, m, d;
	int64_t days = utc / 86400 - (utc % 86400 < 0);

	ss_w_j2date((int)(days + 2440588), &y, &m, &d);
	return y;
}

/* Offset at a UTC instant under the footer's rules. */
static int32_t tz_rule_offset(const struct tzdb *tz, int64_t utc)
{
	int y = tz_year_of(utc);
	int64_t s = tz_rule_instant(&tz->start, y, tz->std_off);
	int64_t e = tz_rule_instant(&tz->end, y, tz->dst_off);
	int dst = s < e ? (utc >= s && utc < e) : !(utc >= e && utc < s);

	return dst ? tz->dst_off : tz->std_off;
}

/* The first rule transition after a UTC instant. */
static int64_t tz_rule_next(const struct tzdb *tz, int64_t utc)
{
	int y = tz_year_of(utc), k;
	int64_t best = INT64_MAX;

	for (k = -1; k <= 1; k++) {
		int64_t s = tz_rule_instant(&tz->start, y + k, tz->std_off);
		int64_t e = tz_rule_instant(&tz->end, y + k, tz->dst_off);

		if (s > utc && s < best)
			best = s;
		if (e > utc && e < best)
			best = e;
	}
	return best;
}

static int tz_name_ok(const char *z, size_t n)
{
	size_t i;

	if (n == 0 || n > 64 || !isalpha((unsigned char)z[0]))
		return 0;
	for (i = 0; i < n; i++) {
		if (!(isalnum((unsigned char)z[i]) || z[i] == '/' ||
		      z[i] == '_' || z[i] == '+' || z[i] == '-'))
			return 0;
		if (z[i] == '/' && (i + 1 == n || z[i + 1] == '/'))
			return 0;
	}
	return 1;
}

/* Zone names match case-insensitively, as in PostgreSQL: find the file
 * one path component at a time. */
static int tz_find_ci(char *path, size_t size, const char *z, size_t n)
{
	size_t plen, i = 0;

	plen = (size_t)snprintf(path, size, "%s", TZDIR);
	while (i < n) {
		size_t j = i;
		DIR *dir;
		struct dirent *de;
		int found = 0;

		while (j < n && z[j] != '/')
			j++;
		dir = opendir(path);
		if (!dir)
			return -1;
		while ((de = readdir(dir)) != NULL) {
			if (strlen(de->d_name) == j - i &&
			    strncasecmp(de->d_name, z + i, j - i) == 0 &&
			    de->d_name[0] != '.') {
				plen +=
				    (size_t)snprintf(path + plen, size - plen,
						     "/%s", de->d_name);
				found = 1;
				break;
			}
		}
		closedir(dir);
		if (!found || plen >= size)
			return -1;
		i = j + 1;
	}
	return 0;
}

int ss_w_tz_load(struct arena *a, const char *z, size_t n, struct tzdb *tz)
{
	char path[128];
	unsigned char *buf;
	size_t len, i, off, v1;
	FILE *f;
	uint32_t cnt[6];

	memset(tz, 0, sizeof(*tz));
	if (!tz_name_ok(z, n))
		return -1;
	snprintf(path, sizeof(path), "%s/%.*s", TZDIR, (int)n, z);
	f = fopen(path, "rb");
	if (!f && tz_find_ci(path, sizeof(path), z, n) == 0)
		f = fopen(path, "rb");
	if (!f)
		return -1;
	buf = ss_w_arena_alloc(a, 1 << 18);
	len = fread(buf, 1, 1 << 18, f);
	fclose(f);
	if (len < 44 || memcmp(buf, "TZif", 4) != 0)
		return -1;
	for (i = 0; i < 6; i++)
		cnt[i] = ss_get32be(buf + 20 + 4 * i);
	off = 44;
	if (buf[4] >= '2') {
		/* skip the 32-bit block for the 64-bit one */
		v1 = (size_t)cnt[3] * 5 + (size_t)cnt[4] * 6 + cnt[5] +
		     (size_t)cnt[2] * 8 + cnt[1] + cnt[0];
		off += v1;
		if (off + 44 > len || memcmp(buf + off, "TZif", 4) != 0)
			return -1;
		for (i = 0; i < 6; i++)
			cnt[i] = ss_get32be(buf + off + 20 + 4 * i);
		off += 44;
	}
	{
		size_t w = buf[4] >= '2' ? 8 : 4;
		size_t need = (size_t)cnt[3] * (w + 1) + (size_t)cnt[4] * 6;

		if (cnt[4] == 0 || cnt[4] > 256 || off + need > len)
			return -1;
		tz->ntrans = cnt[3];
		tz->ntypes = cnt[4];
		tz->trans =
		    ss_w_arena_alloc(a, (tz->ntrans + 1) * sizeof(int64_t));
		tz->idx = ss_w_arena_alloc(a, tz->ntrans + 1);
		tz->utoff = ss_w_arena_alloc(a, tz->ntypes * sizeof(int32_t));
		for (i = 0; i < tz->ntrans; i++) {
			const unsigned char *q = buf + off + i * w;

			tz->trans[i] =
			    w == 8 ? (int64_t)((uint64_t)ss_get32be(q) << 32 |
					       ss_get32be(q + 4))
				   : (int64_t)(int32_t)ss_get32be(q);
		}
		off += tz->ntrans * w;
		for (i = 0; i < tz->ntrans; i++) {
			tz->idx[i] = buf[off + i];
			if (tz->idx[i] >= tz->ntypes)
				return -1;
		}
		off += tz->ntrans;
		for (i = 0; i < tz->ntypes; i++)
			tz->utoff[i] = (int32_t)ss_get32be(buf + off + i * 6);
		off += tz->ntypes * 6;
	}
	/* footer: "\n<POSIX TZ>\n"; a ',' means DST rules, which take
	 * over after the last transition */
	if (buf[4] >= '2') {
		char footer[128];
		size_t flen = 0;

		off += (size_t)cnt[5] + (size_t)cnt[2] * 12 + cnt[1] + cnt[0];
		for (i = off; i < len; i++)
			if (buf[i] == ',')
				tz->has_rule_after = 1;
		if (off < len && buf[off] == '\n') {
			for (i = off + 1; i < len && buf[i] != '\n' &&
					  flen < sizeof(footer) - 1;
			     i++)
				footer[flen++] = (char)buf[i];
			footer[flen] = '\0';
			if (tz->has_rule_after &&
			    tz_parse_rule(footer, tz) == 0)
				tz->has_rule_after = 2; /* understood */
		}
	}
	return 0;
}

/*
 * The UTC offset for a local time (seconds since 1970 read as UTC), as
 * PostgreSQL's DetermineTimeZoneOffset does it: look at the transition
 * following a point a day earlier; a time in a spring-forward gap takes the
 * offset from before, a time repeated by a fall-back the one after.
 * Returns 0, or -1 when the time is beyond what the file describes.
 */
int ss_w_tz_local_offset(const struct tzdb *tz, int64_t local, int32_t *off)
{
	int64_t prev = local - 86400, before_t, after_t, boundary;
	int32_t before, after;
	size_t i;

	if (tz->ntrans == 0 || prev >= tz->trans[tz->ntrans - 1]) {
		if (tz->ntrans > 0 && tz->has_rule_after == 1)
			return -1;
		if (tz->ntrans == 0 || !tz->has_rule_after) {
			*off =
			    tz->utoff[tz->ntrans ? tz->idx[tz->ntrans - 1] : 0];
			return 0;
		}
		/* past the file: the footer's rules give the boundary */
		before = tz_rule_offset(tz, prev);
		boundary = tz_rule_next(tz, prev);
		after = tz_rule_offset(tz, boundary);
	} else {
		for (i = 0; i < tz->ntrans && tz->trans[i] <= prev; i++)
			;
		before = tz->utoff[i == 0 ? 0 : tz->idx[i - 1]];
		boundary = tz->trans[i];
		after = tz->utoff[tz->idx[i]];
	}
	before_t = local - before;
	after_t = local - after;
	if (before_t < boundary && after_t < boundary)
		*off = before;
	else if (before_t > boundary && after_t >= boundary)
		*off = after;
	else
		*off = before_t > after_t ? before : after;
	return 0;
}

/* The UTC offset in effect at a UTC instant; -1 beyond the file. */
static int tz_utc_offset(const struct tzdb *tz, int64_t utc, int32_t *off)
{
	size_t i;

	if (tz->ntrans > 0 && utc >= tz->trans[tz->ntrans - 1] &&
	    tz->has_rule_after) {
		if (tz->has_rule_after == 1)
			return -1;
		*off = tz_rule_offset(tz, utc);
		return 0;
	}
	for (i = 0; i < tz->ntrans && tz->trans[i] <= utc; i++)
		;
	*off = tz->utoff[i == 0 ? 0 : tz->idx[i - 1]];
	return 0;
}

int ss_w_val_timezone(const struct wval *zone, int zone_is_iv, int64_t ts,
		      int to_tz, int64_t *out, struct ss_err *err)
{
	struct arena a = {NULL, NULL, 0, 0};
	struct tzdb tz;
	int32_t off = 0;
	int64_t secs, frac;
	size_t i;
	int rc = 0;

	if (ts == TS_NOBEGIN || ts == TS_NOEND) {
		*out = ts;
		return 0;
	}
	if (zone_is_iv) {
		if (zone->u.iv.month || zone->u.iv.day)
			return ss_err_set(err, SS_ERR_INPUT,
					  "interval time zone must not include "
					  "months or days");
		/* an interval is an offset east of UTC */
		*out = to_tz ? ts - zone->u.iv.us : ts + zone->u.iv.us;
		return 0;
	}
	/* abbreviations first, then the zone database, as PostgreSQL */
	for (i = 0; i < sizeof(tz_abbrevs) / sizeof(tz_abbrevs[0]); i++)
		if (strlen(tz_abbrevs[i].name) == zone->u.s.len &&
		    strncasecmp(zone->u.s.p, tz_abbrevs[i].name,
				zone->u.s.len) == 0) {
			off = tz_abbrevs[i].secs;
			*out = to_tz ? ts - (int64_t)off * 1000000
				     : ts + (int64_t)off * 1000000;
			return 0;
		}
	if (ss_w_tz_load(&a, zone->u.s.p, zone->u.s.len, &tz) < 0) {
		ss_w_arena_free(&a);
		return ss_err_set(err, SS_ERR_INPUT,
				  "time zone \"%.*s\" not recognized",
				  (int)zone->u.s.len, zone->u.s.p);
	}
	/* whole seconds since 1970 for the zone rules */
	secs = ts / 1000000;
	frac = ts % 1000000;
	if (frac < 0) {
		frac += 1000000;
		secs--;
	}
	secs += INT64_C(946684800);
	if (to_tz ? ss_w_tz_local_offset(&tz, secs, &off) < 0
		  : tz_utc_offset(&tz, secs, &off) < 0)
		rc = ss_err_set(err, SS_ERR_INPUT,
				"time zone \"%.*s\" is only supported up to "
				"2037",
				(int)zone->u.s.len, zone->u.s.p);
	ss_w_arena_free(&a);
	if (rc < 0)
		return -1;
	*out =
	    to_tz ? ts - (int64_t)off * 1000000 : ts + (int64_t)off * 1000000;
	if (*out < MIN_TIMESTAMP || *out >= END_TIMESTAMP)
		return ss_err_set(err, SS_ERR_INPUT, "timestamp out of range");
	return 0;
}
