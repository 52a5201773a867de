/*
 * test-route-index.c — the equality index of lib/route under stress: this
 * file builds route.c and route_match.c itself with a hash that keeps 3
 * bits, so that every key collides with many others, and checks, while
 * shapes are added and removed between matches, that the router's tags
 * equal evaluating each shape with lib/where and that the slot table
 * stays well formed (every
 * key reachable from its home slot, one-shape slots inline, entries for
 * long keys and for values with more shapes). Keys of 14 and 15 bytes sit
 * on either side of what a slot holds inline. Also change lines on a
 * table whose column names need the slow key path. (The fast path's
 * string scanner is tested in test-frame-scan.c.)
 * Usage: test-route-index [SEED [STEPS]]
 */
#define ROUTE_HASH_MASK 0x7ull
#include "route.c"
#include "route_match.c"

#include "unit.h"

#define PICK(a) (a[unit_rnd() % (sizeof(a) / sizeof(a[0]))])

static const struct ss_frame_column cols[] = {
    {"id", "int4", 23, -1, 1, -1}, {"n", "int4", 23, -1, 0, -1},
    {"s", "text", 25, -1, 0, -1},  {"amt", "numeric", 1700, -1, 0, -1},
    {"b", "int8", 20, -1, 0, -1},
};
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

/* 14 bytes fit in a slot, 15 do not. */
static const char *const texts[] = {
    "",
    "a",
    "b",
    "ab",
    "abcdefghijklmn",
    "abcdefghijklmo",
    "abcdefghijklmno",
    "abcdefghijklmnp",
    "a long text key, well past a slot",
    "a long text key, well past a slop",
};
static const char *const nums[] = {"0",	 "1",  "2",	"3",	     "7",
				   "42", "-5", "99999", "2147483647"};
static const char *const bigs[] = {"1", "3000000000", "-3000000000",
				   "123456789012345678", "9"};
static const char *const amts[] = {"1", "100", "100.5", "50", "250"};

static const char *const v_n[] = {NULL, "0",  "1",  "2",     "3",
				  "7",	"42", "-5", "99999", "2147483647",
				  "01", "-0", "x",  "8"};
static const char *const v_amt[] = {NULL,    "1",   "100", "100.0", "100.5",
				    "99.99", "250", "abc", "NaN",   "50"};
static const char *const v_b[] = {
    NULL, "1", "3000000000", "-3000000000", "123456789012345678", "0009", "9"};

struct shape {
	int64_t id;
	struct ss_where *w;
	int live;
};

#define MAXSHAPES 400

static void gen_where(struct ss_buf *w)
{
	ss_buf_reset(w);
	switch (unit_rnd() % 9) {
	case 0:
	case 1: /* one value, often shared by several shapes */
		ss_buf_addf(w, "n = %s", PICK(nums));
		break;
	case 2:
		ss_buf_addf(w, "s = '%s'", PICK(texts));
		break;
	case 3:
		ss_buf_addf(w, "s IN ('%s', '%s') AND amt > %s", PICK(texts),
			    PICK(texts), PICK(amts));
		break;
	case 4:
		ss_buf_addf(w, "n = %s AND amt BETWEEN %s AND %s", PICK(nums),
			    PICK(amts), PICK(amts));
		break;
	case 5: /* two range checks: decided by the shape, not the slot */
		ss_buf_addf(w, "n IN (%s, %s) AND amt > %s AND amt < %s",
			    PICK(nums), PICK(nums), PICK(amts), PICK(amts));
		break;
	case 6: /* evaluated after the index hit */
		ss_buf_addf(w, "s = '%s' AND s LIKE 'a%%'", PICK(texts));
		break;
	case 7: /* int8 keys of up to 18 digits: some longer than a slot */
		ss_buf_addf(w, "b = %s", PICK(bigs));
		break;
	default:
		ss_buf_addf(w, "b IN (%s, %s)", PICK(bigs), PICK(bigs));
		break;
	}
}

static int direct(const struct shape *s, const char *const *row)
{
	struct ss_err err = SS_ERR_INIT;
	int r;

	if (ss_where_eval(s->w, row, &r, &err) < 0)
		return 0;
	return r == 1;
}

/* The slot table is well formed. */
static void check_table(const struct ss_router *r)
{
	size_t i, j, used = 0, mask = r->eq_size - 1;

	for (i = 0; i < r->eq_size; i++) {
		const struct eqslot *sl = &r->eq[i];

		if (!sl->flags)
			continue;
		used++;
		/* No empty slot between its home and it. */
		for (j = sl->tag & mask; j != i; j = (j + 1) & mask)
			CHECK(r->eq[j].flags);
		if (sl->flags & SL_ONE) {
			CHECK(sl->flags & SL_INKEY);
			CHECK(sl->u.s->id == sl->id);
		} else {
			CHECK(sl->u.e->n >= 1);
			CHECK(sl->u.e->n >= 2 || !(sl->flags & SL_INKEY));
			if (sl->flags & SL_INKEY)
				CHECK(sl->klen == sl->u.e->klen &&
				      !memcmp(sl->key, sl->u.e->key, sl->klen));
			else
				CHECK(sl->u.e->klen > SLOT_KEY);
		}
	}
	CHECK(used == r->eq_n);
}

/* A table whose second column's name is not ASCII: its key is read by
 * str_, the others in place. */
static void test_names(struct ss_router *r)
{
	struct ss_frame rel = SS_FRAME_INIT;
	struct ss_route_scan sc = SS_ROUTE_SCAN_INIT;
	struct ss_route_match m;
	struct ss_shape def;
	struct ss_err err = SS_ERR_INIT;
	json_t *j = ss_frame_new_relation(16385, "public", "u", 'f');
	static const char good[] =
	    "{\"type\":\"change\",\"op\":\"insert\",\"oid\":16385,"
	    "\"xid\":7,\"lsn\":\"0/10\",\"pos\":0,\"new\":{\"id\":\"1\","
	    "\"n\xc3\xa9\":\"5\",\"s\":\"x\"}}";
	static const char bad[] =
	    "{\"type\":\"change\",\"op\":\"insert\",\"oid\":16385,"
	    "\"xid\":7,\"lsn\":\"0/10\",\"pos\":0,\"new\":{\"id\":\"1\","
	    "\"n\xc3\xa8\":\"5\",\"s\":\"x\"}}";
	static const char badplain[] =
	    "{\"type\":\"change\",\"op\":\"insert\",\"oid\":16385,"
	    "\"xid\":7,\"lsn\":\"0/10\",\"pos\":0,\"new\":{\"id\":\"1\","
	    "\"n\xc3\xa9\":\"5\",\"t\":\"x\"}}";

	ss_frame_add_column(j, "id", "int4", 23, -1, 1);
	ss_frame_add_column(j, "n\xc3\xa9", "int4", 23, -1, 0);
	ss_frame_add_column(j, "s", "text", 25, -1, 0);
	if (ss_frame_decode(&rel, j, &err) < 0)
		FAILF("relation: %s", err.msg);
	json_decref(j);
	CHECK(ss_router_relation(r, &rel, &err) == 0);
	ss_shape_init(&def);
	def.schema = ss_xstrdup("public");
	def.table = ss_xstrdup("u");
	ss_shape_set_where(&def, "\"n\xc3\xa9\" = 5");
	CHECK(ss_router_add(r, 1000000, &def, &err) == 0);
	ss_shape_release(&def);
	CHECK(ss_router_scan_change(r, good, strlen(good), &sc) == 1);
	ss_router_prefetch(r, &sc, 0);
	ss_router_prefetch(r, &sc, 1);
	ss_router_prefetch(r, &sc, 2);
	ss_router_match_scan(r, &sc, &m);
	CHECK(m.n == 1 && m.ids[0] == 1000000);
	CHECK(ss_router_scan_change(r, bad, strlen(bad), &sc) == 0);
	CHECK(ss_router_scan_change(r, badplain, strlen(badplain), &sc) == 0);
	CHECK(ss_router_remove(r, 1000000) == 1);
	ss_route_scan_release(&sc);
	ss_frame_release(&rel);
}

static void add_row(struct ss_buf *b, const char *const *row)
{
	size_t c;

	ss_buf_addc(b, '{');
	for (c = 0; c < NCOLS; c++) {
		ss_buf_addf(b, "%s\"%s\":", c ? "," : "", cols[c].name);
		if (row[c])
			ss_buf_addf(b, "\"%s\"", row[c]);
		else
			ss_buf_adds(b, "null");
	}
	ss_buf_addc(b, '}');
}

/* The same change as a frame line through the fast path (scan, the
 * prefetch stages, ss_router_match_scan) tags the same shapes as m. */
static void same_scanned(struct ss_router *r, enum ss_frame_op op,
			 const char *const *newr, const char *const *oldr,
			 const struct ss_route_match *m)
{
	static struct ss_route_scan sc = SS_ROUTE_SCAN_INIT;
	struct ss_buf line = SS_BUF_INIT;
	struct ss_route_match m2;
	int64_t ids[MAXSHAPES];
	enum ss_frame_op ops[MAXSHAPES];
	size_t n = m->n, k;

	CHECK(n <= MAXSHAPES);
	memcpy(ids, m->ids, n * sizeof(*ids));
	memcpy(ops, m->ops, n * sizeof(*ops));
	ss_buf_addf(&line,
		    "{\"type\":\"change\",\"op\":\"%s\",\"oid\":16384,"
		    "\"xid\":7,\"lsn\":\"0/10\",\"pos\":0",
		    ss_frame_op_name(op));
	if (op != SS_FRAME_OP_DELETE) {
		ss_buf_adds(&line, ",\"new\":");
		add_row(&line, newr);
	}
	if (op != SS_FRAME_OP_INSERT) {
		ss_buf_adds(&line, ",\"old\":");
		add_row(&line, oldr);
	}
	ss_buf_addc(&line, '}');
	CHECK(ss_router_scan_change(r, line.buf, line.len, &sc) == 1);
	ss_router_prefetch(r, &sc, 0);
	ss_router_prefetch(r, &sc, 1);
	ss_router_prefetch(r, &sc, 2);
	ss_router_match_scan(r, &sc, &m2);
	CHECK(m2.n == n);
	for (k = 0; k < n && k < m2.n; k++)
		CHECK(m2.ids[k] == ids[k] && m2.ops[k] == ops[k]);
	ss_buf_release(&line);
}

int main(int argc, char **argv)
{
	struct ss_router *r = ss_router_new(NULL, NULL);
	struct ss_where_column wcols[NCOLS];
	static struct shape shapes[MAXSHAPES];
	struct ss_buf where = SS_BUF_INIT;
	struct ss_frame rel = SS_FRAME_INIT;
	struct ss_route_match m;
	struct ss_err err = SS_ERR_INIT;
	uint64_t seed = 20261121, mismatches = 0, tagged = 0, removed = 0;
	size_t i, k, steps = 20000, nlive = 0, multi = 0, longkeys = 0;
	int64_t next_id = 1;
	json_t *j;

	if (argc > 1)
		seed = strtoull(argv[1], NULL, 10);
	if (argc > 2)
		steps = strtoul(argv[2], NULL, 10);
	unit_seed(seed);
	for (i = 0; i < NCOLS; i++) {
		wcols[i].name = cols[i].name;
		wcols[i].type = cols[i].type;
		wcols[i].is_enum = 0;
	}
	j = ss_frame_new_relation(16384, "public", "t", 'f');
	for (i = 0; i < NCOLS; i++)
		ss_frame_add_column(j, cols[i].name, cols[i].type,
				    cols[i].type_oid, cols[i].typmod,
				    cols[i].pk);
	if (ss_frame_decode(&rel, j, &err) < 0)
		FAILF("relation: %s", err.msg);
	json_decref(j);
	CHECK(ss_router_relation(r, &rel, &err) == 0);

	for (i = 0; i < steps; i++) {
		uint64_t what = unit_rnd() % 8;

		if (what < 2 || nlive < 50) { /* add a shape */
			struct shape *s = &shapes[unit_rnd() % MAXSHAPES];
			struct ss_shape def;

			if (s->live)
				continue;
			gen_where(&where);
			ss_where_free(s->w);
			if (ss_where_compile(where.buf, wcols, NCOLS, NULL, 0,
					     &s->w, &err) < 0)
				FAILF("compile '%s': %s", where.buf, err.msg);
			ss_shape_init(&def);
			def.schema = ss_xstrdup("public");
			def.table = ss_xstrdup("t");
			ss_shape_set_where(&def, where.buf);
			s->id = next_id++;
			if (ss_router_add(r, s->id, &def, &err) < 0)
				FAILF("add: %s", err.msg);
			ss_shape_release(&def);
			s->live = 1;
			nlive++;
		} else if (what == 2) { /* remove one */
			struct shape *s = &shapes[unit_rnd() % MAXSHAPES];

			if (!s->live)
				continue;
			CHECK(ss_router_remove(r, s->id) == 1);
			s->live = 0;
			nlive--;
			removed++;
		} else { /* match a change */
			const char *oldr[NCOLS], *newr[NCOLS];
			enum ss_frame_op op =
			    (enum ss_frame_op)(1 + unit_rnd() % 3);
			size_t jj = 0;

			oldr[0] = newr[0] = "1";
			oldr[1] = PICK(v_n);
			newr[1] = unit_rnd() % 2 ? oldr[1] : PICK(v_n);
			oldr[2] = unit_rnd() % 8 ? PICK(texts) : NULL;
			newr[2] = unit_rnd() % 2 ? oldr[2] : PICK(texts);
			oldr[3] = PICK(v_amt);
			newr[3] = unit_rnd() % 2 ? oldr[3] : PICK(v_amt);
			oldr[4] = PICK(v_b);
			newr[4] = PICK(v_b);
			ss_router_match(r, 16384, op,
					op != SS_FRAME_OP_DELETE ? newr : NULL,
					op != SS_FRAME_OP_INSERT ? oldr : NULL,
					&m);
			tagged += m.n;
			for (k = 1; k < m.n; k++)
				CHECK(m.ids[k] > m.ids[k - 1]);
			/* shapes[] is not in id order: look each one up. */
			for (k = 0; k < MAXSHAPES; k++) {
				const struct shape *s = &shapes[k];
				int in_old, in_new;
				enum ss_frame_op want = SS_FRAME_OP_NONE;
				enum ss_frame_op got = SS_FRAME_OP_NONE;

				if (!s->live)
					continue;
				in_old =
				    op != SS_FRAME_OP_INSERT && direct(s, oldr);
				in_new =
				    op != SS_FRAME_OP_DELETE && direct(s, newr);
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
				for (jj = 0; jj < m.n; jj++)
					if (m.ids[jj] == s->id)
						got = m.ops[jj];
				if (got != want && mismatches++ < 20)
					fprintf(stderr,
						"step %zu shape %" PRId64
						" '%s': op %d want %d got %d "
						"(n=%s s=%s amt=%s b=%s)\n",
						i, s->id,
						ss_where_canonical_text(s->w),
						op, want, got,
						newr[1] ? newr[1] : "NULL",
						newr[2] ? newr[2] : "NULL",
						newr[3] ? newr[3] : "NULL",
						newr[4] ? newr[4] : "NULL");
			}
			/* Every id is a live shape's. */
			for (jj = 0; jj < m.n; jj++)
				CHECK(ss_router_has(r, m.ids[jj]));
			same_scanned(r, op, newr, oldr, &m);
		}
		if (i % 97 == 0) {
			check_table(r);
			for (k = 0; k < r->eq_size; k++) {
				const struct eqslot *sl = &r->eq[k];

				multi += sl->flags && !(sl->flags & SL_ONE) &&
					 sl->u.e->n > 1;
				longkeys +=
				    sl->flags && !(sl->flags & SL_INKEY);
			}
		}
	}
	check_table(r);
	test_names(r);
	CHECK(mismatches == 0);
	/* The generator must reach every kind of slot. */
	CHECK(tagged > steps / 4);
	CHECK(removed > 100);
	CHECK(multi > 0 && longkeys > 0);
	/* Removing everything empties the table. */
	for (k = 0; k < MAXSHAPES; k++)
		if (shapes[k].live)
			CHECK(ss_router_remove(r, shapes[k].id) == 1);
	CHECK(r->eq_n == 0);
	check_table(r);
	printf("test-route-index: %zu steps, %" PRIu64 " tags, %" PRIu64
	       " removals, %" PRIu64 " mismatches\n",
	       steps, tagged, removed, mismatches);
	for (k = 0; k < MAXSHAPES; k++)
		ss_where_free(shapes[k].w);
	ss_frame_release(&rel);
	ss_buf_release(&where);
	ss_router_free(r);
	return unit_report();
}
