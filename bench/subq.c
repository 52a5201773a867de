/*
 * bench/subq.c — routing rate of subquery shapes next to plain `=`
 * shapes, in one process and one run (issue 14: "routing stays flat in the
 * number of shapes"). For each count K it builds a router (lib/route) with
 *   eq     K shapes  project_id = i
 *   subq   K shapes  project_id IN (SELECT id FROM projects WHERE owner = i)
 *          each with its own inner shape, whose view holds 3 projects
 *          (3i, 3i+1, 3i+2): filed under their views (the routing index)
 *   eval   the same with "OR title = 'never'": no index, every shape's
 *          clause evaluated against its view for every change
 * and times ss_router_match over N task inserts whose project_id is drawn
 * so that each matches exactly one shape of the form, whatever K is.
 * Prints "form K changes/s" lines: main-thread CPU time of the matching
 * only (building the router and loading the views excluded).
 *
 * Usage: subq K N [FORMS]   (FORMS: eq,subq,eval; default all)
 */
#include <inttypes.h>
#include <time.h>

#include "route.h"
#include "subq.h"

static void die(const char *what, const struct ss_err *err)
{
	fprintf(stderr, "bench-subq: %s: %s\n", what, err ? err->msg : "");
	exit(1);
}

static void on_invalidate(uint32_t oid, const int64_t *ids, size_t n,
			  const char *reason, void *ctx)
{
	(void)oid, (void)ids, (void)n, (void)ctx;
	fprintf(stderr, "bench-subq: invalidated: %s\n", reason);
	exit(1);
}

static void relation(struct ss_router *r, uint32_t oid, const char *table,
		     const char *const *names, const char *const *types,
		     const uint32_t *toids, size_t n)
{
	struct ss_frame f = SS_FRAME_INIT;
	struct ss_err err = SS_ERR_INIT;
	json_t *j = ss_frame_new_relation(oid, "public", table, 'f');
	size_t i;

	for (i = 0; i < n; i++)
		ss_frame_add_column(j, names[i], types[i], toids[i], -1,
				    i == 0);
	if (ss_frame_decode(&f, j, &err) < 0 ||
	    ss_router_relation(r, &f, &err) < 0)
		die("relation", &err);
	json_decref(j);
	ss_frame_release(&f);
}

static void shape_def(struct ss_shape *d, const char *table, const char *where,
		      const char *column)
{
	ss_shape_init(d);
	d->schema = ss_xstrdup("public");
	d->table = ss_xstrdup(table);
	ss_shape_set_where(d, where);
	if (column) {
		d->columns = ss_xcalloc(1, sizeof(char *));
		d->columns[0] = ss_xstrdup(column);
		d->ncolumns = 1;
	}
}

#define TABLES                                                                 \
	"\"tables\":[{\"schema\":\"public\",\"table\":\"tasks\",\"columns\":"  \
	"[[\"id\",\"int4\"],[\"project_id\",\"int4\"],[\"title\",\"text\"]]}," \
	"{\"schema\":\"public\",\"table\":\"projects\",\"columns\":[[\"id\","  \
	"\"int4\"],[\"owner\",\"int4\"]]}]"

static int64_t thread_cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static uint64_t rng = 88172645463325252ull;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void run(const char *form, long k, long n)
{
	static const char *const pnames[] = {"id", "owner"},
				 *const ptypes[] = {"int4", "int4"},
				 *const tnames[] = {"id", "project_id",
						    "title"},
				 *const ttypes[] = {"int4", "int4", "text"};
	static const uint32_t poids[] = {23, 23}, toids[] = {23, 23, 25};
	struct ss_router *r = ss_router_new(on_invalidate, NULL);
	struct ss_subq *q = ss_subq_new(SS_SUBQ_STACK_ID);
	static const struct ss_pg_snapshot nosnap;
	struct ss_err err = SS_ERR_INIT;
	struct ss_route_match m;
	int sub = strcmp(form, "eq") != 0;
	char where[160], deps[600], pid[24], idbuf[24];
	const char *row[3] = {idbuf, pid, "t"};
	uint64_t matched = 0;
	int64_t t0;
	long i;

	ss_router_set_subq(r, q);
	for (i = 0; i < k; i++) {
		struct ss_shape d;

		if (!sub) {
			snprintf(where, sizeof(where), "project_id = %ld", i);
			shape_def(&d, "tasks", where, NULL);
			if (ss_router_add(r, i + 1, &d, &err) < 0)
				die("add", &err);
			ss_shape_release(&d);
			continue;
		}
		snprintf(where, sizeof(where), "owner = %ld", i);
		shape_def(&d, "projects", where, "id");
		if (ss_router_add(r, 1000000 + i, &d, &err) < 0)
			die("add inner", &err);
		ss_shape_release(&d);
		snprintf(where, sizeof(where),
			 "project_id IN (SELECT id FROM public.projects WHERE "
			 "owner = %ld)%s",
			 i, !strcmp(form, "eval") ? " OR title = 'never'" : "");
		snprintf(deps, sizeof(deps), "{\"inner\":[%ld]," TABLES "}",
			 1000000 + i);
		shape_def(&d, "tasks", where, NULL);
		if (ss_router_add_subquery(r, i + 1, &d, "1-1", deps, &err) < 0)
			die("add outer", &err);
		ss_shape_release(&d);
	}
	relation(r, 100, "projects", pnames, ptypes, poids, 2);
	relation(r, 200, "tasks", tnames, ttypes, toids, 3);
	for (i = 0; sub && i < k; i++) {
		long v;

		for (v = 3 * i; v < 3 * i + 3; v++) {
			char b[24];
			const char *vals[1] = {b};

			snprintf(b, sizeof(b), "%ld", v);
			if (ss_subq_load(q, 1000000 + i, vals, 1, &err) < 0)
				die("load", &err);
		}
		if (ss_subq_loaded(q, 1000000 + i, 0, &nosnap, &err) < 0)
			die("loaded", &err);
	}
	t0 = thread_cpu_us();
	for (i = 0; i < n; i++) {
		uint64_t x = next();

		snprintf(idbuf, sizeof(idbuf), "%ld", i);
		snprintf(pid, sizeof(pid), "%" PRIu64,
			 sub ? x % (uint64_t)(3 * k) : x % (uint64_t)k);
		ss_router_match(r, 200, SS_FRAME_OP_INSERT, row, NULL, &m);
		matched += m.n;
	}
	t0 = thread_cpu_us() - t0;
	if (matched != (uint64_t)n)
		fprintf(stderr,
			"bench-subq: %s %ld: %" PRIu64
			" matches for %ld changes\n",
			form, k, matched, n);
	printf("%s %ld %.0f\n", form, k,
	       t0 > 0 ? (double)n * 1e6 / (double)t0 : 0.0);
	ss_router_free(r);
	ss_subq_free(q);
}

int main(int argc, char **argv)
{
	long k, n;
	const char *forms = argc > 3 ? argv[3] : "eq,subq,eval";

	if (argc < 3) {
		fprintf(stderr, "usage: subq K N [eq,subq,eval]\n");
		return 2;
	}
	k = atol(argv[1]);
	n = atol(argv[2]);
	if (k < 1 || n < 1)
		die("K and N must be positive", NULL);
	if (strstr(forms, "eq"))
		run("eq", k, n);
	if (strstr(forms, "subq"))
		run("subq", k, n);
	if (strstr(forms, "eval"))
		run("eval", k, n);
	return 0;
}
