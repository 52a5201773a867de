/*
 * test-view.c — lib/view: counts and moves, PostgreSQL's equality, SQL's
 * IN with NULLs on either side, and a random run against a brute-force
 * model of `(a, b) IN (SELECT ...)`.
 */
#include "unit.h"
#include "view.h"

static struct ss_view *two; /* the view of two columns being tested */

/* (a) IN v, or (a, b) IN v for a view of two columns. */
static int member(struct ss_view *v, const char *a, const char *b)
{
	const char *vals[2] = {a, b};
	int r = 7;
	struct ss_err err = SS_ERR_INIT;

	if (ss_view_member(v, vals, v == two ? 2 : 1, &r, &err) < 0)
		fprintf(stderr, "member: %s\n", err.msg);
	return r;
}

static int add(struct ss_view *v, const char *a, const char *b, int delta)
{
	const char *vals[2] = {a, b};
	int moved = 7;
	struct ss_err err = SS_ERR_INIT;

	if (ss_view_add(v, vals, delta, &moved, &err) < 0)
		return err.msg[0] ? 9 : 8;
	return moved;
}

static int count_each(void *ctx, const char *const *vals)
{
	(void)vals;
	++*(int *)ctx;
	return 0;
}

static void test_single(void)
{
	static const char *const t[] = {"int4"};
	struct ss_view *v = ss_view_new(1, t);
	const char *vals[1];
	int moved, n = 0;
	struct ss_err err = SS_ERR_INIT;

	CHECK(member(v, "7", NULL) == 0);
	CHECK(add(v, "7", NULL, 1) == 1);
	CHECK(add(v, "7", NULL, 1) == 0);
	CHECK(add(v, "08", NULL, 1) == 1); /* int4 '08' = 8 */
	CHECK(ss_view_rows(v) == 3 && ss_view_values(v) == 2);
	CHECK(member(v, "7", NULL) == 1 && member(v, "8", NULL) == 1);
	CHECK(member(v, "9", NULL) == 0);
	/* NULL IN (non-empty) is unknown */
	vals[0] = NULL;
	CHECK(ss_view_member(v, vals, 1, &moved, &err) == 0 && moved == -1);
	CHECK(add(v, "7", NULL, -1) == 0 && member(v, "7", NULL) == 1);
	CHECK(add(v, "7", NULL, -1) == -1 && member(v, "7", NULL) == 0);
	CHECK(add(v, "7", NULL, -1) == 9); /* never in it */
	/* a NULL row: IN is unknown for any value not in the view */
	vals[0] = NULL;
	CHECK(ss_view_add(v, vals, 1, &moved, &err) == 0 && moved == 1);
	CHECK(ss_view_null_rows(v) == 1);
	CHECK(member(v, "8", NULL) == 1 && member(v, "9", NULL) == -1);
	CHECK(ss_view_add(v, vals, -1, &moved, &err) == 0 && moved == -1);
	CHECK(member(v, "9", NULL) == 0);
	ss_view_each(v, count_each, &n);
	CHECK(n == 1);
	/* a value that is not an int4 */
	vals[0] = "x";
	CHECK(ss_view_add(v, vals, 1, &moved, &err) < 0 && err.msg[0]);
	CHECK(ss_view_member(v, vals, 1, &moved, &err) < 0);
	CHECK(ss_view_member(v, vals, 2, &moved, &err) < 0);
	ss_view_free(v);
	/* numeric: 1.50 = 1.5; bpchar ignores trailing blanks; the text
	 * first counted is the one kept */
	{
		static const char *const nt[] = {"numeric"};
		static const char *const bt[] = {"bpchar"};
		struct ss_view *nv = ss_view_new(1, nt),
			       *bv = ss_view_new(1, bt);

		CHECK(add(nv, "1.50", NULL, 1) == 1 &&
		      add(nv, "1.5", NULL, 1) == 0);
		CHECK(member(nv, "1.500", NULL) == 1);
		CHECK(add(bv, "ab  ", NULL, 1) == 1 &&
		      member(bv, "ab", NULL) == 1);
		ss_view_free(nv);
		ss_view_free(bv);
	}
	/* an enum compares its labels' text */
	{
		static const char *const et[] = {"mood"};
		struct ss_view *ev = ss_view_new(1, et);

		CHECK(add(ev, "happy", NULL, 1) == 1);
		CHECK(member(ev, "happy", NULL) == 1 &&
		      member(ev, "sad", NULL) == 0);
		ss_view_free(ev);
	}
}

static void test_composite(void)
{
	static const char *const t[] = {"int4", "text"};
	struct ss_view *v = ss_view_new(2, t);

	two = v;
	CHECK(add(v, "1", "a", 1) == 1 && add(v, "2", NULL, 1) == 1);
	CHECK(member(v, "1", "a") == 1);
	CHECK(member(v, "2", "b") == -1); /* (2, NULL) might be (2, b) */
	CHECK(member(v, "3", "b") == 0);
	CHECK(member(v, "1", NULL) == -1); /* might be (1, a) */
	{
		const char *vals[2] = {"3", NULL};
		int r;
		struct ss_err err = SS_ERR_INIT;

		CHECK(ss_view_member(v, vals, 2, &r, &err) == 0 && r == 0);
		vals[0] = NULL;
		CHECK(ss_view_member(v, vals, 2, &r, &err) == 0 && r == -1);
	}
	CHECK(add(v, "2", NULL, -1) == -1 && member(v, "2", "b") == 0);
	ss_view_free(v);
}

/* Random adds and removes over a small domain with NULLs, against SQL's
 * IN computed row by row. */
static void test_random(void)
{
	static const char *const t[] = {"int4", "int4"};
	static const char *const dom[] = {NULL, "1", "2", "3"};
	struct ss_view *v = ss_view_new(2, t);
	int counts[4][4];
	int i, a, b, x, y;

	memset(counts, 0, sizeof(counts));
	for (i = 0; i < 20000; i++) {
		a = (int)(unit_rnd() % 4);
		b = (int)(unit_rnd() % 4);
		if (unit_rnd() % 2 || counts[a][b] == 0) {
			int m = add(v, dom[a], dom[b], 1);

			CHECK(m == (counts[a][b] == 0 ? 1 : 0));
			counts[a][b]++;
		} else {
			int m = add(v, dom[a], dom[b], -1);

			CHECK(m == (counts[a][b] == 1 ? -1 : 0));
			counts[a][b]--;
		}
		for (x = 0; x < 4; x++)
			for (y = 0; y < 4; y++) {
				int want = 0, p, q;
				const char *vals[2] = {dom[x], dom[y]};
				int r;
				struct ss_err err = SS_ERR_INIT;

				for (p = 0; p < 4; p++)
					for (q = 0; q < 4; q++) {
						int e1, e2, eq;

						if (!counts[p][q])
							continue;
						e1 = (!x || !p) ? -1 : x == p;
						e2 = (!y || !q) ? -1 : y == q;
						eq = (!e1 || !e2)	  ? 0
						     : (e1 < 0 || e2 < 0) ? -1
									  : 1;
						if (eq == 1)
							want = 1;
						else if (eq < 0 && want == 0)
							want = -1;
					}
				CHECK(ss_view_member(v, vals, 2, &r, &err) ==
					  0 &&
				      r == want);
			}
	}
	ss_view_free(v);
}

/* The elements of a one-dimensional array literal, sorted, "|"-joined. */
static void sorted_elems(const char *arr, char *out, size_t size)
{
	char buf[256], *el[32], *p, *save = NULL;
	size_t n = 0, i, j;

	snprintf(buf, sizeof(buf), "%s", arr + 1);
	buf[strlen(buf) - 1] = 0; /* the braces */
	for (p = strtok_r(buf, ",", &save); p && n < 32;
	     p = strtok_r(NULL, ",", &save))
		el[n++] = p;
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && strcmp(el[j - 1], el[j]) > 0; j--) {
			char *t = el[j];

			el[j] = el[j - 1];
			el[j - 1] = t;
		}
	out[0] = 0;
	for (i = 0; i < n; i++)
		snprintf(out + strlen(out), size - strlen(out), "%s%s",
			 i ? "|" : "", el[i]);
}

/* ss_view_arrays_adjusted: the rows of v less minus's, plus plus's new
 * ones, row k of every array one row. */
static void test_arrays(void)
{
	const char *types[2] = {"int4", "text"};
	struct ss_view *v = ss_view_new(1, types), *mi = ss_view_new(1, types),
		       *pl = ss_view_new(1, types), *v2 = ss_view_new(2, types);
	struct ss_buf cols[2] = {SS_BUF_INIT, SS_BUF_INIT};
	char got[256];

	add(v, "1", NULL, 1);
	add(v, "2", NULL, 1);
	add(v, "2", NULL, 1);
	add(v, "3", NULL, 1);
	add(v, NULL, NULL, 1);
	add(mi, "2", NULL, 1);
	add(pl, "03", NULL, 1); /* equal to 3: already in */
	add(pl, "4", NULL, 1);
	ss_view_arrays_adjusted(v, mi, pl, cols);
	sorted_elems(cols[0].buf, got, sizeof(got));
	CHECK_STR(got, "\"1\"|\"3\"|\"4\"|NULL");
	ss_view_arrays_adjusted(v, NULL, NULL, cols);
	sorted_elems(cols[0].buf, got, sizeof(got));
	CHECK_STR(got, "\"1\"|\"2\"|\"3\"|NULL");
	ss_view_arrays_adjusted(v, v, NULL, cols);
	CHECK_STR(cols[0].buf, "{}");
	/* two columns: rows stay rows */
	two = v2;
	add(v2, "5", "a\"b", 1);
	add(v2, "6", NULL, 1);
	ss_view_arrays_adjusted(v2, NULL, NULL, cols);
	CHECK(!strcmp(cols[0].buf, "{\"5\",\"6\"}")
		  ? !strcmp(cols[1].buf, "{\"a\\\"b\",NULL}")
		  : !strcmp(cols[0].buf, "{\"6\",\"5\"}") &&
			!strcmp(cols[1].buf, "{NULL,\"a\\\"b\"}"));
	two = NULL;
	ss_buf_release(&cols[0]);
	ss_buf_release(&cols[1]);
	ss_view_free(v);
	ss_view_free(mi);
	ss_view_free(pl);
	ss_view_free(v2);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		unit_seed(strtoull(argv[1], NULL, 10));
	test_single();
	test_composite();
	test_random();
	test_arrays();
	return unit_report();
}
