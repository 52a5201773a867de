/*
 * frame.c — NDJSON frames: a bounded line reader (stdio or fd), strict
 * schema validation into struct ss_frame, the checked writer and the
 * builders. The schema lives in one table per frame type below; keep it
 * in step with man/shapesync-frames.5.
 */
#include <errno.h>
#include <inttypes.h>
#include <unistd.h>

#include "frame.h"

/* ---- Small helpers ---------------------------------------------------- */

/* jansson returns NULL only on out-of-memory: treat it like ss_xmalloc. */
static json_t *need(json_t *j)
{
	if (!j) {
		fprintf(stderr, "fatal: out of memory building a frame\n");
		abort();
	}
	return j;
}

static void set(json_t *obj, const char *key, json_t *value)
{
	if (json_object_set_new(obj, key, need(value)) < 0)
		need(NULL);
}

static void append(json_t *arr, json_t *value)
{
	if (json_array_append_new(arr, need(value)) < 0)
		need(NULL);
}

static const char *const type_names[] = {
    [SS_FRAME_BEGIN] = "begin",	      [SS_FRAME_RELATION] = "relation",
    [SS_FRAME_CHANGE] = "change",     [SS_FRAME_TRUNCATE] = "truncate",
    [SS_FRAME_COMMIT] = "commit",     [SS_FRAME_INVALIDATE] = "invalidate",
    [SS_FRAME_PROGRESS] = "progress", [SS_FRAME_STREAM] = "stream",
    [SS_FRAME_MARK] = "mark",	      [SS_FRAME_MOVE] = "move",
    [SS_FRAME_MOVEIN] = "movein",
};

static const char *const op_names[] = {
    [SS_FRAME_OP_INSERT] = "insert",
    [SS_FRAME_OP_UPDATE] = "update",
    [SS_FRAME_OP_DELETE] = "delete",
};

const char *ss_frame_type_name(enum ss_frame_type type)
{
	if ((unsigned)type >= sizeof(type_names) / sizeof(type_names[0]))
		return NULL;
	return type_names[type];
}

const char *ss_frame_op_name(enum ss_frame_op op)
{
	if ((unsigned)op >= sizeof(op_names) / sizeof(op_names[0]))
		return NULL;
	return op_names[op];
}

static enum ss_frame_op op_from_name(const char *s)
{
	int i;

	for (i = SS_FRAME_OP_INSERT; i <= SS_FRAME_OP_DELETE; i++)
		if (!strcmp(s, op_names[i]))
			return (enum ss_frame_op)i;
	return SS_FRAME_OP_NONE;
}

/* ---- Timestamps ------------------------------------------------------- */

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int digits(const char *s, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int ss_frame_parse_ts(const char *s, int64_t *out_us, struct ss_err *err)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30,
				    31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, se, us, leap;
	char q[300];

	if (!s || strlen(s) != 27 || s[4] != '-' || s[7] != '-' ||
	    s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != '.' ||
	    s[26] != 'Z' || digits(s, 4, &y) || digits(s + 5, 2, &mo) ||
	    digits(s + 8, 2, &d) || digits(s + 11, 2, &h) ||
	    digits(s + 14, 2, &mi) || digits(s + 17, 2, &se) ||
	    digits(s + 20, 6, &us))
		goto bad;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || se > 59)
		goto bad;
	*out_us =
	    ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se) *
	     1000000) +
	    us;
	return 0;
bad:
	ss_quote_text(q, sizeof(q), s ? s : "", s ? strlen(s) : 0, 64);
	return ss_err_set(err, SS_ERR_INPUT, "invalid timestamp '%s'", q);
}

/* ---- The schema ------------------------------------------------------- */

/* What a field holds and where it goes in struct ss_frame. */
enum slot {
	S_XID,
	S_LSN,
	S_END_LSN,
	S_TS,
	S_POS,
	S_OID,
	S_OP,
	S_NEW,
	S_OLD,
	S_SHAPES,
	S_MOVES,
	S_META,
	S_OIDS,
	S_SCHEMA,
	S_TABLE,
	S_RI,
	S_COLUMNS,
	S_REASON,
	S_ANCESTORS,
	S_STREAM,
	S_MARK,
	S_EVENT,
	S_PATTERNS,
	S_MESSAGE,
	S_AFTER,
};

enum need { OPTIONAL = 0, REQUIRED = 1, BY_OP = 2 };

struct field {
	const char *name;
	enum slot slot;
	enum need need;
};

#define END_FIELDS                                                             \
	{                                                                      \
		NULL, 0, 0                                                     \
	}

/* Fields per type, in the documented (and written) order. */
static const struct field begin_fields[] = {
    {"xid", S_XID, REQUIRED},
    {"lsn", S_LSN, REQUIRED},
    {"ts", S_TS, REQUIRED},
    END_FIELDS,
};
static const struct field relation_fields[] = {
    {"oid", S_OID, REQUIRED},
    {"schema", S_SCHEMA, REQUIRED},
    {"table", S_TABLE, REQUIRED},
    {"replica_identity", S_RI, REQUIRED},
    {"columns", S_COLUMNS, REQUIRED},
    {"ancestors", S_ANCESTORS, OPTIONAL},
    END_FIELDS,
};
static const struct field change_fields[] = {
    {"op", S_OP, REQUIRED},
    {"oid", S_OID, REQUIRED},
    {"xid", S_XID, REQUIRED},
    {"lsn", S_LSN, REQUIRED},
    {"pos", S_POS, REQUIRED},
    {"new", S_NEW, BY_OP},
    {"old", S_OLD, BY_OP},
    {"shapes", S_SHAPES, OPTIONAL},
    {"moves", S_MOVES, OPTIONAL},
    {"meta", S_META, OPTIONAL},
    END_FIELDS,
};
static const struct field truncate_fields[] = {
    {"xid", S_XID, REQUIRED},	    {"lsn", S_LSN, REQUIRED},
    {"pos", S_POS, REQUIRED},	    {"oids", S_OIDS, REQUIRED},
    {"shapes", S_SHAPES, OPTIONAL}, END_FIELDS,
};
static const struct field commit_fields[] = {
    {"xid", S_XID, REQUIRED},
    {"lsn", S_LSN, REQUIRED},
    {"end_lsn", S_END_LSN, REQUIRED},
    {"ts", S_TS, REQUIRED},
    END_FIELDS,
};
static const struct field invalidate_fields[] = {
    {"shapes", S_SHAPES, REQUIRED},
    {"oid", S_OID, REQUIRED},
    {"reason", S_REASON, REQUIRED},
    END_FIELDS,
};
static const struct field progress_fields[] = {
    {"lsn", S_LSN, REQUIRED},
    END_FIELDS,
};
static const struct field move_fields[] = {
    {"xid", S_XID, REQUIRED},
    {"lsn", S_LSN, REQUIRED},
    {"pos", S_POS, REQUIRED},
    {"event", S_EVENT, REQUIRED},
    {"shapes", S_SHAPES, REQUIRED},
    {"patterns", S_PATTERNS, REQUIRED},
    END_FIELDS,
};
static const struct field movein_fields[] = {
    {"xid", S_XID, REQUIRED},
    {"lsn", S_LSN, REQUIRED},
    {"pos", S_POS, REQUIRED},
    {"shapes", S_SHAPES, REQUIRED},
    {"after", S_AFTER, OPTIONAL},
    {"message", S_MESSAGE, REQUIRED},
    END_FIELDS,
};
static const struct field mark_fields[] = {
    {"lsn", S_LSN, REQUIRED},
    {"mark", S_MARK, REQUIRED},
    END_FIELDS,
};
static const struct field stream_fields[] = {
    {"stream", S_STREAM, REQUIRED},
    {"lsn", S_LSN, REQUIRED},
    {"reason", S_REASON, OPTIONAL},
    END_FIELDS,
};

static const struct field *const schema[] = {
    [SS_FRAME_BEGIN] = begin_fields,
    [SS_FRAME_RELATION] = relation_fields,
    [SS_FRAME_CHANGE] = change_fields,
    [SS_FRAME_TRUNCATE] = truncate_fields,
    [SS_FRAME_COMMIT] = commit_fields,
    [SS_FRAME_INVALIDATE] = invalidate_fields,
    [SS_FRAME_PROGRESS] = progress_fields,
    [SS_FRAME_STREAM] = stream_fields,
    [SS_FRAME_MARK] = mark_fields,
    [SS_FRAME_MOVE] = move_fields,
    [SS_FRAME_MOVEIN] = movein_fields,
};

/* 1 if the headers h of a move event carry what clients read of it:
 * "patterns", a non-empty array of {"pos":N,"value":"..."}, and
 * "txids", an array of transaction ids. */
static int event_ok(json_t *h)
{
	json_t *pats = json_object_get(h, "patterns");
	json_t *txids = json_object_get(h, "txids");
	size_t i;

	if (!json_is_array(pats) || !json_array_size(pats) ||
	    !json_is_array(txids))
		return 0;
	for (i = 0; i < json_array_size(pats); i++) {
		json_t *p = json_array_get(pats, i);
		json_t *pos = json_object_get(p, "pos");

		if (!json_is_object(p) || !json_is_integer(pos) ||
		    json_integer_value(pos) < 0 ||
		    !json_is_string(json_object_get(p, "value")))
			return 0;
	}
	for (i = 0; i < json_array_size(txids); i++) {
		json_t *t = json_array_get(txids, i);

		if (!json_is_integer(t) || json_integer_value(t) < 0)
			return 0;
	}
	return 1;
}

/* 1 if m is one of a move-in's lines: {"headers":{"event":"move-in",..}},
 * an insert with "is_move_in":true and its key and value, or
 * {"headers":{"control":"snapshot-end",..}}; or of a move-out written as
 * deletes: a delete with its key and value; or a move-out event caused
 * by those lines of a nested subquery's shape:
 * {"headers":{"event":"move-out",..}}. */
static int movein_line_kind(json_t *m)
{
	json_t *h = json_object_get(m, "headers");
	const char *ev = json_string_value(json_object_get(h, "event"));
	const char *ctl = json_string_value(json_object_get(h, "control"));
	const char *op = json_string_value(json_object_get(h, "operation"));

	if (!json_is_object(h))
		return 0;
	if (ev)
		return (!strcmp(ev, "move-in") || !strcmp(ev, "move-out")) &&
		       event_ok(h);
	if (ctl)
		return !strcmp(ctl, "snapshot-end");
	return op &&
	       ((!strcmp(op, "insert") &&
		 json_is_true(json_object_get(h, "is_move_in"))) ||
		(!strcmp(op, "delete") && !json_object_get(h, "is_move_in"))) &&
	       json_is_string(json_object_get(m, "key")) &&
	       json_is_object(json_object_get(m, "value"));
}

/* Set an SS_ERR_INPUT "<type> frame: <message>". */
static int ferr(struct ss_err *err, const struct ss_frame *f, const char *fmt,
		...) __attribute__((format(printf, 3, 4)));
static int ferr(struct ss_err *err, const struct ss_frame *f, const char *fmt,
		...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return ss_err_set(err, SS_ERR_INPUT, "%s frame: %s",
			  ss_frame_type_name(f->type), msg);
}

void ss_frame_init(struct ss_frame *f)
{
	memset(f, 0, sizeof(*f));
}

void ss_frame_release(struct ss_frame *f)
{
	json_decref(f->json);
	free(f->shapes_buf_);
	free(f->ops_buf_);
	free(f->meta_buf_);
	free(f->pat_buf_);
	free(f->oids_buf_);
	free(f->cols_buf_);
	free(f->anc_buf_);
	ss_frame_init(f);
}

/* Keep the arrays' storage, clear everything else. */
static void reset(struct ss_frame *f)
{
	struct ss_frame keep = *f;

	json_decref(f->json);
	memset(f, 0, sizeof(*f));
	f->shapes_buf_ = keep.shapes_buf_;
	f->shapes_alloc_ = keep.shapes_alloc_;
	f->ops_buf_ = keep.ops_buf_;
	f->ops_alloc_ = keep.ops_alloc_;
	f->meta_buf_ = keep.meta_buf_;
	f->meta_alloc_ = keep.meta_alloc_;
	f->pat_buf_ = keep.pat_buf_;
	f->pat_alloc_ = keep.pat_alloc_;
	f->oids_buf_ = keep.oids_buf_;
	f->oids_alloc_ = keep.oids_alloc_;
	f->cols_buf_ = keep.cols_buf_;
	f->cols_alloc_ = keep.cols_alloc_;
	f->anc_buf_ = keep.anc_buf_;
	f->anc_alloc_ = keep.anc_alloc_;
}

static int get_int(json_t *v, json_int_t min, json_int_t max, json_int_t *out)
{
	if (!json_is_integer(v))
		return -1;
	*out = json_integer_value(v);
	return *out < min || *out > max ? -1 : 0;
}

static int get_lsn(struct ss_frame *f, const char *name, json_t *v, ss_lsn *out,
		   struct ss_err *err)
{
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	char q[300];

	if (!json_is_string(v))
		return ferr(err, f, "field '%s' must be a string", name);
	/* Frames always use PostgreSQL's "X/Y" form, never the decimal one. */
	if (!memchr(s, '/', len) || ss_lsn_parse_n(s, len, out, NULL) < 0) {
		ss_quote_text(q, sizeof(q), s, len, 64);
		return ferr(err, f, "field '%s': invalid LSN '%s'", name, q);
	}
	return 0;
}

static int get_oid(json_t *v, uint32_t *out)
{
	json_int_t i;

	if (get_int(v, 1, UINT32_MAX, &i))
		return -1;
	*out = (uint32_t)i;
	return 0;
}

/* A row: an object whose values are strings (PostgreSQL text) or null. */
static int check_row(struct ss_frame *f, const char *name, json_t *v,
		     struct ss_err *err)
{
	const char *col;
	json_t *val;
	char q[300];

	if (!json_is_object(v))
		return ferr(err, f, "field '%s' must be an object", name);
	json_object_foreach(v, col, val)
	{
		if (!json_is_string(val) && !json_is_null(val)) {
			ss_quote_text(q, sizeof(q), col, strlen(col), 64);
			return ferr(err, f,
				    "field '%s': column '%s' must be a string "
				    "or null",
				    name, q);
		}
	}
	return 0;
}

static int check_shapes(struct ss_frame *f, json_t *v, struct ss_err *err)
{
	size_t i, n;

	if (!json_is_array(v))
		return ferr(err, f, "field 'shapes' must be an array");
	n = json_array_size(v);
	SS_GROW(f->shapes_buf_, f->shapes_alloc_, n + 1);
	for (i = 0; i < n; i++) {
		json_int_t id;

		if (get_int(json_array_get(v, i), 0, INT64_MAX, &id))
			return ferr(err, f,
				    "field 'shapes'[%zu] must be a "
				    "non-negative integer",
				    i);
		if (i > 0 && id <= f->shapes_buf_[i - 1])
			return ferr(err, f,
				    "field 'shapes' must be strictly ascending "
				    "(%" PRId64 " after %" PRId64 ")",
				    (int64_t)id, f->shapes_buf_[i - 1]);
		f->shapes_buf_[i] = id;
	}
	f->has_shapes = 1;
	f->shapes = f->shapes_buf_;
	f->nshapes = n;
	return 0;
}

static ssize_t find_shape(const struct ss_frame *f, int64_t id)
{
	size_t lo = 0, hi = f->nshapes;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->shapes[mid] == id)
			return (ssize_t)mid;
		if (f->shapes[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* A canonical decimal id: digits, no leading zero, fits int64. */
static int parse_id(const char *s, int64_t *out)
{
	uint64_t v = 0;
	size_t i, n = strlen(s);

	if (n == 0 || n > 19 || (s[0] == '0' && n > 1))
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > INT64_MAX)
		return -1;
	*out = (int64_t)v;
	return 0;
}

/* A key of a per-shape object ("moves", "meta", "patterns"): the index in
 * "shapes" of the id it names, or -1 with the error. q (300 bytes) gets
 * the key quoted, for messages. */
static ssize_t shape_key(struct ss_frame *f, const char *field, const char *key,
			 char *q, struct ss_err *err)
{
	int64_t id;
	ssize_t at;

	ss_quote_text(q, 300, key, strlen(key), 64);
	if (parse_id(key, &id) || (at = find_shape(f, id)) < 0) {
		ferr(err, f, "field '%s': '%s' is not an id in 'shapes'", field,
		     q);
		return -1;
	}
	return at;
}

/* A per-shape array of objects, all NULL, with room for f's shapes. */
static json_t **per_shape(struct ss_frame *f, json_t ***buf, size_t *alloc)
{
	size_t i;

	SS_GROW(*buf, *alloc, f->nshapes + 1);
	for (i = 0; i < f->nshapes; i++)
		(*buf)[i] = NULL;
	return *buf;
}

/* "moves": {"<id>": "insert"|"delete"} over ids listed in "shapes". */
static int check_moves(struct ss_frame *f, json_t *v, struct ss_err *err)
{
	const char *key, *s;
	json_t *val;
	char q[300];

	if (f->op != SS_FRAME_OP_UPDATE)
		return ferr(err, f,
			    "field 'moves' is only allowed with op 'update'");
	if (!f->has_shapes)
		return ferr(err, f, "field 'moves' requires field 'shapes'");
	if (!json_is_object(v))
		return ferr(err, f, "field 'moves' must be an object");
	json_object_foreach(v, key, val)
	{
		ssize_t at = shape_key(f, "moves", key, q, err);
		enum ss_frame_op op;

		if (at < 0)
			return -1;
		s = json_string_value(val);
		op = s ? op_from_name(s) : SS_FRAME_OP_NONE;
		if (op != SS_FRAME_OP_INSERT && op != SS_FRAME_OP_DELETE)
			return ferr(err, f,
				    "field 'moves': value for '%s' must be "
				    "\"insert\" or \"delete\"",
				    q);
		f->ops_buf_[at] = op;
	}
	return 0;
}

/* An array of strings (tags), or of booleans, with at least `min`. */
static int string_array(json_t *v, size_t min)
{
	size_t i;

	if (!json_is_array(v) || json_array_size(v) < min)
		return 0;
	for (i = 0; i < json_array_size(v); i++)
		if (!json_is_string(json_array_get(v, i)))
			return 0;
	return 1;
}

static int bool_array(json_t *v)
{
	size_t i;

	if (!json_is_array(v) || json_array_size(v) == 0)
		return 0;
	for (i = 0; i < json_array_size(v); i++)
		if (!json_is_boolean(json_array_get(v, i)))
			return 0;
	return 1;
}

/* "meta": {"<id>": {"tags":[s..],"active_conditions":[b..]
 * [,"removed_tags":[s..]]}} over ids listed in "shapes". */
static int check_meta(struct ss_frame *f, json_t *v, struct ss_err *err)
{
	const char *key, *k2;
	json_t *val, *m;
	char q[300];

	if (!f->has_shapes)
		return ferr(err, f, "field 'meta' requires field 'shapes'");
	if (!json_is_object(v))
		return ferr(err, f, "field 'meta' must be an object");
	per_shape(f, &f->meta_buf_, &f->meta_alloc_);
	json_object_foreach(v, key, val)
	{
		ssize_t at = shape_key(f, "meta", key, q, err);

		if (at < 0)
			return -1;
		if (!json_is_object(val) ||
		    !string_array(json_object_get(val, "tags"), 1) ||
		    !bool_array(json_object_get(val, "active_conditions")))
			return ferr(err, f,
				    "field 'meta': '%s' must have 'tags' (an "
				    "array of strings) and 'active_conditions' "
				    "(an array of booleans)",
				    q);
		m = json_object_get(val, "removed_tags");
		if (m && !string_array(m, 0))
			return ferr(err, f,
				    "field 'meta': 'removed_tags' of '%s' must "
				    "be an array of strings",
				    q);
		json_object_foreach(val, k2, m)
		{
			if (strcmp(k2, "tags") &&
			    strcmp(k2, "active_conditions") &&
			    strcmp(k2, "removed_tags")) {
				ss_quote_text(q, sizeof(q), k2, strlen(k2), 64);
				return ferr(err, f,
					    "field 'meta': unknown member '%s'",
					    q);
			}
		}
		f->meta_buf_[at] = val;
	}
	f->shape_meta = f->meta_buf_;
	return 0;
}

/* "patterns": {"<id>": [{"pos":N,"value":"..."}, ...]}, one non-empty
 * array for every id of "shapes". */
static int check_patterns(struct ss_frame *f, json_t *v, struct ss_err *err)
{
	const char *key;
	json_t *val;
	char q[300];
	size_t i, n = 0;

	if (!json_is_object(v))
		return ferr(err, f, "field 'patterns' must be an object");
	per_shape(f, &f->pat_buf_, &f->pat_alloc_);
	json_object_foreach(v, key, val)
	{
		ssize_t at = shape_key(f, "patterns", key, q, err);

		if (at < 0)
			return -1;
		if (!json_is_array(val) || json_array_size(val) == 0)
			return ferr(err, f,
				    "field 'patterns': '%s' must be a "
				    "non-empty array",
				    q);
		for (i = 0; i < json_array_size(val); i++) {
			json_t *p = json_array_get(val, i), *pos, *value;
			json_int_t pv;

			pos = json_object_get(p, "pos");
			value = json_object_get(p, "value");
			if (!json_is_object(p) || json_object_size(p) != 2 ||
			    get_int(pos, 0, INT32_MAX, &pv) ||
			    !json_is_string(value))
				return ferr(err, f,
					    "field 'patterns': each of '%s' "
					    "must be {\"pos\":N,\"value\":"
					    "\"...\"}",
					    q);
		}
		f->pat_buf_[at] = val;
		n++;
	}
	if (n != f->nshapes)
		return ferr(err, f,
			    "field 'patterns' must have every id of 'shapes'");
	f->shape_patterns = f->pat_buf_;
	return 0;
}

static int check_oids(struct ss_frame *f, json_t *v, struct ss_err *err)
{
	size_t i, n;

	if (!json_is_array(v) || json_array_size(v) == 0)
		return ferr(err, f, "field 'oids' must be a non-empty array");
	n = json_array_size(v);
	SS_GROW(f->oids_buf_, f->oids_alloc_, n);
	for (i = 0; i < n; i++)
		if (get_oid(json_array_get(v, i), &f->oids_buf_[i]))
			return ferr(err, f,
				    "field 'oids'[%zu] must be an integer "
				    "between 1 and 4294967295",
				    i);
	f->oids = f->oids_buf_;
	f->noids = n;
	return 0;
}

/* A partition's ancestors: distinct oids, none the relation's own. */
static int check_ancestors(struct ss_frame *f, json_t *v, struct ss_err *err)
{
	size_t i, j, n;

	if (!json_is_array(v) || json_array_size(v) == 0)
		return ferr(err, f,
			    "field 'ancestors' must be a non-empty array");
	n = json_array_size(v);
	SS_GROW(f->anc_buf_, f->anc_alloc_, n);
	for (i = 0; i < n; i++) {
		if (get_oid(json_array_get(v, i), &f->anc_buf_[i]))
			return ferr(err, f,
				    "field 'ancestors'[%zu] must be an integer "
				    "between 1 and 4294967295",
				    i);
		if (f->anc_buf_[i] == f->oid)
			return ferr(err, f,
				    "field 'ancestors'[%zu] is the "
				    "relation itself",
				    i);
		for (j = 0; j < i; j++)
			if (f->anc_buf_[j] == f->anc_buf_[i])
				return ferr(err, f,
					    "field 'ancestors'[%zu] is "
					    "given twice",
					    i);
	}
	f->ancestors = f->anc_buf_;
	f->nancestors = n;
	return 0;
}

static const char *const column_keys[] = {"name",   "type", "type_oid",
					  "typmod", "pk",   NULL};
/* Optional column fields, written after the required ones. */
static const char *const column_optional[] = {"key_index", NULL};

static int check_columns(struct ss_frame *f, json_t *v, struct ss_err *err)
{
	size_t i, n;

	if (!json_is_array(v))
		return ferr(err, f, "field 'columns' must be an array");
	n = json_array_size(v);
	SS_GROW(f->cols_buf_, f->cols_alloc_, n + 1);
	for (i = 0; i < n; i++) {
		struct ss_frame_column *c = &f->cols_buf_[i];
		json_t *col = json_array_get(v, i), *x;
		json_int_t num;
		const char *key;
		int k;

		if (!json_is_object(col))
			return ferr(err, f,
				    "field 'columns'[%zu] must be an object",
				    i);
		for (k = 0; column_keys[k]; k++)
			if (!json_object_get(col, column_keys[k]))
				return ferr(err, f,
					    "field 'columns'[%zu]: missing "
					    "field '%s'",
					    i, column_keys[k]);
		json_object_foreach(col, key, x)
		{
			char q[300];

			for (k = 0; column_keys[k]; k++)
				if (!strcmp(key, column_keys[k]))
					break;
			if (!column_keys[k] && !strcmp(key, column_optional[0]))
				continue;
			if (!column_keys[k]) {
				ss_quote_text(q, sizeof(q), key, strlen(key),
					      64);
				return ferr(err, f,
					    "field 'columns'[%zu]: unknown "
					    "field '%s'",
					    i, q);
			}
		}
		c->name = json_string_value(json_object_get(col, "name"));
		c->type = json_string_value(json_object_get(col, "type"));
		if (!c->name || !c->type || !*c->name || !*c->type)
			return ferr(err, f,
				    "field 'columns'[%zu]: 'name' and 'type' "
				    "must be non-empty strings",
				    i);
		if (get_oid(json_object_get(col, "type_oid"), &c->type_oid))
			return ferr(err, f,
				    "field 'columns'[%zu]: 'type_oid' must be "
				    "an integer between 1 and 4294967295",
				    i);
		if (get_int(json_object_get(col, "typmod"), INT32_MIN,
			    INT32_MAX, &num))
			return ferr(err, f,
				    "field 'columns'[%zu]: 'typmod' must be a "
				    "32-bit integer",
				    i);
		c->typmod = (int32_t)num;
		x = json_object_get(col, "pk");
		if (!json_is_boolean(x))
			return ferr(err, f,
				    "field 'columns'[%zu]: 'pk' must be true "
				    "or false",
				    i);
		c->pk = json_is_true(x);
		c->key_index = -1;
		x = json_object_get(col, "key_index");
		if (x) {
			if (get_int(x, 0, (json_int_t)n - 1, &num) || !c->pk)
				return ferr(
				    err, f,
				    "field 'columns'[%zu]: 'key_index' must be a "
				    "position in the primary key, on a pk column",
				    i);
			c->key_index = (int)num;
		}
	}
	/* Given key positions must name each position once. */
	{
		size_t npk = 0, nidx = 0, j;

		for (i = 0; i < n; i++) {
			npk += (size_t)f->cols_buf_[i].pk;
			nidx += f->cols_buf_[i].key_index >= 0;
		}
		if (nidx && nidx != npk)
			return ferr(
			    err, f,
			    "'key_index' must be given for every pk column or none");
		for (i = 0; nidx && i < n; i++) {
			if (f->cols_buf_[i].key_index < 0)
				continue;
			if ((size_t)f->cols_buf_[i].key_index >= npk)
				return ferr(
				    err, f,
				    "'key_index' %d is beyond the %zu pk columns",
				    f->cols_buf_[i].key_index, npk);
			for (j = 0; j < i; j++)
				if (f->cols_buf_[j].key_index ==
				    f->cols_buf_[i].key_index)
					return ferr(
					    err, f,
					    "'key_index' %d is given twice",
					    f->cols_buf_[i].key_index);
		}
	}
	f->columns = f->cols_buf_;
	f->ncolumns = n;
	return 0;
}

/* Whether op carries a "new" / "old" row. */
static int op_has_new(enum ss_frame_op op)
{
	return op == SS_FRAME_OP_INSERT || op == SS_FRAME_OP_UPDATE;
}

static int op_has_old(enum ss_frame_op op)
{
	return op == SS_FRAME_OP_UPDATE || op == SS_FRAME_OP_DELETE;
}

static int check_field(struct ss_frame *f, const struct field *fd, json_t *v,
		       struct ss_err *err)
{
	json_int_t num;
	const char *s;

	switch (fd->slot) {
	case S_AFTER:
		if (get_int(v, 0, INT64_MAX, &num))
			return ferr(err, f,
				    "field '%s' must be a non-negative integer",
				    fd->name);
		f->has_after = 1;
		f->after = (uint64_t)num;
		return 0;
	case S_XID:
	case S_POS:
		if (get_int(v, 0, INT64_MAX, &num))
			return ferr(err, f,
				    "field '%s' must be a non-negative integer",
				    fd->name);
		if (fd->slot == S_XID)
			f->xid = (uint64_t)num;
		else
			f->pos = (uint64_t)num;
		return 0;
	case S_LSN:
		return get_lsn(f, fd->name, v, &f->lsn, err);
	case S_STREAM:
		if (get_int(v, 1, INT64_MAX, &num))
			return ferr(
			    err, f,
			    "field 'stream' must be a positive integer");
		f->stream = (int64_t)num;
		return 0;
	case S_END_LSN:
		if (get_lsn(f, fd->name, v, &f->end_lsn, err))
			return -1;
		if (f->end_lsn < f->lsn)
			return ferr(err, f, "field 'end_lsn' is before 'lsn'");
		return 0;
	case S_TS:
		if (!json_is_string(v))
			return ferr(err, f, "field 'ts' must be a string");
		if (ss_frame_parse_ts(json_string_value(v), &f->ts_us, err)) {
			ss_err_prefix(err, "%s frame: field 'ts'",
				      ss_frame_type_name(f->type));
			return -1;
		}
		f->ts = json_string_value(v);
		return 0;
	case S_OID:
		if (get_oid(v, &f->oid))
			return ferr(err, f,
				    "field 'oid' must be an integer between 1 "
				    "and 4294967295");
		return 0;
	case S_OP:
		s = json_string_value(v);
		f->op = s ? op_from_name(s) : SS_FRAME_OP_NONE;
		if (f->op == SS_FRAME_OP_NONE)
			return ferr(err, f,
				    "field 'op' must be \"insert\", \"update\" "
				    "or \"delete\"");
		return 0;
	case S_NEW:
		if (!op_has_new(f->op))
			return ferr(err, f,
				    "field 'new' is not allowed with op '%s'",
				    ss_frame_op_name(f->op));
		if (check_row(f, "new", v, err))
			return -1;
		f->new_row = v;
		return 0;
	case S_OLD:
		if (!op_has_old(f->op))
			return ferr(err, f,
				    "field 'old' is not allowed with op '%s'",
				    ss_frame_op_name(f->op));
		if (check_row(f, "old", v, err))
			return -1;
		f->old_row = v;
		return 0;
	case S_SHAPES:
		return check_shapes(f, v, err);
	case S_EVENT:
		s = json_string_value(v);
		if (!s || strcmp(s, "move-out"))
			return ferr(err, f,
				    "field 'event' must be \"move-out\"");
		f->event = s;
		return 0;
	case S_MOVES:
	case S_META:
	case S_PATTERNS:
		/* Checked after the loop, once the per-shape array exists. */
		return 0;
	case S_MESSAGE: {
		json_t *m;

		s = json_string_value(v);
		m = s ? json_loadb(s, json_string_length(v),
				   JSON_REJECT_DUPLICATES, NULL)
		      : NULL;
		if (!json_is_object(m)) {
			json_decref(m);
			return ferr(err, f,
				    "field 'message' must be a string holding "
				    "a JSON object");
		}
		if (!movein_line_kind(m) ||
		    memchr(s, '\n', json_string_length(v)) ||
		    memchr(s, '\r', json_string_length(v))) {
			json_decref(m);
			return ferr(err, f,
				    "field 'message' must be one line: a "
				    "move-in or move-out event with its "
				    "patterns and txids, an insert with "
				    "is_move_in, snapshot-end, or a delete");
		}
		json_decref(m);
		f->message = s;
		f->message_len = json_string_length(v);
		return 0;
	}
	case S_OIDS:
		return check_oids(f, v, err);
	case S_SCHEMA:
	case S_TABLE:
	case S_REASON:
	case S_MARK: {
		int empty_ok = fd->slot == S_REASON || fd->slot == S_MARK;

		s = json_string_value(v);
		if (!s || (!empty_ok && !*s))
			return ferr(err, f, "field '%s' must be a %sstring",
				    fd->name, empty_ok ? "" : "non-empty ");
		if (fd->slot == S_SCHEMA)
			f->schema = s;
		else if (fd->slot == S_TABLE)
			f->table = s;
		else if (fd->slot == S_MARK)
			f->mark = s;
		else
			f->reason = s;
		return 0;
	}
	case S_RI:
		s = json_string_value(v);
		if (!s || strlen(s) != 1 || !strchr("dnfi", s[0]))
			return ferr(err, f,
				    "field 'replica_identity' must be \"d\", "
				    "\"n\", \"f\" or \"i\"");
		f->replica_identity = s[0];
		return 0;
	case S_COLUMNS:
		return check_columns(f, v, err);
	case S_ANCESTORS:
		return check_ancestors(f, v, err);
	}
	return ferr(err, f, "internal error: unhandled field '%s'", fd->name);
}

/* Validate json into f (already reset); borrows json, takes no ref. */
static int decode(struct ss_frame *f, json_t *json, struct ss_err *err)
{
	const struct field *fields, *fd;
	json_t *v;
	const char *key, *tname;
	char q[300];
	int t;

	if (!json_is_object(json))
		return ss_err_set(err, SS_ERR_INPUT,
				  "frame must be a JSON object");
	v = json_object_get(json, "type");
	if (!v)
		return ss_err_set(err, SS_ERR_INPUT, "missing field 'type'");
	tname = json_string_value(v);
	if (!tname)
		return ss_err_set(err, SS_ERR_INPUT,
				  "field 'type' must be a string");
	for (t = SS_FRAME_BEGIN; t <= SS_FRAME_MOVEIN; t++)
		if (!strcmp(tname, type_names[t]))
			break;
	if (t > SS_FRAME_MOVEIN) {
		ss_quote_text(q, sizeof(q), tname, json_string_length(v), 64);
		return ss_err_set(err, SS_ERR_INPUT, "unknown frame type '%s'",
				  q);
	}
	f->type = (enum ss_frame_type)t;
	fields = schema[t];
	for (fd = fields; fd->name; fd++) {
		v = json_object_get(json, fd->name);
		if (!v) {
			if (fd->need == REQUIRED ||
			    (fd->need == BY_OP &&
			     (fd->slot == S_NEW ? op_has_new(f->op)
						: op_has_old(f->op))))
				return ferr(err, f, "missing field '%s'",
					    fd->name);
			continue;
		}
		if (check_field(f, fd, v, err))
			return -1;
	}
	/* The per-shape operations: op everywhere, then moves applied. */
	if (f->type == SS_FRAME_CHANGE) {
		size_t i;

		if (f->has_shapes) {
			SS_GROW(f->ops_buf_, f->ops_alloc_, f->nshapes + 1);
			for (i = 0; i < f->nshapes; i++)
				f->ops_buf_[i] = f->op;
			f->shape_ops = f->ops_buf_;
		}
		v = json_object_get(json, "moves");
		if (v && check_moves(f, v, err))
			return -1;
		v = json_object_get(json, "meta");
		if (v && check_meta(f, v, err))
			return -1;
	}
	if (f->type == SS_FRAME_MOVE &&
	    check_patterns(f, json_object_get(json, "patterns"), err))
		return -1;
	if (f->type == SS_FRAME_MOVEIN && f->nshapes != 1)
		return ferr(err, f, "field 'shapes' must hold one shape");
	json_object_foreach(json, key, v)
	{
		if (!strcmp(key, "type"))
			continue;
		for (fd = fields; fd->name; fd++)
			if (!strcmp(key, fd->name))
				break;
		if (!fd->name) {
			ss_quote_text(q, sizeof(q), key, strlen(key), 64);
			return ferr(err, f, "unknown field '%s'", q);
		}
	}
	return 0;
}

static int decode_into(struct ss_frame *f, json_t *json, struct ss_err *err)
{
	reset(f);
	if (decode(f, json, err) < 0) {
		reset(f);
		return -1;
	}
	f->json = json_incref(json);
	return 0;
}

int ss_frame_decode(struct ss_frame *f, json_t *json, struct ss_err *err)
{
	return decode_into(f, json, err);
}

int ss_frame_validate(json_t *json, struct ss_err *err)
{
	struct ss_frame f = SS_FRAME_INIT;
	int rc = decode(&f, json, err);

	f.json = NULL;
	ss_frame_release(&f);
	return rc;
}

int ss_frame_parse(struct ss_frame *f, const char *line, size_t len,
		   struct ss_err *err)
{
	json_error_t jerr;
	json_t *json;
	char q[400];
	size_t i;
	int rc;

	reset(f);
	for (i = 0; i < len; i++)
		if (!strchr(" \t\r", line[i]))
			break;
	if (i == len)
		return ss_err_set(err, SS_ERR_INPUT, "empty line");
	json = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json) {
		ss_quote_text(q, sizeof(q), jerr.text, strlen(jerr.text), 160);
		return ss_err_set(err, SS_ERR_INPUT, "invalid JSON: %s", q);
	}
	rc = decode_into(f, json, err);
	json_decref(json);
	return rc;
}

/* ---- Reading ---------------------------------------------------------- */

#define RBUF_SIZE 65536
/* Give back line storage above this size once a long line is done. */
#define LINE_KEEP (4u << 20)

struct ss_frame_reader {
	FILE *in; /* stdio mode, or NULL */
	int fd;	  /* fd mode */
	char *name;
	size_t max_line;
	uint64_t lineno;
	int in_line;	/* bytes of line `lineno` have been read */
	int skipping;	/* discarding the rest of a too-long line */
	int line_ready; /* `line` holds the line last returned */
	struct ss_buf line;
	char *rbuf; /* fd mode buffer */
	size_t rpos, rlen;
	int check_order;
	struct ss_frame_seq seq;
};

static struct ss_frame_reader *reader_new(const char *name)
{
	struct ss_frame_reader *r = ss_xcalloc(1, sizeof(*r));

	r->name = ss_xstrdup(name ? name : "<input>");
	r->max_line = SS_FRAME_MAX_LINE_DEFAULT;
	r->fd = -1;
	ss_buf_init(&r->line);
	return r;
}

struct ss_frame_reader *ss_frame_reader_new(FILE *in, const char *name)
{
	struct ss_frame_reader *r = reader_new(name);

	r->in = in;
	return r;
}

struct ss_frame_reader *ss_frame_reader_new_fd(int fd, const char *name)
{
	struct ss_frame_reader *r = reader_new(name);

	r->fd = fd;
	r->rbuf = ss_xmalloc(RBUF_SIZE);
	return r;
}

void ss_frame_reader_free(struct ss_frame_reader *r)
{
	if (!r)
		return;
	ss_buf_release(&r->line);
	free(r->rbuf);
	free(r->name);
	free(r);
}

void ss_frame_reader_set_max_line(struct ss_frame_reader *r, size_t max)
{
	r->max_line = max ? max : SS_FRAME_MAX_LINE_DEFAULT;
}

uint64_t ss_frame_reader_lineno(const struct ss_frame_reader *r)
{
	return r->lineno;
}

const char *ss_frame_reader_line(const struct ss_frame_reader *r, size_t *len)
{
	if (len)
		*len = r->line_ready ? r->line.len : 0;
	return r->line_ready ? r->line.buf : "";
}

int ss_frame_reader_buffered(const struct ss_frame_reader *r)
{
	return r->in == NULL && r->rpos < r->rlen;
}

/* Empty the line buffer, giving back storage a long line left behind. */
static void clear_line(struct ss_frame_reader *r)
{
	if (r->line.alloc > LINE_KEEP) {
		ss_buf_release(&r->line);
		ss_buf_init(&r->line);
	}
	ss_buf_reset(&r->line);
}

static int too_long(struct ss_frame_reader *r, struct ss_err *err)
{
	r->skipping = 1;
	clear_line(r);
	return ss_err_set(err, SS_ERR_INPUT,
			  "%s:%" PRIu64 ": line too long (more than %zu bytes)",
			  r->name, r->lineno, r->max_line);
}

static int at_eof(struct ss_frame_reader *r, struct ss_err *err)
{
	int partial = r->in_line && !r->skipping;

	r->in_line = r->skipping = 0;
	clear_line(r);
	if (partial)
		return ss_err_set(err, SS_ERR_INPUT,
				  "%s:%" PRIu64 ": incomplete line at end of "
				  "input",
				  r->name, r->lineno);
	return SS_FRAME_EOF;
}

static int read_error(struct ss_frame_reader *r, int e, struct ss_err *err)
{
	if (e == EINTR || e == EAGAIN || e == EWOULDBLOCK)
		return SS_FRAME_AGAIN;
	return ss_err_set(err, SS_ERR_RUNTIME, "could not read '%s': %s",
			  r->name, strerror(e));
}

/* stdio mode: getc_unlocked reads only what the stream has, so a live
 * pipe is never waited on for more than one line. */
static int read_line_stdio(struct ss_frame_reader *r, struct ss_err *err)
{
	for (;;) {
		int c = getc_unlocked(r->in);

		if (c == EOF) {
			if (ferror(r->in)) {
				int e = errno;

				clearerr(r->in);
				return read_error(r, e, err);
			}
			return at_eof(r, err);
		}
		if (!r->in_line) {
			r->in_line = 1;
			r->lineno++;
		}
		if (c == '\n') {
			if (r->skipping) {
				r->skipping = r->in_line = 0;
				continue;
			}
			r->in_line = 0;
			return 1;
		}
		if (r->skipping)
			continue;
		if (r->line.len >= r->max_line)
			return too_long(r, err);
		if (r->line.alloc - r->line.len < 2)
			ss_buf_grow(&r->line, 4096);
		r->line.buf[r->line.len++] = (char)c;
		r->line.buf[r->line.len] = '\0';
	}
}

static int read_line_fd(struct ss_frame_reader *r, struct ss_err *err)
{
	for (;;) {
		const char *p, *nl;
		size_t seg;

		if (r->rpos == r->rlen) {
			ssize_t n = read(r->fd, r->rbuf, RBUF_SIZE);

			if (n < 0)
				return read_error(r, errno, err);
			if (n == 0)
				return at_eof(r, err);
			r->rpos = 0;
			r->rlen = (size_t)n;
		}
		if (!r->in_line) {
			r->in_line = 1;
			r->lineno++;
		}
		p = r->rbuf + r->rpos;
		nl = memchr(p, '\n', r->rlen - r->rpos);
		seg = nl ? (size_t)(nl - p) : r->rlen - r->rpos;
		if (!r->skipping && r->line.len + seg > r->max_line) {
			/* Drop what we have and the rest of this line. */
			too_long(r, err);
			r->rpos += seg;
			if (nl) {
				r->rpos++;
				r->skipping = r->in_line = 0;
			}
			return -1;
		}
		if (!r->skipping)
			ss_buf_add(&r->line, p, seg);
		r->rpos += seg;
		if (nl) {
			r->rpos++;
			if (r->skipping) {
				r->skipping = r->in_line = 0;
				continue;
			}
			r->in_line = 0;
			return 1;
		}
	}
}

int ss_frame_read(struct ss_frame_reader *r, struct ss_frame *f,
		  struct ss_err *err)
{
	int rc;

	reset(f);
	if (r->line_ready) {
		r->line_ready = 0;
		clear_line(r);
	}
	rc = r->in ? read_line_stdio(r, err) : read_line_fd(r, err);
	if (rc != 1)
		return rc;
	r->line_ready = 1;
	if (ss_frame_parse(f, r->line.buf, r->line.len, err) < 0 ||
	    (r->check_order && ss_frame_seq_check(&r->seq, f, err) < 0)) {
		reset(f);
		ss_err_prefix(err, "%s:%" PRIu64, r->name, r->lineno);
		return -1;
	}
	return SS_FRAME_OK;
}

void ss_frame_reader_check_order(struct ss_frame_reader *r, int on)
{
	r->check_order = on;
}

const struct ss_frame_seq *ss_frame_reader_seq(const struct ss_frame_reader *r)
{
	return r->check_order ? &r->seq : NULL;
}

/* ---- Stream order ----------------------------------------------------- */

void ss_frame_seq_init(struct ss_frame_seq *seq)
{
	memset(seq, 0, sizeof(*seq));
}

/* The frame belongs to the open transaction: same xid and commit LSN. */
static int in_open_txn(const struct ss_frame_seq *seq, const struct ss_frame *f,
		       struct ss_err *err)
{
	char a[SS_LSN_STRMAX], b[SS_LSN_STRMAX];

	if (!seq->in_txn)
		return ss_err_set(err, SS_ERR_INPUT,
				  "%s frame outside a transaction",
				  ss_frame_type_name(f->type));
	if (f->xid != seq->xid)
		return ferr(err, f,
			    "xid %" PRIu64 " does not match the open "
			    "transaction (xid %" PRIu64 ")",
			    f->xid, seq->xid);
	if (f->lsn != seq->lsn)
		return ferr(err, f,
			    "lsn %s does not match the open transaction "
			    "(lsn %s)",
			    ss_lsn_format(f->lsn, a),
			    ss_lsn_format(seq->lsn, b));
	return 0;
}

int64_t ss_frame_seq_last_pos(const struct ss_frame_seq *seq)
{
	int64_t last = seq->have_pos ? (int64_t)seq->pos : -1;

	if (seq->have_move && (int64_t)seq->move_pos > last)
		last = (int64_t)seq->move_pos;
	return last;
}

int ss_frame_seq_check(struct ss_frame_seq *seq, const struct ss_frame *f,
		       struct ss_err *err)
{
	char a[SS_LSN_STRMAX], b[SS_LSN_STRMAX];

	switch (f->type) {
	case SS_FRAME_BEGIN:
		if (seq->in_txn)
			return ferr(err, f,
				    "transaction xid %" PRIu64 " is still open",
				    seq->xid);
		if (seq->have_commit && f->lsn <= seq->last_commit)
			return ferr(err, f,
				    "lsn %s is not after the previous commit "
				    "(%s)",
				    ss_lsn_format(f->lsn, a),
				    ss_lsn_format(seq->last_commit, b));
		if (f->lsn < seq->progress)
			return ferr(err, f,
				    "lsn %s is before the last progress "
				    "position (%s)",
				    ss_lsn_format(f->lsn, a),
				    ss_lsn_format(seq->progress, b));
		seq->in_txn = 1;
		seq->xid = f->xid;
		seq->lsn = f->lsn;
		seq->tail = 0;
		seq->have_pos = 0;
		seq->have_move = 0;
		return 0;
	case SS_FRAME_CHANGE:
	case SS_FRAME_TRUNCATE:
		if (in_open_txn(seq, f, err))
			return -1;
		if (seq->tail)
			return ferr(err, f, "after a move-in's lines");
		if (seq->have_pos && f->pos <= seq->pos)
			return ferr(err, f,
				    "pos %" PRIu64 " does not follow %" PRIu64,
				    f->pos, seq->pos);
		if (seq->have_move && f->pos < seq->move_pos)
			return ferr(err, f,
				    "pos %" PRIu64
				    " is before the move at %" PRIu64,
				    f->pos, seq->move_pos);
		seq->have_pos = 1;
		seq->pos = f->pos;
		return 0;
	case SS_FRAME_MOVE:
		/* Before the change at its pos (if that change is sent at
		 * all), after every earlier one. */
		if (in_open_txn(seq, f, err))
			return -1;
		if (seq->tail)
			return ferr(err, f, "after a move-in's lines");
		if ((seq->have_pos && f->pos <= seq->pos) ||
		    (seq->have_move && f->pos <= seq->move_pos))
			return ferr(err, f,
				    "pos %" PRIu64 " does not follow %" PRIu64,
				    f->pos,
				    seq->have_move && seq->move_pos > seq->pos
					? seq->move_pos
					: seq->pos);
		seq->have_move = 1;
		seq->move_pos = f->pos;
		return 0;
	case SS_FRAME_MOVEIN:
		/* After the begin, before every change and move; with
		 * "after": after every one, and none may follow. */
		if (in_open_txn(seq, f, err))
			return -1;
		if (f->has_after) {
			if ((seq->have_pos && f->after < seq->pos) ||
			    (seq->have_move && f->after < seq->move_pos))
				return ferr(err, f,
					    "after %" PRIu64
					    " is before a change of the "
					    "transaction",
					    f->after);
			seq->tail = 1;
			return 0;
		}
		if (seq->have_pos || seq->have_move || seq->tail)
			return ferr(err, f,
				    "after a change of the transaction");
		return 0;
	case SS_FRAME_COMMIT:
		if (in_open_txn(seq, f, err))
			return -1;
		seq->in_txn = 0;
		seq->have_commit = 1;
		seq->last_commit = f->lsn;
		return 0;
	case SS_FRAME_PROGRESS:
		if (seq->in_txn)
			return ss_err_set(err, SS_ERR_INPUT,
					  "progress frame "
					  "inside a transaction");
		if (f->lsn < seq->progress)
			return ferr(err, f, "lsn %s goes back (last %s)",
				    ss_lsn_format(f->lsn, a),
				    ss_lsn_format(seq->progress, b));
		seq->progress = f->lsn;
		return 0;
	case SS_FRAME_MARK:
		/* Between transactions; its position may be below a progress
		 * position (a keepalive can report WAL not yet decoded). */
		if (seq->in_txn)
			return ss_err_set(err, SS_ERR_INPUT,
					  "mark frame inside a transaction");
		return 0;
	case SS_FRAME_STREAM:
		if (f->stream < seq->stream)
			return ferr(err, f,
				    "stream %" PRId64
				    " goes back (last %" PRId64 ")",
				    f->stream, seq->stream);
		if (f->stream > seq->stream) {
			/* Another stream: its positions start afresh, and
			 * a transaction the old one left open never ends. */
			ss_frame_seq_init(seq);
			seq->stream = f->stream;
		}
		return 0;
	case SS_FRAME_RELATION:
	case SS_FRAME_INVALIDATE:
		return 0;
	default:
		return ss_err_set(err, SS_ERR_INPUT, "not a frame");
	}
}

/* ---- Writing ---------------------------------------------------------- */

struct dump_ctx {
	FILE *out;
	int err;
};

static int dump_cb(const char *buf, size_t size, void *data)
{
	struct dump_ctx *ctx = data;

	if (size && fwrite(buf, 1, size, ctx->out) != size) {
		ctx->err = errno ? errno : EIO;
		return -1;
	}
	return 0;
}

int ss_frame_write(FILE *out, const char *name, json_t *frame,
		   struct ss_err *err)
{
	struct dump_ctx ctx = {out, 0};

	if (ss_frame_validate(frame, err) < 0) {
		ss_err_prefix(err, "invalid frame");
		return -1;
	}
	errno = 0;
	if (json_dump_callback(frame, dump_cb, &ctx,
			       JSON_COMPACT | JSON_PRESERVE_ORDER) < 0 ||
	    putc('\n', out) == EOF || ferror(out)) {
		int e = ctx.err ? ctx.err : errno ? errno : EIO;

		return ss_err_set(err, SS_ERR_RUNTIME,
				  "could not write to '%s': %s",
				  name ? name : "<output>", strerror(e));
	}
	return 0;
}

/* ---- The direct change writer --------------------------------------- */

/*
 * Append `s` as a JSON string the way jansson dumps it (JSON_COMPACT, no
 * JSON_ENSURE_ASCII: ss_buf_add_json with upper-case \u00XX), refusing
 * what jansson would not hold. Returns 0, or -1 for invalid UTF-8 (1) or a
 * NUL (2) in *why.
 */
static int add_json_text(struct ss_buf *b, const char *text, size_t len,
			 int *why)
{
	int r = ss_buf_add_json(b, text, len, SS_JSON_UPPER | SS_JSON_STRICT);

	if (r == 0)
		return 0;
	*why = r == SS_JSON_ENUL ? 2 : 1;
	return -1;
}

static void add_u64(struct ss_buf *b, uint64_t v)
{
	char d[20];
	size_t n = 0;

	do {
		d[sizeof(d) - ++n] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	ss_buf_add(b, d + sizeof(d) - n, n);
}

static int add_row(struct ss_buf *b, const char *key,
		   const struct ss_frame_col *cols, size_t n,
		   struct ss_err *err)
{
	size_t i;
	int why = 0;

	ss_buf_add(b, ",\"", 2);
	ss_buf_adds(b, key);
	ss_buf_add(b, "\":{", 3);
	for (i = 0; i < n; i++) {
		if (i)
			ss_buf_addc(b, ',');
		if (add_json_text(b, cols[i].name, strlen(cols[i].name), &why) <
		    0)
			goto bad;
		ss_buf_addc(b, ':');
		if (!cols[i].data)
			ss_buf_add(b, "null", 4);
		else if (add_json_text(b, cols[i].data, cols[i].len, &why) < 0)
			goto bad;
	}
	ss_buf_addc(b, '}');
	return 0;
bad:
	return ss_err_set(err, SS_ERR_INPUT, "change frame: column '%.100s' %s",
			  cols[i].name,
			  why == 2 ? "contains NUL" : "is not valid UTF-8");
}

int ss_frame_write_change(FILE *out, const char *name, enum ss_frame_op op,
			  uint32_t oid, uint64_t xid, ss_lsn lsn, uint64_t pos,
			  const struct ss_frame_col *newc, size_t nnew,
			  const struct ss_frame_col *oldc, size_t nold,
			  struct ss_buf *b, struct ss_err *err)
{
	char l[SS_LSN_STRMAX];
	const char *opname = ss_frame_op_name(op);

	if (!opname)
		return ss_err_set(err, SS_ERR_INPUT,
				  "invalid frame: change frame: bad op");
	/* By hand rather than with printf: this runs once per change. */
	ss_buf_reset(b);
	ss_buf_adds(b, "{\"type\":\"change\",\"op\":\"");
	ss_buf_adds(b, opname);
	ss_buf_adds(b, "\",\"oid\":");
	add_u64(b, oid);
	ss_buf_adds(b, ",\"xid\":");
	add_u64(b, xid);
	ss_buf_adds(b, ",\"lsn\":\"");
	ss_buf_adds(b, ss_lsn_format(lsn, l));
	ss_buf_adds(b, "\",\"pos\":");
	add_u64(b, pos);
	if (op != SS_FRAME_OP_DELETE && add_row(b, "new", newc, nnew, err) < 0)
		return -1;
	if (op != SS_FRAME_OP_INSERT && add_row(b, "old", oldc, nold, err) < 0)
		return -1;
	ss_buf_add(b, "}\n", 2);
	errno = 0;
	if (fwrite(b->buf, 1, b->len, out) != b->len || ferror(out))
		return ss_err_set(
		    err, SS_ERR_RUNTIME, "could not write to '%s': %s",
		    name ? name : "<output>", strerror(errno ? errno : EIO));
	/* One huge value must not keep its memory for the rest of the run. */
	if (b->alloc > ((size_t)1 << 20))
		ss_buf_release(b);
	return 0;
}

/* ---- Builders --------------------------------------------------------- */

/* A string member; NULL or invalid UTF-8 becomes null, which the schema
 * then rejects with a clear message at write time. */
static json_t *str(const char *s)
{
	json_t *j = s ? json_string(s) : NULL;

	return j ? j : json_null();
}

static json_t *new_frame(enum ss_frame_type type)
{
	json_t *o = need(json_object());

	set(o, "type", json_string(type_names[type]));
	return o;
}

static json_t *lsn_string(ss_lsn lsn)
{
	char buf[SS_LSN_STRMAX];

	return json_string(ss_lsn_format(lsn, buf));
}

static json_t *ts_string(int64_t ts_us)
{
	char buf[64];

	ss_format_time_us(ts_us, buf, sizeof(buf));
	return json_string(buf);
}

json_t *ss_frame_new_begin(uint64_t xid, ss_lsn lsn, int64_t ts_us)
{
	json_t *o = new_frame(SS_FRAME_BEGIN);

	set(o, "xid", json_integer((json_int_t)xid));
	set(o, "lsn", lsn_string(lsn));
	set(o, "ts", ts_string(ts_us));
	return o;
}

json_t *ss_frame_new_commit(uint64_t xid, ss_lsn lsn, ss_lsn end_lsn,
			    int64_t ts_us)
{
	json_t *o = new_frame(SS_FRAME_COMMIT);

	set(o, "xid", json_integer((json_int_t)xid));
	set(o, "lsn", lsn_string(lsn));
	set(o, "end_lsn", lsn_string(end_lsn));
	set(o, "ts", ts_string(ts_us));
	return o;
}

json_t *ss_frame_new_change(enum ss_frame_op op, uint32_t oid, uint64_t xid,
			    ss_lsn lsn, uint64_t pos, json_t *new_row,
			    json_t *old_row)
{
	json_t *o = new_frame(SS_FRAME_CHANGE);
	const char *name = ss_frame_op_name(op);

	set(o, "op", name ? json_string(name) : json_null());
	set(o, "oid", json_integer(oid));
	set(o, "xid", json_integer((json_int_t)xid));
	set(o, "lsn", lsn_string(lsn));
	set(o, "pos", json_integer((json_int_t)pos));
	if (new_row)
		set(o, "new", new_row);
	if (old_row)
		set(o, "old", old_row);
	return o;
}

json_t *ss_frame_new_truncate(uint64_t xid, ss_lsn lsn, uint64_t pos,
			      const uint32_t *oids, size_t noids)
{
	json_t *o = new_frame(SS_FRAME_TRUNCATE), *a = need(json_array());
	size_t i;

	set(o, "xid", json_integer((json_int_t)xid));
	set(o, "lsn", lsn_string(lsn));
	set(o, "pos", json_integer((json_int_t)pos));
	for (i = 0; i < noids; i++)
		append(a, json_integer(oids[i]));
	set(o, "oids", a);
	return o;
}

json_t *ss_frame_new_relation(uint32_t oid, const char *nspname,
			      const char *table, char replica_identity)
{
	json_t *o = new_frame(SS_FRAME_RELATION);
	char ri[2] = {replica_identity, '\0'};

	set(o, "oid", json_integer(oid));
	set(o, "schema", str(nspname));
	set(o, "table", str(table));
	set(o, "replica_identity", json_string(ri));
	set(o, "columns", json_array());
	return o;
}

void ss_frame_set_key_index(json_t *relation, int key_index)
{
	json_t *cols = json_object_get(relation, "columns");
	size_t n = json_array_size(cols);

	if (n)
		set(json_array_get(cols, n - 1), "key_index",
		    json_integer(key_index));
}

void ss_frame_set_ancestors(json_t *relation, const uint32_t *oids, size_t n)
{
	json_t *a = need(json_array());
	size_t i;

	for (i = 0; i < n; i++)
		append(a, json_integer(oids[i]));
	set(relation, "ancestors", a);
}

void ss_frame_add_column(json_t *relation, const char *name, const char *type,
			 uint32_t type_oid, int32_t typmod, int pk)
{
	json_t *cols = json_object_get(relation, "columns");
	json_t *c = need(json_object());

	if (!json_is_array(cols)) {
		cols = need(json_array());
		set(relation, "columns", cols);
	}
	set(c, "name", str(name));
	set(c, "type", str(type));
	set(c, "type_oid", json_integer(type_oid));
	set(c, "typmod", json_integer(typmod));
	set(c, "pk", json_boolean(pk));
	append(cols, c);
}

static json_t *id_array(const int64_t *ids, size_t n)
{
	json_t *a = need(json_array());
	size_t i;

	for (i = 0; i < n; i++)
		append(a, json_integer(ids[i]));
	return a;
}

json_t *ss_frame_new_invalidate(const int64_t *shapes, size_t nshapes,
				uint32_t oid, const char *reason)
{
	json_t *o = new_frame(SS_FRAME_INVALIDATE);

	set(o, "shapes", id_array(shapes, nshapes));
	set(o, "oid", json_integer(oid));
	set(o, "reason", str(reason));
	return o;
}

json_t *ss_frame_new_progress(ss_lsn lsn)
{
	json_t *o = new_frame(SS_FRAME_PROGRESS);

	set(o, "lsn", lsn_string(lsn));
	return o;
}

json_t *ss_frame_new_movein(uint64_t xid, ss_lsn lsn, uint64_t pos,
			    int64_t shape, int64_t after, const char *message,
			    size_t len)
{
	json_t *o = new_frame(SS_FRAME_MOVEIN);

	set(o, "xid", json_integer((json_int_t)xid));
	set(o, "lsn", lsn_string(lsn));
	set(o, "pos", json_integer((json_int_t)pos));
	set(o, "shapes", id_array(&shape, 1));
	if (after >= 0)
		set(o, "after", json_integer((json_int_t)after));
	set(o, "message", need(json_stringn(message, len)));
	return o;
}

json_t *ss_frame_new_move(uint64_t xid, ss_lsn lsn, uint64_t pos,
			  const char *event, const int64_t *shapes, size_t n)
{
	json_t *o = new_frame(SS_FRAME_MOVE);

	set(o, "xid", json_integer((json_int_t)xid));
	set(o, "lsn", lsn_string(lsn));
	set(o, "pos", json_integer((json_int_t)pos));
	set(o, "event", str(event));
	set(o, "shapes", id_array(shapes, n));
	set(o, "patterns", need(json_object()));
	return o;
}

void ss_frame_set_patterns(json_t *move, int64_t id, json_t *patterns)
{
	char key[24];

	snprintf(key, sizeof(key), "%" PRId64, id);
	set(json_object_get(move, "patterns"), key, need(patterns));
}

json_t *ss_frame_new_mark(ss_lsn lsn, const char *mark)
{
	json_t *o = new_frame(SS_FRAME_MARK);

	set(o, "lsn", lsn_string(lsn));
	set(o, "mark", str(mark));
	return o;
}

json_t *ss_frame_new_stream(int64_t stream, ss_lsn lsn, const char *reason)
{
	json_t *o = new_frame(SS_FRAME_STREAM);

	set(o, "stream", json_integer(stream));
	set(o, "lsn", lsn_string(lsn));
	if (reason)
		set(o, "reason", str(reason));
	return o;
}

void ss_frame_set_shapes(json_t *frame, const int64_t *ids, size_t n)
{
	set(frame, "shapes", id_array(ids, n));
}

void ss_frame_set_meta(json_t *frame, int64_t id, json_t *meta)
{
	json_t *all = json_object_get(frame, "meta");
	char key[24];

	if (!json_is_object(all)) {
		all = need(json_object());
		set(frame, "meta", all);
	}
	snprintf(key, sizeof(key), "%" PRId64, id);
	set(all, key, need(meta));
}

void ss_frame_set_move(json_t *frame, int64_t id, enum ss_frame_op op)
{
	json_t *moves = json_object_get(frame, "moves");
	const char *name = ss_frame_op_name(op);
	char key[24];

	if (!json_is_object(moves)) {
		moves = need(json_object());
		set(frame, "moves", moves);
	}
	snprintf(key, sizeof(key), "%" PRId64, id);
	set(moves, key, name ? json_string(name) : json_null());
}
