/*
 * test-route.c — differential test of lib/route: for generated shapes
 * (every indexable form, with AND, OR, IN, ranges, containment, $n) and
 * generated rows (NULLs, non-canonical spellings, NaN, infinities, values
 * that do not parse), the router's tags for inserts, deletes and updates
 * must equal evaluating each shape's where clause with lib/where directly.
 * Usage: test-route [SEED [ROWS]]
 */
#include <inttypes.h>

#include "route.h"
#include "unit.h"
#include "where.h"

static const char *pick(const char *const *v, size_t n)
{
	return v[unit_rnd() % n];
}
#define PICK(a) pick(a, sizeof(a) / sizeof(a[0]))

static const struct ss_frame_column cols[] = {
    {"id", "int4", 23, -1, 1, -1},     {"n", "int4", 23, -1, 0, -1},
    {"b", "int8", 20, -1, 0, -1},      {"amt", "numeric", 1700, -1, 0, -1},
    {"f", "float8", 701, -1, 0, -1},   {"s", "text", 25, -1, 0, -1},
    {"v", "varchar", 1043, 84, 0, -1}, {"c", "bpchar", 1042, 8, 0, -1},
    {"u", "uuid", 2950, -1, 0, -1},    {"tags", "_int4", 1007, -1, 0, -1},
    {"tt", "_text", 1009, -1, 0, -1},  {"st", "mood", 16390, -1, 0, -1},
};
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

/* Row values per column, NULL included; some are not canonical or not
 * valid at all, to reach the key fallbacks. */
static const char *const v_int[] = {
    NULL, "-1",		"0",  "1",    "2",	  "3",	 "01",
    "-0", "2147483647", "x",  "0x10", "Infinity", "NaN", "99999999999",
    " 5", "2 ",		"+3", "1.0",  "1e1"};
static const char *const v_big[] = {NULL,	  "1",		 "2",
				    "3000000000", "-3000000000", "002"};
static const char *const v_num[] = {
    NULL,	"1",	     "1.0", "1.50", "1.5",    "-0",  "0",
    "2.25",	"NaN",	     "1e2", "100",  "99.999", "abc", "1e400",
    "Infinity", "-Infinity", "inf", " 1",   "0x10",   ".5",  "5."};
static const char *const v_flt[] = {
    NULL,  "0",	       "-0",	    "1.5",   "1.50", "2",
    "NaN", "Infinity", "-Infinity", "1e308", "-2.5", "1e400",
    "inf", "-inf",     "nan",	    " 2",    "0x10", "1e-400"};
static const char *const v_txt[] = {NULL, "",  "a",   "ab",	 "abc",
				    "b",  "A", "ab ", "\xc3\xa9"};
static const char *const v_chr[] = {NULL, "ab", "ab  ", "a", "b"};
static const char *const v_uid[] = {
    NULL,
    "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
    "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
    "b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12",
    "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
};
static const char *const v_arr[] = {
    NULL,	   "{}",       "{1}",	"{1,2}",
    "{3,1,2}",	   "{NULL,1}", "{2,2}", "{{1,2},{3,4}}",
    "[0:1]={1,2}", "{4}",      "{x}"};
static const char *const v_tarr[] = {
    NULL, "{}", "{a}", "{a,b}", "{\"a b\",c}", "{NULL}", "{\"NULL\"}", "{b}"};
static const char *const v_mood[] = {NULL, "happy", "sad", "ok"};

static void gen_row(const char **row)
{
	row[0] = PICK(v_int);
	row[1] = PICK(v_int);
	row[2] = PICK(v_big);
	row[3] = PICK(v_num);
	row[4] = PICK(v_flt);
	row[5] = PICK(v_txt);
	row[6] = PICK(v_txt);
	row[7] = PICK(v_chr);
	row[8] = PICK(v_uid);
	row[9] = PICK(v_arr);
	row[10] = PICK(v_tarr);
	row[11] = PICK(v_mood);
}

/* Where templates: %I an int, %N a numeric, %F a float, %T a text. */
static const char *const templates[] = {
    "n = %I",
    "%I = n",
    "n IN (%I, %I, %I)",
    "n IN (%I, NULL)",
    "b = %I",
    "b = 3000000000",
    "n = 3000000000",
    "amt = %N",
    "amt IN (%N, %N)",
    "n = %N",
    "f = %F",
    "f IN (%F, %F)",
    "s = %T",
    "v = %T",
    "c = %T",
    "s IN (%T, %T)",
    "v IN (%T, %T)",
    "u = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'",
    "u IN ('A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', "
    "'b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12')",
    "st = 'happy'",
    "st IN ('sad', 'ok')",
    "n > %I",
    "n >= %I",
    "n < %I",
    "n <= %I",
    "%I < n",
    "amt > %N",
    "amt <= %N",
    "f > %F",
    "f >= %F",
    "f < %F",
    "b > %I",
    "n BETWEEN %I AND %I",
    "n BETWEEN SYMMETRIC %I AND %I",
    "amt BETWEEN %N AND %N",
    "f BETWEEN %F AND %F",
    "n NOT BETWEEN %I AND %I",
    "tags @> '{1}'",
    "tags @> '{1,2}'",
    "'{2}' <@ tags",
    "tags @> '{}'",
    "tt @> '{a}'",
    "tt @> '{\"a b\"}'",
    "tt @> '{NULL}'",
    "%I = ANY(tags)",
    "s = %T AND n > %I",
    "n = %I AND amt < %N",
    "n IN (%I, %I) AND f > %F AND amt >= %N",
    "s = %T AND s LIKE 'a%'",
    "n = %I OR s = %T",
    "n = %I AND b = %I",
    "tags @> '{1}' AND n < %I",
    "n > %I AND n < %I",
    "amt > %N AND f <= %F",
    "NOT (n = %I)",
    "n IS NULL",
    "s IS NOT NULL AND n = %I",
    "lower(s) = %T",
    "n + 1 = %I",
    "n::text = '1'",
    "n = $1",
    "amt > $1",
    "s = $1",
    "n IN ($1, %I)",
    "amt / 0 > 1 AND n = %I",
    "n = %I AND amt / 0 > 1",
    NULL,
};
#define NTEMPLATES (sizeof(templates) / sizeof(templates[0]))

static const char *const c_int[] = {"-1", "0", "1", "2", "3", "01"};
static const char *const c_num[] = {"1",    "1.0",   "1.5", "'1.50'",
				    "2.25", "'NaN'", "100", "0"};
static const char *const c_flt[] = {
    "0", "'-0'", "1.5", "'NaN'", "'Infinity'", "'-Infinity'", "1e308", "2"};
static const char *const c_txt[] = {"''",  "'a'",    "'ab'",
				    "'b'", "'ab  '", "'A'"};
static const char *const p_any[] = {"1", "01", "1.5", "a", "2"};

static void gen_where(struct ss_buf *out, const char *t)
{
	ss_buf_reset(out);
	for (; *t; t++) {
		if (*t != '%' || !t[1] || !strchr("INFT", t[1])) {
			ss_buf_addc(out, *t);
			continue;
		}
		t++;
		ss_buf_adds(out, *t == 'I'   ? PICK(c_int)
				 : *t == 'N' ? PICK(c_num)
				 : *t == 'F' ? PICK(c_flt)
					     : PICK(c_txt));
	}
}

struct shape {
	int64_t id;
	struct ss_where *w; /* NULL: no where, or it did not compile */
	int has_where;
};

static int64_t invalidated[4096];
static size_t ninvalidated;

static void on_invalidate(uint32_t oid, const int64_t *ids, size_t n,
			  const char *reason, void *ctx)
{
	(void)oid, (void)reason, (void)ctx;
	while (n--)
		if (ninvalidated < 4096)
			invalidated[ninvalidated++] = *ids++;
}

static int direct(const struct shape *s, const char *const *row)
{
	struct ss_err err = SS_ERR_INIT;
	int r;

	if (!s->has_where)
		return 1;
	if (!s->w)
		return 0;
	if (ss_where_eval(s->w, row, &r, &err) < 0)
		return 0; /* route counts an evaluation error as no match */
	return r == 1;
}

int main(int argc, char **argv)
{
	struct ss_router *r = ss_router_new(on_invalidate, NULL);
	struct ss_where_column wcols[NCOLS];
	struct shape shapes[600];
	size_t nshapes = 0, i, k, rows = 20000;
	struct ss_buf where = SS_BUF_INIT;
	struct ss_frame rel = SS_FRAME_INIT;
	struct ss_route_match m;
	struct ss_err err = SS_ERR_INIT;
	uint64_t seed = 20261121, mismatches = 0, tagged = 0, moves = 0;

	if (argc > 1)
		seed = strtoull(argv[1], NULL, 10);
	if (argc > 2)
		rows = strtoul(argv[2], NULL, 10);
	unit_seed(seed);
	for (i = 0; i < NCOLS; i++) {
		wcols[i].name = cols[i].name;
		wcols[i].type = cols[i].type;
		wcols[i].is_enum = cols[i].type_oid >= 16384;
	}
	/* Half the shapes come before the relation, half after. */
	for (k = 0; k < 2; k++) {
		for (i = 0; i < 250; i++) {
			struct ss_shape def;
			struct shape *s = &shapes[nshapes];
			const char *t = templates[unit_rnd() % NTEMPLATES];
			const char *param = PICK(p_any);

			ss_shape_init(&def);
			def.schema = ss_xstrdup("public");
			def.table = ss_xstrdup("t");
			s->id = (int64_t)nshapes + 1;
			s->has_where = t != NULL;
			s->w = NULL;
			if (t) {
				gen_where(&where, t);
				ss_shape_set_where(&def, where.buf);
				if (strstr(t, "$1"))
					ss_shape_add_param(&def, param);
				if (ss_where_compile(
					where.buf, wcols, NCOLS,
					(const char *const *)def.params,
					def.nparams, &s->w, &err) < 0)
					s->w = NULL;
			}
			if (ss_router_add(r, s->id, &def, &err) < 0)
				FAILF("add: %s", err.msg);
			ss_shape_release(&def);
			nshapes++;
		}
		if (k == 0) {
			json_t *j =
			    ss_frame_new_relation(16384, "public", "t", 'f');

			for (i = 0; i < NCOLS; i++)
				ss_frame_add_column(j, cols[i].name,
						    cols[i].type,
						    cols[i].type_oid,
						    cols[i].typmod, cols[i].pk);
			if (ss_frame_decode(&rel, j, &err) < 0)
				FAILF("relation: %s", err.msg);
			json_decref(j);
			CHECK(ss_router_relation(r, &rel, &err) == 0);
		}
	}
	/* Shapes that do not compile are reported, never routed. */
	for (i = 0; i < nshapes; i++) {
		int inv = 0;

		for (k = 0; k < ninvalidated; k++)
			inv |= invalidated[k] == shapes[i].id;
		CHECK(inv == (shapes[i].has_where && !shapes[i].w));
	}

	for (i = 0; i < rows; i++) {
		const char *oldr[NCOLS], *newr[NCOLS];
		enum ss_frame_op op = (enum ss_frame_op)(1 + unit_rnd() % 3);
		size_t j = 0;

		gen_row(oldr);
		gen_row(newr);
		/* Updates that change one column are the interesting ones. */
		if (op == SS_FRAME_OP_UPDATE && unit_rnd() % 2) {
			const char *fresh[NCOLS];

			gen_row(fresh);
			memcpy(newr, oldr, sizeof(newr));
			k = unit_rnd() % NCOLS;
			newr[k] = fresh[k];
		}
		ss_router_match(r, 16384, op,
				op != SS_FRAME_OP_DELETE ? newr : NULL,
				op != SS_FRAME_OP_INSERT ? oldr : NULL, &m);
		tagged += m.n;
		moves += m.moves;
		for (k = 0; k < nshapes; k++) {
			const struct shape *s = &shapes[k];
			int in_old =
			    op != SS_FRAME_OP_INSERT && direct(s, oldr);
			int in_new =
			    op != SS_FRAME_OP_DELETE && direct(s, newr);
			enum ss_frame_op want = SS_FRAME_OP_NONE, got;

			if (in_old && in_new)
				want = op;
			else if (in_new)
				want = op == SS_FRAME_OP_UPDATE
					   ? SS_FRAME_OP_INSERT
					   : op;
			else if (in_old)
				want = op == SS_FRAME_OP_UPDATE
					   ? SS_FRAME_OP_DELETE
					   : op;
			while (j < m.n && m.ids[j] < s->id)
				j++;
			got = j < m.n && m.ids[j] == s->id ? m.ops[j]
							   : SS_FRAME_OP_NONE;
			if (got != want) {
				size_t c;

				if (mismatches++ < 20) {
					fprintf(
					    stderr,
					    "row %zu shape %" PRId64
					    " '%s': op %d want %d got %d\n",
					    i, s->id,
					    s->w ? ss_where_canonical_text(s->w)
						 : "-",
					    op, want, got);
					for (c = 0; c < NCOLS; c++)
						fprintf(
						    stderr,
						    "  %s old=%s new=%s\n",
						    cols[c].name,
						    oldr[c] ? oldr[c] : "NULL",
						    newr[c] ? newr[c] : "NULL");
				}
			}
		}
		CHECK(m.n == 0 || m.ids[0] > 0);
		for (k = 1; k < m.n; k++)
			CHECK(m.ids[k] > m.ids[k - 1]);
	}
	CHECK(mismatches == 0);
	/* The generator must reach both sides: matches and moves. */
	CHECK(tagged > rows);
	CHECK(moves > 0);

	/* A removed shape stops at once; truncate names every routed shape. */
	CHECK(ss_router_remove(r, 1) == 1);
	CHECK(!ss_router_has(r, 1));
	{
		uint32_t oid = 16384;

		ss_router_truncate(r, &oid, 1, &m);
		for (k = 0; k < m.n; k++)
			CHECK(m.ids[k] != 1);
	}
	{
		struct ss_router_stats rs;

		ss_router_stats(r, &rs);
		printf(
		    "test-route: %zu by equality, %zu by containment, %zu by "
		    "range, %zu evaluated, %zu invalid\n",
		    rs.eq_indexed, rs.contain_indexed, rs.range_indexed,
		    rs.unindexed, rs.invalid);
		CHECK(rs.eq_indexed > 0 && rs.contain_indexed > 0 &&
		      rs.range_indexed > 0 && rs.unindexed > 0);
	}
	printf("test-route: %zu shapes, %zu rows, %" PRIu64 " tags, %" PRIu64
	       " moves, %" PRIu64 " mismatches\n",
	       nshapes, rows, tagged, moves, mismatches);
	for (i = 0; i < nshapes; i++)
		ss_where_free(shapes[i].w);
	ss_frame_release(&rel);
	ss_buf_release(&where);
	ss_router_free(r);
	return unit_report();
}
