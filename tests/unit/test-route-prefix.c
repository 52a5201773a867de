/*
 * test-route-prefix.c — lib/route's prefix index (`col LIKE 'p%'`,
 * `col ILIKE 'p%'`) against brute force: random prefix shapes (ASCII
 * letters in both cases, multibyte UTF-8 letters whose case ILIKE does
 * not fold, the empty prefix, prefixes of one another, '%%' endings) and
 * look-alikes the index must leave to the evaluator ('_', escapes, no
 * trailing '%', NOT, bpchar, OR), added and removed between random rows;
 * each change's tags must equal evaluating every live shape with
 * lib/where, also through the frame fast path. route.c is built here
 * with a hash of 3 bits so that keys collide. Also checks how each shape
 * is filed and that the index's prefix lengths follow its keys.
 * Usage: test-route-prefix [SEED [STEPS]]
 */
#define ROUTE_HASH_MASK 0x7ull
#include "route.c"
#include "route_match.c"

#include "unit.h"

#define PICK(a) (a[unit_rnd() % (sizeof(a) / sizeof(a[0]))])

static const struct ss_frame_column cols[] = {
    {"id", "int4", 23, -1, 1, -1},     {"s", "text", 25, -1, 0, -1},
    {"v", "varchar", 1043, -1, 0, -1}, {"n", "int4", 23, -1, 0, -1},
    {"c", "bpchar", 1042, -1, 0, -1},
};
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

/* Pieces of values and prefixes: ASCII in both cases, é/É and ß (which
 * ILIKE under the C collation does not fold), a three-byte character. */
static const char *const atoms[] = {
    "a", "A",	     "b",	 "B",	     "ab",	     "Ab", "-",
    "1", "\xc3\xa9", "\xc3\x89", "\xc3\x9f", "\xe2\x82\xac", "z",
};

static void add_atoms(struct ss_buf *b, size_t max)
{
	size_t n = unit_rnd() % (max + 1), i;

	for (i = 0; i < n; i++)
		ss_buf_adds(b, PICK(atoms));
}

struct shape {
	int64_t id;
	struct ss_where *w;
	int live;
	int kind; /* what the router must file it as: 0 eval, 1 prefix,
		     2 prefix+eval */
};

#define MAXSHAPES 300

static const char *const likes[] = {"LIKE", "ILIKE"};

/* A where clause and how it must be filed. */
static int gen_where(struct ss_buf *w)
{
	struct ss_buf p = SS_BUF_INIT;
	int kind;

	add_atoms(&p, 3);
	ss_buf_reset(w);
	switch (unit_rnd() % 12) {
	case 0:
	case 1:
	case 2:
	case 3:
		ss_buf_addf(w, "s %s '%s%%'", PICK(likes), p.buf);
		kind = 1;
		break;
	case 4:
		ss_buf_addf(w, "v %s '%s%%'", PICK(likes), p.buf);
		kind = 1;
		break;
	case 5: /* the prefix and a range check */
		ss_buf_addf(w, "s %s '%s%%' AND n > %d", PICK(likes), p.buf,
			    (int)(unit_rnd() % 5));
		kind = 2;
		break;
	case 6: /* two prefixes: one indexed, the other evaluated */
		ss_buf_addf(w, "s %s '%s%%' AND ", PICK(likes), p.buf);
		ss_buf_reset(&p);
		add_atoms(&p, 2);
		ss_buf_addf(w, "v %s '%s%%'", PICK(likes), p.buf);
		kind = 2;
		break;
	case 7: /* '%%' is a prefix pattern too; '%' alone matches all */
		ss_buf_addf(w, "s %s '%s%%%%'", PICK(likes),
			    unit_rnd() % 2 ? p.buf : "");
		kind = 1;
		break;
	case 8: /* a varchar column cast to text keeps its bytes */
		ss_buf_addf(w, "v::text %s '%s%%'", PICK(likes), p.buf);
		kind = 1;
		break;
	case 9: /* not prefixes: '_', an escape, no trailing '%', ... */
		switch (unit_rnd() % 6) {
		case 0:
			ss_buf_addf(w, "s %s '%s_%%'", PICK(likes), p.buf);
			break;
		case 1:
			ss_buf_addf(w, "s %s '%s\\%%%%'", PICK(likes), p.buf);
			break;
		case 2:
			ss_buf_addf(w, "s %s '%s'", PICK(likes), p.buf);
			break;
		case 3:
			ss_buf_addf(w, "s %s '%%a%s%%'", PICK(likes), p.buf);
			break;
		case 4:
			ss_buf_addf(w, "s %s '%s%%a%%'", PICK(likes), p.buf);
			break;
		default:
			ss_buf_addf(w, "s %s '%s!%%%%' ESCAPE '!'", PICK(likes),
				    p.buf);
			break;
		}
		kind = 0;
		break;
	case 10: /* NOT, OR, a bpchar column */
		switch (unit_rnd() % 3) {
		case 0:
			ss_buf_addf(w, "s NOT %s '%s%%'", PICK(likes), p.buf);
			break;
		case 1:
			ss_buf_addf(w, "s %s '%s%%' OR n = 1", PICK(likes),
				    p.buf);
			break;
		default:
			ss_buf_addf(w, "c %s '%s%%'", PICK(likes), p.buf);
			break;
		}
		kind = 0;
		break;
	default: /* an equality wins over the prefix */
		ss_buf_addf(w, "s %s '%s%%' AND n = %d", PICK(likes), p.buf,
			    (int)(unit_rnd() % 5));
		kind = 3;
		break;
	}
	ss_buf_release(&p);
	return kind;
}

static const char *gen_value(struct ss_buf *b)
{
	if (unit_rnd() % 8 == 0)
		return NULL;
	ss_buf_reset(b);
	add_atoms(b, 5);
	return b->buf;
}

static int direct(const struct shape *s, const char *const *row)
{
	struct ss_err err = SS_ERR_INIT;
	int r;

	if (ss_where_eval(s->w, row, &r, &err) < 0)
		FAILF("eval '%s': %s", ss_where_canonical_text(s->w), err.msg);
	return r == 1;
}

/* Every prefix index's lengths are those of its members' keys. */
static void check_lengths(const struct ss_router *r)
{
	size_t i, k, m, j;

	for (i = 0; i < r->ngroups; i++) {
		const struct group *g = r->groups[i];

		for (k = 0; k < g->neqs; k++) {
			const struct eqidx *e = g->eqs[k];
			size_t total = 0, keys = 0;

			if (!e->prefix) {
				CHECK(e->nplens == 0);
				continue;
			}
			for (m = 0; m < e->nplens; m++) {
				size_t have = 0;

				CHECK(e->pcount[m] > 0);
				CHECK(m == 0 || e->plens[m] > e->plens[m - 1]);
				for (j = 0; j < e->n; j++)
					have += e->members[j]->nkeys == 1 &&
						e->members[j]->klens[0] ==
						    e->plens[m];
				CHECK(have == e->pcount[m]);
				total += e->pcount[m];
			}
			for (j = 0; j < e->n; j++)
				keys += e->members[j]->nkeys;
			CHECK(total == keys);
		}
	}
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

/* The same change through the fast path tags the same shapes as m. */
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

static int add(struct ss_router *r, int64_t id, const char *where)
{
	struct ss_shape def;
	struct ss_err err = SS_ERR_INIT;
	int rc;

	ss_shape_init(&def);
	def.schema = ss_xstrdup("public");
	def.table = ss_xstrdup("t");
	ss_shape_set_where(&def, where);
	rc = ss_router_add(r, id, &def, &err);
	ss_shape_release(&def);
	return rc;
}

/* A few cases by hand, with what PostgreSQL answers under the C
 * collation: ILIKE folds ASCII letters only. */
static void test_cases(struct ss_router *r)
{
	static const struct {
		const char *where, *kind, *value;
		int match;
	} t[] = {
	    {"s ILIKE 'ab%'", "prefix", "ABC", 1},
	    {"s ILIKE 'AB%'", "prefix", "abc", 1},
	    {"s LIKE 'ab%'", "prefix", "ABC", 0},
	    {"s ILIKE '\xc3\xa9t\xc3\xa9%'", "prefix", "\xc3\x89T\xc3\xa9", 0},
	    {"s ILIKE '\xc3\xa9t\xc3\xa9%'", "prefix", "\xc3\xa9T\xc3\xa9!", 1},
	    {"s LIKE '%'", "prefix", "", 1},
	    {"s LIKE 'abc%'", "prefix", "ab", 0},
	    {"s LIKE 'ab%%'", "prefix", "ab", 1},
	    {"s LIKE 'a_%'", "eval", "ab", 1},
	    {"s LIKE 'ab'", "eval", "ab", 1},
	    {"s LIKE 'a\\%%'", "eval", "a%b", 1},
	    {"s LIKE 'a%' AND n > 3", "prefix+eval", "ab", 1},
	    {"s LIKE 'a%' AND n > 5", "prefix+eval", "ab", 0},
	    {"v::text ILIKE 'X%'", "prefix", "ab", 1},
	    {"s::varchar(1) LIKE 'ab%'", "eval", "ab", 0},
	    {"s LIKE 'a%' AND s LIKE '%b'", "prefix+eval", "ab", 1},
	    {"c LIKE 'a%'", "eval", "ab", 1},
	    {"s NOT LIKE 'a%'", "eval", "ab", 0},
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const char *row[NCOLS] = {"1", t[i].value, "x", "5",
					  t[i].value};
		struct ss_route_match m;
		int64_t id = 1000000 + (int64_t)i;

		CHECK(add(r, id, t[i].where) == 0);
		CHECK_STR(ss_router_shape_kind(r, id), t[i].kind);
		ss_router_match(r, 16384, SS_FRAME_OP_INSERT, row, NULL, &m);
		if (m.n != (size_t)t[i].match)
			fprintf(stderr, "case %zu: '%s' on '%s': %zu tags\n", i,
				t[i].where, t[i].value, m.n);
		CHECK(m.n == (size_t)t[i].match);
		CHECK(ss_router_remove(r, id) == 1);
	}
}

int main(int argc, char **argv)
{
	struct ss_router *r = ss_router_new(NULL, NULL);
	struct ss_where_column wcols[NCOLS];
	static struct shape shapes[MAXSHAPES];
	struct ss_buf where = SS_BUF_INIT, vb[4];
	struct ss_frame rel = SS_FRAME_INIT;
	struct ss_route_match m;
	struct ss_err err = SS_ERR_INIT;
	uint64_t seed = 20261207, mismatches = 0, tagged = 0, removed = 0;
	size_t i, k, steps = 20000, nlive = 0, prefixed = 0;
	int64_t next_id = 1;
	json_t *j;

	if (argc > 1)
		seed = strtoull(argv[1], NULL, 10);
	if (argc > 2)
		steps = strtoul(argv[2], NULL, 10);
	unit_seed(seed);
	for (i = 0; i < 4; i++)
		ss_buf_init(&vb[i]);
	for (i = 0; i < NCOLS; i++) {
		wcols[i].name = cols[i].name;
		wcols[i].type = cols[i].type;
		wcols[i].is_enum = 0;
		wcols[i].enum_labels = NULL;
		wcols[i].n_enum_labels = 0;
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
	test_cases(r);
	CHECK(r->eq_n == 0);

	for (i = 0; i < steps; i++) {
		uint64_t what = unit_rnd() % 8;

		if (what < 2 || nlive < 40) { /* add a shape */
			struct shape *s = &shapes[unit_rnd() % MAXSHAPES];
			static const char *const kinds[] = {
			    "eval", "prefix", "prefix+eval", "eq+eval"};
			int kind;

			if (s->live)
				continue;
			kind = gen_where(&where);
			ss_where_free(s->w);
			if (ss_where_compile(where.buf, wcols, NCOLS, NULL, 0,
					     &s->w, &err) < 0)
				FAILF("compile '%s': %s", where.buf, err.msg);
			s->id = next_id++;
			if (add(r, s->id, where.buf) < 0)
				FAILF("add '%s'", where.buf);
			if (strcmp(ss_router_shape_kind(r, s->id),
				   kinds[kind])) {
				fprintf(stderr, "'%s' filed as %s, not %s\n",
					where.buf,
					ss_router_shape_kind(r, s->id),
					kinds[kind]);
				CHECK(0);
			}
			prefixed += kind == 1 || kind == 2;
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
			static const char *const ns[] = {NULL, "0", "1", "2",
							 "3",  "4", "5"};
			size_t jj;

			oldr[0] = newr[0] = "1";
			oldr[1] = gen_value(&vb[0]);
			newr[1] = unit_rnd() % 3 ? gen_value(&vb[1]) : oldr[1];
			oldr[2] = gen_value(&vb[2]);
			newr[2] = unit_rnd() % 3 ? gen_value(&vb[3]) : oldr[2];
			oldr[3] = PICK(ns);
			newr[3] = PICK(ns);
			oldr[4] = oldr[1];
			newr[4] = newr[1];
			ss_router_match(r, 16384, op,
					op != SS_FRAME_OP_DELETE ? newr : NULL,
					op != SS_FRAME_OP_INSERT ? oldr : NULL,
					&m);
			tagged += m.n;
			for (k = 1; k < m.n; k++)
				CHECK(m.ids[k] > m.ids[k - 1]);
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
						"(s=%s v=%s n=%s)\n",
						i, s->id,
						ss_where_canonical_text(s->w),
						op, want, got,
						newr[1] ? newr[1] : "NULL",
						newr[2] ? newr[2] : "NULL",
						newr[3] ? newr[3] : "NULL");
			}
			for (jj = 0; jj < m.n; jj++)
				CHECK(ss_router_has(r, m.ids[jj]));
			same_scanned(r, op, newr, oldr, &m);
		}
		if (i % 97 == 0)
			check_lengths(r);
	}
	check_lengths(r);
	CHECK(mismatches == 0);
	CHECK(tagged > steps / 4);
	CHECK(removed > 100);
	CHECK(prefixed > 200);
	/* Removing everything empties the table and the lengths. */
	for (k = 0; k < MAXSHAPES; k++)
		if (shapes[k].live)
			CHECK(ss_router_remove(r, shapes[k].id) == 1);
	CHECK(r->eq_n == 0);
	for (k = 0; k < r->groups[0]->neqs; k++)
		CHECK(r->groups[0]->eqs[k]->nplens == 0 &&
		      r->groups[0]->eqs[k]->n == 0);
	printf("test-route-prefix: %zu steps, %zu prefix shapes, %" PRIu64
	       " tags, %" PRIu64 " removals, %" PRIu64 " mismatches\n",
	       steps, prefixed, tagged, removed, mismatches);
	for (k = 0; k < MAXSHAPES; k++)
		ss_where_free(shapes[k].w);
	for (i = 0; i < 4; i++)
		ss_buf_release(&vb[i]);
	ss_frame_release(&rel);
	ss_buf_release(&where);
	ss_router_free(r);
	return unit_report();
}
