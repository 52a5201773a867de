/*
 * where_time.c — lib/where's dates and times: date, time, timestamp,
 * timestamptz and interval input and output as PostgreSQL 15 does them
 * (proleptic Gregorian, Julian day numbers), zone offsets of input
 * (where_tz.c), and adding an interval to a timestamp.
 */
#include <ctype.h>
#include <math.h>

#include "where_int.h"

/* ------------------------------------------------------------------ */
/* Dates and times (proleptic Gregorian, Julian day numbers like
 * PostgreSQL's date2j/j2date; dates are days from 2000-01-01). */

int ss_w_date2j(int y, int m, int d)
{
	int julian, century;

	if (m > 2) {
		m += 1;
		y += 4800;
	} else {
		m += 13;
		y += 4799;
	}
	century = y / 100;
	julian = y * 365 - 32167;
	julian += y / 4 - century + century / 4;
	julian += 7834 * m / 256 + d;
	return julian;
}

void ss_w_j2date(int jd, int *year, int *month, int *day)
{
	unsigned int julian, quad, extra;
	int y;

	julian = (unsigned int)jd;
	julian += 32044;
	quad = julian / 146097;
	extra = (julian - quad * 146097) * 4 + 3;
	julian += 60 + quad * 3 + extra / 146097;
	quad = julian / 1461;
	julian -= quad * 1461;
	y = (int)(julian * 4 / 1461);
	julian =
	    ((y != 0) ? ((julian + 305) % 365) : ((julian + 306) % 366)) + 123;
	y += (int)quad * 4;
	*year = y - 4800;
	quad = julian * 2141 / 65536;
	*day = (int)(julian - 7834 * quad / 256);
	*month = (int)((quad + 10) % 12 + 1);
}

int ss_w_days_in_month(int y, int m)
{
	static const int dm[] = {31, 28, 31, 30, 31, 30,
				 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : dm[m - 1];
}

/* A parsed date/time string. */
struct dt {
	int has_date, has_time, has_tz;
	int year, mon, mday; /* year astronomical (1 BC = 0) */
	int64_t time_us;     /* since midnight */
	int tz_sec;	     /* offset east of UTC */
	int special;	     /* 1 +infinity, -1 -infinity, 2 epoch */
	const char *zone;    /* a zone name such as Europe/Paris, or NULL */
	size_t zonelen;
};

int ss_w_rd_int(const char **pp, const char *end, int maxd, int *out)
{
	const char *p = *pp;
	int v = 0, n = 0;

	while (p < end && isdigit((unsigned char)*p) && n < maxd) {
		v = v * 10 + (*p - '0');
		p++, n++;
	}
	if (n == 0)
		return -1;
	*pp = p;
	*out = v;
	return n;
}

/* Read "hh:mm[:ss[.ffffff]]" (hours may exceed 24 only when allow_big). */
/* Fractional seconds ".ddd" as microseconds, rounded like PostgreSQL's
 * rint(frac * 1e6) on the strtod() value. */
static int64_t rd_frac(const char **pp, const char *end)
{
	char buf[40];
	size_t n = 1;
	const char *p = *pp;

	buf[0] = '0';
	while (p < end &&
	       (isdigit((unsigned char)*p) || (*p == '.' && n == 1))) {
		if (n < sizeof(buf) - 1)
			buf[n++] = *p;
		p++;
	}
	buf[n] = '\0';
	*pp = p;
	return (int64_t)rint(strtod(buf, NULL) * 1000000.0);
}

/* Read "h:mm[:ss[.ffffff]]" (1 or 2 digit fields), or "hhmm[ss[.f]]". */
static int rd_time(const char **pp, const char *end, int64_t *us, int *oor)
{
	const char *p = *pp;
	int h, m, s = 0, n;
	int64_t frac = 0;

	n = ss_w_rd_int(&p, end, 6, &h);
	if (n < 0)
		return -1;
	if (n == 4 || n == 6) {
		/* concatenated ISO time */
		if (p < end && *p == ':')
			return -1;
		if (n == 6) {
			s = h % 100;
			h /= 100;
		}
		m = h % 100;
		h /= 100;
		if (p < end && *p == '.' && n == 6)
			frac = rd_frac(&p, end);
		goto check;
	}
	if (n > 2 || p >= end || *p != ':')
		return -1;
	p++;
	if (ss_w_rd_int(&p, end, 2, &m) < 0)
		return -1;
	if (p < end && *p == ':') {
		p++;
		if (ss_w_rd_int(&p, end, 2, &s) < 0)
			return -1;
		if (p < end && *p == '.')
			frac = rd_frac(&p, end);
	} else if (p < end && *p == '.') {
		/* "mm:ss.f" is not a time of day form we accept */
		return -1;
	}
check:
	if (m > 59 || s > 60 || h > 24 ||
	    (h == 24 && (m > 0 || s > 0 || frac > 0)))
		*oor = 1;
	*us = ((int64_t)h * 3600 + m * 60 + s) * 1000000 + frac;
	*pp = p;
	return 0;
}

/* Read a numeric offset, an abbreviation, or a zone name (the name is
 * only located here: d->zone; ss_w_ts_in looks it up). */
static int rd_tz(const char **pp, const char *end, int *tz, struct dt *d)
{
	const char *p = *pp;
	int sign, h, m = 0, s = 0, n;

	if (p < end && isalpha((unsigned char)*p)) {
		const char *q = p;
		size_t len;

		while (q < end && isalpha((unsigned char)*q))
			q++;
		len = (size_t)(q - p);
		if (ss_w_tz_abbrev(p, len, tz) &&
		    (q == end ||
		     !(isalnum((unsigned char)*q) || *q == '/' || *q == '_'))) {
			*pp = q;
			return 0;
		}
		while (q < end && (isalnum((unsigned char)*q) || *q == '/' ||
				   *q == '_' || *q == '+' || *q == '-'))
			q++;
		d->zone = p;
		d->zonelen = (size_t)(q - p);
		*tz = 0;
		*pp = q;
		return 0;
	}
	if (p >= end || (*p != '+' && *p != '-'))
		return -1;
	sign = *p == '-' ? -1 : 1;
	p++;
	n = ss_w_rd_int(&p, end, 4, &h);
	if (n < 0)
		return -1;
	if (n == 4) {
		m = h % 100;
		h /= 100;
	} else if (n == 3) {
		return -1;
	} else if (p < end && *p == ':') {
		p++;
		if (ss_w_rd_int(&p, end, 2, &m) != 2)
			return -1;
		if (p < end && *p == ':') {
			p++;
			if (ss_w_rd_int(&p, end, 2, &s) != 2)
				return -1;
		}
	}
	if (h > 15 || m > 59 || s > 59)
		return -2;
	*tz = sign * (h * 3600 + m * 60 + s);
	*pp = p;
	return 0;
}

/*
 * Parse the ISO-ish spellings PostgreSQL prints and people write:
 * "2024-01-15", "2024-01-15 10:20:30.5", "2024-01-15T10:20:30Z",
 * "2024-01-15 10:20:30+05:30", "0044-03-15 BC", "10:20", "infinity".
 * Returns 0, -1 syntax error, -2 field out of range.
 */
static int month_word(const char *p, size_t n)
{
	static const char *const months[] = {"january", "february", "march",
					     "april",	"may",	    "june",
					     "july",	"august",   "september",
					     "october", "november", "december"};
	int i;

	if (n == 4 && strncasecmp(p, "sept", 4) == 0)
		return 9;
	for (i = 0; i < 12; i++)
		if (n >= 3 && n <= strlen(months[i]) &&
		    strncasecmp(p, months[i], n) == 0)
			return i + 1;
	return 0;
}

/* A date written with a month name: "January 15, 2024", "15 Jan 2024",
 * "2024-Jan-15". Sets *q past it; 0, or -1 when this is not one. */
static int rd_text_date(const char **pp, const char *end, int *y, int *m,
			int *dd)
{
	const char *p = *pp;
	int nums[2], ndig[2], nn = 0, mon = 0, i;
	const char *last = p;

	while (p < end && nn + (mon != 0) < 3) {
		while (p < end && (*p == ' ' || *p == ',' || *p == '-' ||
				   *p == '/' || *p == '.'))
			p++;
		if (p < end && isalpha((unsigned char)*p)) {
			const char *w = p;

			while (p < end && isalpha((unsigned char)*p))
				p++;
			if (mon || !(mon = month_word(w, (size_t)(p - w))))
				return -1;
		} else if (p < end && isdigit((unsigned char)*p)) {
			const char *w = p;

			if (nn == 2)
				return -1;
			ndig[nn] = ss_w_rd_int(&p, end, 9, &nums[nn]);
			if (p < end && *p == ':') {
				p = w; /* a time: the date has ended */
				break;
			}
			nn++;
		} else {
			break;
		}
		last = p;
	}
	if (!mon || nn != 2)
		return -1;
	/* the year is the number with more than two digits, or the
	 * second one (DMY) */
	i = (ndig[0] > 2 || nums[0] > 31) ? 0 : 1;
	*y = nums[i];
	*dd = nums[1 - i];
	if (ndig[i] <= 2)
		*y += *y < 70 ? 2000 : 1900;
	*m = mon;
	*pp = last;
	return 0;
}

/*
 * Parse the spellings PostgreSQL prints and people write:
 * "2024-01-15", "2024-01-15 10:20:30.5", "2024-01-15T10:20:30Z",
 * "2024-01-15 10:20:30+05:30", "0044-03-15 BC", "10:20", "infinity",
 * "15/01/2024" (DateStyle DMY), "20240115", "January 15, 2024",
 * "2024-01-15 10:00 PST". Returns 0, -1 syntax error, -2 field out of
 * range.
 */
static int dt_parse(const char *s, size_t len, int want_date, struct dt *d)
{
	const char *p = s, *end = s + len;
	int oor = 0;

	memset(d, 0, sizeof(*d));
	while (p < end && isspace((unsigned char)*p))
		p++;
	while (end > p && isspace((unsigned char)end[-1]))
		end--;
	if (end - p == 8 && strncasecmp(p, "infinity", 8) == 0) {
		d->special = 1;
		return 0;
	}
	if (end - p == 9 && strncasecmp(p, "+infinity", 9) == 0) {
		d->special = 1;
		return 0;
	}
	if (end - p == 9 && strncasecmp(p, "-infinity", 9) == 0) {
		d->special = -1;
		return 0;
	}
	if (end - p == 5 && strncasecmp(p, "epoch", 5) == 0) {
		d->special = 2;
		return 0;
	}
	if (!want_date && end - p == 8 && strncasecmp(p, "allballs", 8) == 0) {
		d->has_time = 1;
		return 0;
	}
	if (want_date) {
		const char *q = p;
		int y, m, dd, n;

		n = ss_w_rd_int(&q, end, 9, &y);
		if (n < 0 || (q < end && isalpha((unsigned char)*q) &&
			      !(n == 8 && (*q == 'T' || *q == 't')))) {
			q = p;
			if (rd_text_date(&q, end, &y, &m, &dd) < 0)
				return -1;
		} else if (q < end && (*q == '-' || *q == '/' || *q == '.') &&
			   q + 1 < end && isalpha((unsigned char)q[1])) {
			q = p;
			if (rd_text_date(&q, end, &y, &m, &dd) < 0)
				return -1;
		} else if (q < end && (*q == '-' || *q == '/' || *q == '.')) {
			char sep = *q;
			int nlast;

			q++;
			if (ss_w_rd_int(&q, end, 2, &m) < 0 || q >= end ||
			    *q != sep)
				return -1;
			q++;
			nlast = ss_w_rd_int(&q, end, 9, &dd);
			if (nlast < 0)
				return -1;
			if (n < 3) {
				/* DateStyle DMY: dd-mm-yyyy */
				int t = y;

				y = dd;
				dd = t;
				if (nlast <= 2)
					y += y < 70 ? 2000 : 1900;
			}
		} else if (n >= 8 && !(q < end && isdigit((unsigned char)*q))) {
			/* yyyymmdd */
			dd = y % 100;
			m = (y / 100) % 100;
			y /= 10000;
		} else if (n == 9 && q < end && isdigit((unsigned char)*q)) {
			/* a longer run of digits: the year is all but the
			 * last four (yyyyyymmdd) */
			int64_t v = y;
			int k = 9;

			while (q < end && isdigit((unsigned char)*q) &&
			       k < 12) {
				v = v * 10 + (*q++ - '0');
				k++;
			}
			if (q < end && isdigit((unsigned char)*q))
				return -1;
			dd = (int)(v % 100);
			m = (int)((v / 100) % 100);
			if (v / 10000 > 5874897)
				return -2;
			y = (int)(v / 10000);
		} else {
			q = p;
			if (rd_text_date(&q, end, &y, &m, &dd) < 0)
				return -1;
		}
		if (y == 0)
			oor = 1;
		d->year = y;
		d->mon = m;
		d->mday = dd;
		d->has_date = 1;
		p = q;
		if (p < end && (*p == 'T' || *p == 't') && p + 1 < end &&
		    isdigit((unsigned char)p[1]))
			p++;
		while (p < end && *p == ' ')
			p++;
	} else if (p + 1 < end && (*p == 'T' || *p == 't') &&
		   isdigit((unsigned char)p[1])) {
		p++; /* ISO 8601 "T10:20" */
	}
	if (p < end && isdigit((unsigned char)*p)) {
		if (rd_time(&p, end, &d->time_us, &oor) < 0)
			return -1;
		d->has_time = 1;
		while (p < end && *p == ' ')
			p++;
	}
	if (p < end &&
	    !(d->has_date && end - p == 2 &&
	      (strncasecmp(p, "BC", 2) == 0 || strncasecmp(p, "AD", 2) == 0))) {
		int r = rd_tz(&p, end, &d->tz_sec, d);

		if (r == -2)
			oor = 1;
		else if (r < 0)
			return -1;
		d->has_tz = 1;
		while (p < end && *p == ' ')
			p++;
	}
	if (d->has_date && end - p == 2 && strncasecmp(p, "BC", 2) == 0) {
		d->year = 1 - d->year;
		p += 2;
	} else if (d->has_date && end - p == 2 &&
		   strncasecmp(p, "AD", 2) == 0) {
		p += 2;
	}
	if (p != end)
		return -1;
	if (d->has_date && (d->mon < 1 || d->mon > 12 || d->mday < 1 ||
			    d->mday > ss_w_days_in_month(d->year, d->mon)))
		oor = 1;
	return oor ? -2 : 0;
}

static int dt_err(int r, const char *tn, const char *s, size_t len,
		  struct ss_err *err)
{
	if (r == -2)
		return ss_err_set(
		    err, SS_ERR_INPUT,
		    "date/time field value out of range: \"%.*s\"", (int)len,
		    s);
	return ss_err_set(err, SS_ERR_INPUT,
			  "invalid input syntax for type %s: \"%.*s\"", tn,
			  (int)len, s);
}

static int dt_zone(const struct dt *d, int with_tz, int32_t *off,
		   struct ss_err *err);

int ss_w_date_in(const char *s, size_t len, int64_t *out, struct ss_err *err)
{
	struct dt d;
	int r = dt_parse(s, len, 1, &d);
	int jd;

	if (r == 0 && d.special) {
		/* epoch is 1970-01-01, 10957 days before 2000-01-01 */
		*out = d.special == 1	 ? DATE_NOEND
		       : d.special == -1 ? DATE_NOBEGIN
					 : -10957;
		return 0;
	}
	if (r == 0 && !d.has_date)
		r = -1;
	if (r < 0)
		return dt_err(r, "date", s, len, err);
	if (d.zone) {
		int32_t off; /* a zone is checked, then ignored */

		if (dt_zone(&d, 0, &off, err) < 0)
			return -1;
	}
	if (d.year < -4713 || (d.year == -4713 && d.mon < 11) ||
	    d.year > 5874897)
		return ss_err_set(err, SS_ERR_INPUT,
				  "date out of range: \"%.*s\"", (int)len, s);
	jd = ss_w_date2j(d.year, d.mon, d.mday);
	*out = jd - POSTGRES_EPOCH_JDATE;
	return 0;
}

/* Resolve d->zone into d->tz_sec for the date and time in d. */
static int dt_zone(const struct dt *d, int with_tz, int32_t *off,
		   struct ss_err *err)
{
	struct arena a = {NULL, NULL, 0, 0};
	struct tzdb tz;
	int rc = 0;

	*off = 0;
	if (ss_w_tz_load(&a, d->zone, d->zonelen, &tz) < 0) {
		char low[80];
		size_t i, n = d->zonelen < sizeof(low) - 1 ? d->zonelen
							   : sizeof(low) - 1;

		/* PostgreSQL reports the name folded to lower case */
		for (i = 0; i < n; i++)
			low[i] = (char)tolower((unsigned char)d->zone[i]);
		low[n] = '\0';
		rc = ss_err_set(err, SS_ERR_INPUT,
				"time zone \"%s\" not recognized", low);
	} else if (with_tz && d->has_date && d->year >= -4713 &&
		   d->year <= 294277) {
		/* (outside those years date2j would overflow; the value is
		 * refused as out of range after this) */
		int64_t local =
		    (int64_t)(ss_w_date2j(d->year, d->mon, d->mday) - 2440588) *
			86400 +
		    d->time_us / 1000000;

		if (ss_w_tz_local_offset(&tz, local, off) < 0)
			rc = ss_err_set(err, SS_ERR_INPUT,
					"time zone \"%.*s\" is only supported "
					"up to 2037",
					(int)d->zonelen, d->zone);
	}
	ss_w_arena_free(&a);
	return rc;
}

static int ts_from_dt(const struct dt *d, int with_tz, int64_t *out)
{
	int jd;
	int64_t t;

	if (d->year < -4713 || (d->year == -4713 && d->mon < 11) ||
	    d->year > 294277)
		return -1;
	jd = ss_w_date2j(d->year, d->mon, d->mday);
	t = (int64_t)(jd - POSTGRES_EPOCH_JDATE) * USECS_PER_DAY + d->time_us;
	if (with_tz && d->has_tz)
		t -= (int64_t)d->tz_sec * 1000000;
	if (t < MIN_TIMESTAMP || t >= END_TIMESTAMP)
		return -1;
	*out = t;
	return 0;
}

int ss_w_ts_in(int with_tz, const char *s, size_t len, int64_t *out,
	       struct ss_err *err)
{
	struct dt d;
	int r = dt_parse(s, len, 1, &d);
	const char *tn = with_tz ? "timestamp with time zone" : "timestamp";

	if (r == 0 && d.special) {
		*out = d.special == 1	 ? TS_NOEND
		       : d.special == -1 ? TS_NOBEGIN
					 : 0 - INT64_C(946684800000000);
		return 0;
	}
	if (r == 0 && !d.has_date)
		r = -1;
	if (r < 0)
		return dt_err(r, tn, s, len, err);
	if (d.zone) {
		int32_t off;

		if (dt_zone(&d, with_tz, &off, err) < 0)
			return -1;
		d.tz_sec = off;
	}
	if (ts_from_dt(&d, with_tz, out) < 0)
		return ss_err_set(err, SS_ERR_INPUT,
				  "timestamp out of range: \"%.*s\"", (int)len,
				  s);
	return 0;
}

int ss_w_time_in(const char *s, size_t len, int64_t *out, struct ss_err *err)
{
	struct dt d;
	int r = dt_parse(s, len, 0, &d);

	if (r == -1) {
		/* PostgreSQL also accepts a full timestamp for time. */
		r = dt_parse(s, len, 1, &d);
		if (r == 0 && d.special)
			r = -1;
	}
	if (r == 0 && (d.special || !d.has_time))
		r = -1;
	/* a zone name needs a date to mean anything: not for time */
	if (r == 0 && d.zone)
		r = -1;
	if (r < 0)
		return dt_err(r, "time", s, len, err);
	*out = d.time_us;
	return 0;
}

static void fmt_date(int64_t days, struct ss_buf *out)
{
	int y, m, d;

	if (days == DATE_NOBEGIN) {
		ss_buf_adds(out, "-infinity");
		return;
	}
	if (days == DATE_NOEND) {
		ss_buf_adds(out, "infinity");
		return;
	}
	ss_w_j2date((int)(days + POSTGRES_EPOCH_JDATE), &y, &m, &d);
	ss_buf_addf(out, "%04d-%02d-%02d", y > 0 ? y : 1 - y, m, d);
}

static void fmt_secs(int64_t us, struct ss_buf *out)
{
	/* "ss[.ffffff]" with trailing zeros trimmed. */
	int64_t sec = us / 1000000, frac = us % 1000000;

	ss_buf_addf(out, "%02lld", (long long)sec);
	if (frac) {
		char f[8];
		int k;

		snprintf(f, sizeof(f), "%06lld", (long long)frac);
		for (k = 6; k > 0 && f[k - 1] == '0'; k--)
			;
		f[k] = '\0';
		ss_buf_addf(out, ".%s", f);
	}
}

void ss_w_fmt_time(int64_t us, struct ss_buf *out)
{
	ss_buf_addf(out, "%02lld:%02lld:", (long long)(us / 3600000000),
		    (long long)(us / 60000000 % 60));
	fmt_secs(us % 60000000, out);
}

void ss_w_fmt_ts(int64_t t, int with_tz, struct ss_buf *out)
{
	int64_t days, tod;
	int y, m, d;

	if (t == TS_NOBEGIN) {
		ss_buf_adds(out, "-infinity");
		return;
	}
	if (t == TS_NOEND) {
		ss_buf_adds(out, "infinity");
		return;
	}
	days = t / USECS_PER_DAY;
	tod = t % USECS_PER_DAY;
	if (tod < 0) {
		tod += USECS_PER_DAY;
		days--;
	}
	ss_w_j2date((int)(days + POSTGRES_EPOCH_JDATE), &y, &m, &d);
	ss_buf_addf(out, "%04d-%02d-%02d ", y > 0 ? y : 1 - y, m, d);
	ss_w_fmt_time(tod, out);
	if (with_tz)
		ss_buf_adds(out, "+00");
	if (y <= 0)
		ss_buf_adds(out, " BC");
}

void ss_w_fmt_date_bc(int64_t days, struct ss_buf *out)
{
	int y, m, d;

	fmt_date(days, out);
	if (days != DATE_NOBEGIN && days != DATE_NOEND) {
		ss_w_j2date((int)(days + POSTGRES_EPOCH_JDATE), &y, &m, &d);
		if (y <= 0)
			ss_buf_adds(out, " BC");
	}
}

/* Interval input, PostgreSQL "postgres" style and ISO 8601 durations
 * are common; we take "[@] {[+-]n[.f] unit | [+-]hh:mm[:ss]}... [ago]". */
int ss_w_interval_in(const char *s, size_t len, struct interval *out,
		     struct ss_err *err)
{
	const char *p = s, *end = s + len;
	double month = 0, day = 0, us = 0;
	int any = 0, first = 1;

	while (p < end && isspace((unsigned char)*p))
		p++;
	if (end - p >= 2 && (*p == 'P' || *p == 'p') &&
	    (isdigit((unsigned char)p[1]) || p[1] == 'T' || p[1] == 't' ||
	     p[1] == '-' || p[1] == '.')) {
		/* ISO 8601 duration: P1Y2M3W4DT5H6M7.5S */
		int in_time = 0;

		p++;
		while (p < end && !isspace((unsigned char)*p)) {
			struct ss_buf nb = SS_BUF_INIT;
			char *ep;
			int ok;
			double v;

			if (*p == 'T' || *p == 't') {
				if (in_time)
					goto bad;
				in_time = 1;
				p++;
				continue;
			}
			while (p < end && (isdigit((unsigned char)*p) ||
					   *p == '.' || *p == '-' || *p == '+'))
				ss_buf_addc(&nb, *p++);
			v = strtod(nb.buf, &ep);
			ok = nb.len > 0 && !*ep && p < end;
			ss_buf_release(&nb);
			if (!ok)
				goto bad;
			switch (toupper((unsigned char)*p)) {
			case 'Y':
				if (in_time)
					goto bad;
				/* a fraction of a year: whole months */
				month +=
				    trunc(v) * 12 + rint((v - trunc(v)) * 12);
				break;
			case 'M':
				if (in_time)
					us += v * 60e6;
				else
					month += v;
				break;
			case 'W':
				if (in_time)
					goto bad;
				day += v * 7;
				break;
			case 'D':
				if (in_time)
					goto bad;
				day += v;
				break;
			case 'H':
				if (!in_time)
					goto bad;
				us += v * 3600e6;
				break;
			case 'S':
				if (!in_time)
					goto bad;
				us += v * 1e6;
				break;
			default:
				goto bad;
			}
			p++;
			any = 1;
		}
		while (p < end && isspace((unsigned char)*p))
			p++;
		if (p != end)
			goto bad;
		p = end;
	}
	while (p < end) {
		const char *numstart;
		int neg = 0;
		double v, fv;
		char unit[16];
		size_t ul = 0;

		while (p < end && isspace((unsigned char)*p))
			p++;
		if (p == end)
			break;
		if (*p == '@' && first) {
			p++;
			first = 0;
			continue;
		}
		first = 0;
		if (end - p >= 3 && strncasecmp(p, "ago", 3) == 0 &&
		    (end - p == 3 || isspace((unsigned char)p[3]))) {
			month = -month;
			day = -day;
			us = -us;
			p += 3;
			continue;
		}
		numstart = p;
		if (*p == '+' || *p == '-') {
			neg = *p == '-';
			p++;
		}
		if (p >= end || !(isdigit((unsigned char)*p) ||
				  (*p == '.' && p + 1 < end &&
				   isdigit((unsigned char)p[1]))))
			goto bad;
		{
			const char *q = p;

			while (q < end && isdigit((unsigned char)*q))
				q++;
			if (q < end && *q == ':') {
				int64_t t;
				int h, m, sec = 0;
				const char *r = p;

				if (ss_w_rd_int(&r, end, 9, &h) < 0 ||
				    *r != ':')
					goto bad;
				r++;
				if (ss_w_rd_int(&r, end, 2, &m) < 0)
					goto bad;
				t = ((int64_t)h * 3600 + m * 60) * 1000000;
				if (r < end && *r == ':') {
					r++;
					if (ss_w_rd_int(&r, end, 2, &sec) < 0)
						goto bad;
					t += (int64_t)sec * 1000000;
					if (r < end && *r == '.') {
						double f = 0, sc = 0.1;

						r++;
						while (r < end &&
						       isdigit(
							   (unsigned char)*r)) {
							f += (*r - '0') * sc;
							sc /= 10;
							r++;
						}
						t += (int64_t)rint(f * 1e6);
					}
				}
				if (m > 59 || sec > 59)
					goto oorange;
				us += neg ? -(double)t : (double)t;
				p = r;
				any = 1;
				continue;
			}
		}
		{
			/* The whole number, however long (a fixed buffer
			 * cut it, and its tail read as more seconds). */
			struct ss_buf nb = SS_BUF_INIT;
			const char *dot;
			char *ep;
			int ok;

			p = numstart;
			while (p < end && (isdigit((unsigned char)*p) ||
					   *p == '.' || *p == '+' || *p == '-'))
				ss_buf_addc(&nb, *p++);
			v = strtod(nb.buf, &ep);
			ok = nb.len > 0 && !*ep;
			/* The fraction on its own, as PostgreSQL reads it
			 * for the year units. */
			dot = strchr(nb.buf, '.');
			fv = ok && dot ? strtod(dot, NULL) : 0;
			if (nb.buf[0] == '-')
				fv = -fv;
			ss_buf_release(&nb);
			if (!ok)
				goto bad;
		}
		while (p < end && isspace((unsigned char)*p))
			p++;
		while (p < end && isalpha((unsigned char)*p) &&
		       ul < sizeof(unit) - 1)
			unit[ul++] = (char)tolower((unsigned char)*p++);
		unit[ul] = '\0';
		if (p < end && isalpha((unsigned char)*p))
			goto bad;
		any = 1;
#define U(name) (strcmp(unit, name) == 0)
		if (ul == 0 || U("s") || U("sec") || U("secs") || U("second") ||
		    U("seconds"))
			us += v * 1e6;
		else if (U("us") || U("usec") || U("usecs") ||
			 U("microsecond") || U("microseconds"))
			us += v;
		else if (U("ms") || U("msec") || U("msecs") ||
			 U("millisecond") || U("milliseconds"))
			us += v * 1e3;
		else if (U("m") || U("min") || U("mins") || U("minute") ||
			 U("minutes"))
			us += v * 60e6;
		else if (U("h") || U("hr") || U("hrs") || U("hour") ||
			 U("hours"))
			us += v * 3600e6;
		else if (U("d") || U("day") || U("days"))
			day += v;
		else if (U("w") || U("week") || U("weeks"))
			day += v * 7;
		else if (U("mon") || U("mons") || U("month") || U("months"))
			month += v;
		/* A fraction of a year unit becomes whole months, rounded
		 * (rint, as PostgreSQL's DecodeInterval), never days. */
		else if (U("y") || U("yr") || U("yrs") || U("year") ||
			 U("years"))
			month += trunc(v) * 12 + rint(fv * 12);
		else if (U("decade") || U("decades"))
			month += trunc(v) * 120 + rint(fv * 120);
		else if (U("century") || U("centuries"))
			month += trunc(v) * 1200 + rint(fv * 1200);
		else if (U("millennium") || U("millennia") || U("millenniums"))
			month += trunc(v) * 12000 + rint(fv * 12000);
		else
			goto bad;
#undef U
	}
	if (!any)
		goto bad;
	{
		/* Fractions cascade down: months to days (30), days to
		 * time (24h), as PostgreSQL's AdjustFract* do. */
		double mi = trunc(month), di;

		day += (month - mi) * 30;
		di = trunc(day);
		us += (day - di) * 86400e6;
		if (fabs(mi) > INT32_MAX || fabs(di) > INT32_MAX ||
		    fabs(us) > 9.2e18)
			goto oorange;
		out->month = (int32_t)mi;
		out->day = (int32_t)di;
		out->us = (int64_t)rint(us);
	}
	return 0;
oorange:
	return ss_err_set(err, SS_ERR_INPUT,
			  "interval field value out of range: \"%.*s\"",
			  (int)len, s);
bad:
	return ss_err_set(err, SS_ERR_INPUT,
			  "invalid input syntax for type interval: \"%.*s\"",
			  (int)len, s);
}

static void iv_part(struct ss_buf *out, int64_t v, const char *unit,
		    int *is_zero, int *is_before)
{
	if (v == 0)
		return;
	ss_buf_addf(out, "%s%s%lld %s%s", *is_zero ? "" : " ",
		    (*is_before && v > 0) ? "+" : "", (long long)v, unit,
		    v != 1 ? "s" : "");
	*is_before = v < 0;
	*is_zero = 0;
}

void ss_w_interval_out(const struct interval *iv, struct ss_buf *out)
{
	int is_zero = 1, is_before = 0;
	int64_t t = iv->us;
	int64_t hour = t / 3600000000, rem = t % 3600000000;
	int64_t min = rem / 60000000, usec = rem % 60000000;

	iv_part(out, iv->month / 12, "year", &is_zero, &is_before);
	iv_part(out, iv->month % 12, "mon", &is_zero, &is_before);
	iv_part(out, iv->day, "day", &is_zero, &is_before);
	if (is_zero || t != 0) {
		int minus = t < 0;

		ss_buf_addf(out, "%s%s%02lld:%02lld:", is_zero ? "" : " ",
			    minus ? "-" : (is_before ? "+" : ""),
			    (long long)(hour < 0 ? -hour : hour),
			    (long long)(min < 0 ? -min : min));
		fmt_secs(usec < 0 ? -usec : usec, out);
	}
}

__int128 ss_w_interval_span(const struct interval *iv)
{
	return ((__int128)iv->month * 30 + iv->day) * USECS_PER_DAY + iv->us;
}

/* timestamp + interval (months first, clamping the day, then days, then
 * time), as timestamp_pl_interval. Returns -1 when out of range. */
int ss_w_ts_add_iv(int64_t t, const struct interval *iv, int sign, int64_t *out)
{
	if (t == TS_NOBEGIN || t == TS_NOEND) {
		*out = t;
		return 0;
	}
	if (iv->month) {
		int64_t days = t / USECS_PER_DAY, tod = t % USECS_PER_DAY;
		int y, m, d;
		int64_t mm;

		if (tod < 0) {
			tod += USECS_PER_DAY;
			days--;
		}
		ss_w_j2date((int)(days + POSTGRES_EPOCH_JDATE), &y, &m, &d);
		mm = (int64_t)y * 12 + (m - 1) + (int64_t)sign * iv->month;
		y = (int)(mm >= 0 ? mm / 12 : -((-mm + 11) / 12));
		m = (int)(mm - (int64_t)y * 12) + 1;
		if (y < -4713 || y > 294277)
			return -1;
		if (d > ss_w_days_in_month(y, m))
			d = ss_w_days_in_month(y, m);
		t = (int64_t)(ss_w_date2j(y, m, d) - POSTGRES_EPOCH_JDATE) *
			USECS_PER_DAY +
		    tod;
	}
	if (iv->day) {
		int64_t days = t / USECS_PER_DAY, tod = t % USECS_PER_DAY;
		int y, m, d;

		if (tod < 0) {
			tod += USECS_PER_DAY;
			days--;
		}
		ss_w_j2date((int)(days + POSTGRES_EPOCH_JDATE), &y, &m, &d);
		days = ss_w_date2j(y, m, d) + (int64_t)sign * iv->day -
		       POSTGRES_EPOCH_JDATE;
		t = days * USECS_PER_DAY + tod;
	}
	if (__builtin_add_overflow(t, (int64_t)sign * iv->us, &t))
		return -1;
	if (t < MIN_TIMESTAMP || t >= END_TIMESTAMP)
		return -1;
	*out = t;
	return 0;
}
