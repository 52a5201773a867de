/*
 * frame.h — the frame contract between stages: one compact JSON object per
 * line ("NDJSON"), with a "type" and a fixed set of fields per type
 * (man/shapesync-frames.5 is the reference). A reader that checks every
 * line strictly and hands out typed fields, a writer with checked writes,
 * and builders for each frame type.
 */
#ifndef SS_FRAME_H
#define SS_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "lsn.h"
#include "util.h"

enum ss_frame_type {
	SS_FRAME_NONE = 0, /* an empty or released struct ss_frame */
	SS_FRAME_BEGIN,
	SS_FRAME_RELATION,
	SS_FRAME_CHANGE,
	SS_FRAME_TRUNCATE,
	SS_FRAME_COMMIT,
	SS_FRAME_INVALIDATE,
	SS_FRAME_PROGRESS,
	SS_FRAME_STREAM,
	SS_FRAME_MARK,
	SS_FRAME_MOVE,
	SS_FRAME_MOVEIN,
};

enum ss_frame_op {
	SS_FRAME_OP_NONE = 0,
	SS_FRAME_OP_INSERT,
	SS_FRAME_OP_UPDATE,
	SS_FRAME_OP_DELETE,
};

/* The wire names: "begin", ..., and "insert", "update", "delete". NULL
 * for values outside the enums (and for NONE). */
const char *ss_frame_type_name(enum ss_frame_type type);
const char *ss_frame_op_name(enum ss_frame_op op);

/* One column of a relation frame. Strings borrowed like the frame's. */
struct ss_frame_column {
	const char *name;
	const char *type; /* pg_type.typname, e.g. "int4", "_text" */
	uint32_t type_oid;
	int32_t typmod; /* -1 when the type has none */
	int pk;		/* 1 if part of the primary key (or, for a table
			   without one, of the replica identity) */
	int key_index;	/* position in the primary key (0-based), from the
			   optional "key_index"; -1 when not given (then
			   the key is the pk columns in attnum order) */
};

/*
 * A decoded, validated frame. Transparent: read the fields that belong to
 * `type` (the others are zero/NULL). Every pointer is *borrowed*: valid
 * until the struct is decoded into again or released. The struct holds a
 * reference to `json`, so a caller that wants to keep or modify the
 * object (route adds "shapes") may json_incref it.
 *
 * Initialise with SS_FRAME_INIT or ss_frame_init(); free with
 * ss_frame_release() (which leaves it reusable and empty).
 */
struct ss_frame {
	enum ss_frame_type type;
	json_t *json;	       /* the whole frame object */
	uint64_t xid;	       /* begin change truncate commit (<= INT64_MAX) */
	ss_lsn lsn;	       /* begin change truncate commit: commit LSN;
				  progress: replicate's position;
				  stream: where the stream starts */
	ss_lsn end_lsn;	       /* commit: end of the commit record */
	const char *ts;	       /* begin commit: "2026-11-21T07:38:00.123456Z" */
	int64_t ts_us;	       /* ... the same as Unix microseconds */
	uint64_t pos;	       /* change truncate: 0-based, within the txn */
	uint32_t oid;	       /* relation change invalidate: relation oid */
	enum ss_frame_op op;   /* change */
	json_t *new_row;       /* change insert/update: {"col": "text"|null} */
	json_t *old_row;       /* change update/delete: same shape */
	int has_shapes;	       /* "shapes" present (change truncate
				  invalidate) */
	const int64_t *shapes; /* ... strictly ascending compact shape ids */
	size_t nshapes;
	/* change with shapes: shape_ops[i] is the operation for shapes[i]
	 * ("moves" applied: an update may be an insert or delete there). */
	const enum ss_frame_op *shape_ops;
	/* change with shapes: shape_meta[i] is the "meta" object of a
	 * subquery shape shapes[i] ({"tags":[..],"active_conditions":[..]
	 * [,"removed_tags":[..]]}), NULL for other shapes (borrowed). */
	json_t *const *shape_meta;
	const uint32_t *oids; /* truncate: the truncated relations (>= 1) */
	size_t noids;
	const char *schema;    /* relation */
	const char *table;     /* relation */
	char replica_identity; /* relation: 'd', 'n', 'f' or 'i' */
	const struct ss_frame_column *columns; /* relation, in attnum order */
	size_t ncolumns;
	/* relation, from the optional "ancestors": the partitioned tables
	 * the table is a partition of, its parent first, the root last
	 * (NULL and 0 when absent: not a partition) */
	const uint32_t *ancestors;
	size_t nancestors;
	const char *reason; /* invalidate; stream (NULL if absent) */
	const char *mark;   /* mark: what the marker says */
	const char *event;  /* move: "move-out" */
	/* movein: one line of a shape's move-in (a JSON object's text,
	 * checked to be one), and its length */
	const char *message;
	size_t message_len;
	/* movein: "after" present, and its value: the lines follow the
	 * transaction's changes, the last at pos `after` */
	int has_after;
	uint64_t after;
	/* move: per shape (as shapes), its patterns: a JSON array of
	 * {"pos":N,"value":"..."} (borrowed) */
	json_t *const *shape_patterns;
	int64_t stream; /* stream: the registry's stream number */

	/* Private storage behind the arrays above. */
	int64_t *shapes_buf_;
	size_t shapes_alloc_;
	enum ss_frame_op *ops_buf_;
	size_t ops_alloc_;
	json_t **meta_buf_;
	size_t meta_alloc_;
	json_t **pat_buf_;
	size_t pat_alloc_;
	uint32_t *oids_buf_;
	size_t oids_alloc_;
	struct ss_frame_column *cols_buf_;
	size_t cols_alloc_;
	uint32_t *anc_buf_;
	size_t anc_alloc_;
};

#define SS_FRAME_INIT                                                          \
	{                                                                      \
		.type = SS_FRAME_NONE                                          \
	}

/* Make f empty (type SS_FRAME_NONE, no storage); same as SS_FRAME_INIT. */
void ss_frame_init(struct ss_frame *f);
/* Drop the JSON reference and the arrays; f is then empty and reusable. */
void ss_frame_release(struct ss_frame *f);

/*
 * Validate `json` against the frame schema and fill *f (released first).
 * Takes its own reference to json (the caller keeps theirs). Returns 0,
 * or -1 with err (SS_ERR_INPUT) and f left empty. Messages name the frame
 * and field without a position, e.g. "change frame: missing field 'xid'",
 * "unknown frame type 'foo'", "change frame: unknown field 'shape'".
 * Unknown fields are errors (a misspelt field must not pass silently).
 */
int ss_frame_decode(struct ss_frame *f, json_t *json, struct ss_err *err);

/*
 * Parse one line (`len` bytes, no trailing newline needed; whitespace
 * around the object tolerated) and decode it. Duplicate keys are
 * rejected. Errors as ss_frame_decode plus "empty line" and
 * "invalid JSON: <jansson's message>".
 */
int ss_frame_parse(struct ss_frame *f, const char *line, size_t len,
		   struct ss_err *err);

/* Validate without keeping anything: 0, or -1 with err as decode. */
int ss_frame_validate(json_t *json, struct ss_err *err);

/* ---- Reading ---------------------------------------------------------- */

struct ss_frame_reader;

#define SS_FRAME_MAX_LINE_DEFAULT ((size_t)256 << 20) /* 256 MiB */

/* Results of ss_frame_read besides -1 (error). */
#define SS_FRAME_EOF 0 /* clean end of input (after a newline) */
#define SS_FRAME_OK 1  /* *f holds the next frame */
#define SS_FRAME_AGAIN                                                         \
	2 /* interrupted (EINTR) or, for a non-blocking fd,                    \
	     no complete line yet (EAGAIN): call again later;                  \
	     a partial line is kept */

/*
 * A reader over a stdio stream (*new*, free with ss_frame_reader_free;
 * the stream is borrowed and not closed). `name` is copied and used in
 * error messages: "<stdin>", or a path (NULL means "<input>"). Reads
 * with getc_unlocked; a stream may buffer data that poll(2) on its
 * descriptor cannot see, so event loops should use ss_frame_reader_new_fd
 * instead.
 */
struct ss_frame_reader *ss_frame_reader_new(FILE *in, const char *name);

/*
 * A reader over a file descriptor with its own 64 KiB buffer (*new*; the
 * fd is borrowed and not closed). Works with blocking and non-blocking
 * descriptors; see ss_frame_reader_buffered for poll loops.
 */
struct ss_frame_reader *ss_frame_reader_new_fd(int fd, const char *name);

/* Free a reader; NULL is a no-op. */
void ss_frame_reader_free(struct ss_frame_reader *r);

/* Set the longest accepted line in bytes, newline excluded (default
 * SS_FRAME_MAX_LINE_DEFAULT; 0 restores the default). A longer line is an
 * error and is skipped, never buffered whole. */
void ss_frame_reader_set_max_line(struct ss_frame_reader *r, size_t max);

/*
 * Read the next line and decode it into *f. Returns SS_FRAME_OK,
 * SS_FRAME_EOF, SS_FRAME_AGAIN, or -1 with err:
 *   SS_ERR_INPUT "<name>:<line>: <decode/parse message>" for a bad line
 *     (the line is consumed; reading again continues with the next one),
 *     "<name>:<line>: line too long (more than N bytes)" and
 *     "<name>:<line>: incomplete line at end of input" (no final newline:
 *     a producer died mid-write);
 *   SS_ERR_RUNTIME "could not read '<name>': <strerror>" for I/O errors.
 * A blank line is an error ("empty line"): frames are never blank.
 * Line numbers start at 1. On any result but SS_FRAME_OK, *f is empty.
 */
int ss_frame_read(struct ss_frame_reader *r, struct ss_frame *f,
		  struct ss_err *err);

/* The number of the line last read (or being read), 0 before the first. */
uint64_t ss_frame_reader_lineno(const struct ss_frame_reader *r);

/* The raw bytes of the line last returned by ss_frame_read (also after a
 * decode error), without the newline, NUL-terminated; *borrowed* until
 * the next read. Useful to pass a frame through unchanged. */
const char *ss_frame_reader_line(const struct ss_frame_reader *r, size_t *len);

/* fd readers: 1 if input is buffered, i.e. ss_frame_read may make
 * progress without the fd becoming readable; poll only when this is 0.
 * stdio readers: always 0 (unknown). */
int ss_frame_reader_buffered(const struct ss_frame_reader *r);

/* ---- Stream order ----------------------------------------------------- */

/*
 * The order rules of shapesync-frames(5) STREAM ORDER, checked one frame
 * at a time: begin ... commit pairs that do not nest; change and truncate
 * frames only inside a transaction, with its xid and lsn and strictly
 * increasing pos (gaps allowed: route drops changes); progress only
 * between transactions and never backwards; commit LSNs strictly
 * increasing and never before the last progress position; relation and
 * invalidate frames anywhere; stream frames anywhere, never with a number
 * below the last one's, and one with a new number starts the rules afresh
 * (an open transaction is abandoned). Transparent value type: SS_FRAME_SEQ_INIT
 * or ss_frame_seq_init(); nothing to release. `in_txn` tells whether the
 * stream stopped inside a transaction (a producer died; the partial
 * transaction must be discarded).
 */
struct ss_frame_seq {
	int in_txn;   /* between a begin and its commit */
	uint64_t xid; /* the open transaction's */
	ss_lsn lsn;   /* the open transaction's commit LSN */
	int have_pos; /* a change/truncate was seen in it */
	uint64_t pos; /* ... and the last one's pos */
	int have_commit;
	ss_lsn last_commit; /* the last commit's lsn */
	ss_lsn progress;    /* the highest progress lsn, 0 if none */
	int64_t stream;	    /* the last stream frame's number, 0 if none */
	int have_move;	    /* a move frame was seen in the transaction */
	uint64_t move_pos;  /* ... and the last one's pos */
	int tail;	    /* a movein frame with "after" was seen in it */
};

#define SS_FRAME_SEQ_INIT                                                      \
	{                                                                      \
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0                             \
	}

void ss_frame_seq_init(struct ss_frame_seq *seq);
/*
 * Check that f may come next and advance the state. Returns 0, or -1 with
 * SS_ERR_INPUT (the state unchanged), e.g. "change frame outside a
 * transaction", "change frame: pos 3 does not follow 5".
 */
int ss_frame_seq_check(struct ss_frame_seq *seq, const struct ss_frame *f,
		       struct ss_err *err);

/* The highest pos of a change, truncate or move of the current (or last)
 * transaction, or -1 when it had none: what a movein frame's "after"
 * names. */
int64_t ss_frame_seq_last_pos(const struct ss_frame_seq *seq);

/* Make ss_frame_read also check the stream order with an internal
 * ss_frame_seq (off by default). An order error is reported like a bad
 * line ("<stdin>:7: commit frame outside a transaction") and the frame is
 * not returned. */
void ss_frame_reader_check_order(struct ss_frame_reader *r, int on);
/* The reader's order state (for in_txn at EOF); NULL if not checking. */
const struct ss_frame_seq *ss_frame_reader_seq(const struct ss_frame_reader *r);

/* ---- Writing ---------------------------------------------------------- */

/*
 * Validate `frame` (as ss_frame_validate) and write it as one line of
 * compact JSON, keys in insertion order, non-ASCII as UTF-8, ending with
 * a single '\n'. `name` (e.g. "<stdout>") is used in error messages.
 * Does not flush. Returns 0, or -1 with err: SS_ERR_INPUT "invalid frame:
 * ..." when the frame breaks the schema (nothing is written), or
 * SS_ERR_RUNTIME "could not write to '<name>': <strerror>".
 */
int ss_frame_write(FILE *out, const char *name, json_t *frame,
		   struct ss_err *err);

/*
 * Builders: each returns a *new* frame object (json_decref) with the
 * fields in the documented order; they abort on out-of-memory like
 * ss_xmalloc. Arguments are not validated here; ss_frame_write does.
 * `ts_us` is Unix microseconds.
 */
json_t *ss_frame_new_begin(uint64_t xid, ss_lsn lsn, int64_t ts_us);
json_t *ss_frame_new_commit(uint64_t xid, ss_lsn lsn, ss_lsn end_lsn,
			    int64_t ts_us);
/* new_row / old_row: objects of column -> string or null; *steals* both
 * references; pass NULL for the one the op does not carry. */
json_t *ss_frame_new_change(enum ss_frame_op op, uint32_t oid, uint64_t xid,
			    ss_lsn lsn, uint64_t pos, json_t *new_row,
			    json_t *old_row);
/*
 * One column of a row for ss_frame_write_change: `name` (NUL-terminated),
 * and `len` bytes of text at `data`, or data == NULL for SQL NULL.
 * Everything is *borrowed* for the call.
 */
struct ss_frame_col {
	const char *name;
	const char *data;
	size_t len;
};

/*
 * Write a change frame straight from column values, without building a
 * JSON object: byte for byte what ss_frame_write writes for the frame
 * ss_frame_new_change builds from the same values (replicate's hot path;
 * tests/unit/test-frame.c compares the two). `newc`/`oldc` are the rows
 * (NULL and 0 for the one the op does not carry); names must be
 * non-empty and distinct within a row (not checked: they come from one
 * relation). `scratch` is a buffer the caller keeps between calls (the
 * line is built there, then written with one fwrite). Does not flush.
 * Returns 0, or -1 with err: SS_ERR_INPUT "change frame: column '<name>'
 * is not valid UTF-8" (or "contains NUL") with nothing written, or
 * SS_ERR_RUNTIME "could not write to '<name>': <strerror>".
 */
int ss_frame_write_change(FILE *out, const char *name, enum ss_frame_op op,
			  uint32_t oid, uint64_t xid, ss_lsn lsn, uint64_t pos,
			  const struct ss_frame_col *newc, size_t nnew,
			  const struct ss_frame_col *oldc, size_t nold,
			  struct ss_buf *scratch, struct ss_err *err);

json_t *ss_frame_new_truncate(uint64_t xid, ss_lsn lsn, uint64_t pos,
			      const uint32_t *oids, size_t noids);
/* A relation with no columns; add them with ss_frame_add_column. */
json_t *ss_frame_new_relation(uint32_t oid, const char *schema,
			      const char *table, char replica_identity);
void ss_frame_add_column(json_t *relation, const char *name, const char *type,
			 uint32_t type_oid, int32_t typmod, int pk);
/* Give the last column added its position in the primary key ("key_index"),
 * for keys whose order differs from the column order. */
void ss_frame_set_key_index(json_t *relation, int key_index);
/* Set the relation's "ancestors" (its parent first, the root last; n > 0),
 * after its columns. */
void ss_frame_set_ancestors(json_t *relation, const uint32_t *oids, size_t n);
json_t *ss_frame_new_invalidate(const int64_t *shapes, size_t nshapes,
				uint32_t oid, const char *reason);
json_t *ss_frame_new_progress(ss_lsn lsn);
/* A move event of subquery shapes shapes[0..n) (ascending ids) caused by
 * the change at pos; patterns of each are set with ss_frame_set_patterns.
 */
/* Line `pos` of the move-in of subquery shape `shape`, written into the
 * transaction xid/lsn before its first change (after < 0), or after its
 * changes, the last of them at pos `after`: message is a JSON object's
 * text (copied). */
json_t *ss_frame_new_movein(uint64_t xid, ss_lsn lsn, uint64_t pos,
			    int64_t shape, int64_t after, const char *message,
			    size_t len);
json_t *ss_frame_new_move(uint64_t xid, ss_lsn lsn, uint64_t pos,
			  const char *event, const int64_t *shapes, size_t n);
/* Set (steal) the patterns of shape `id` of a move frame: a JSON array of
 * {"pos":N,"value":"hash"}. */
void ss_frame_set_patterns(json_t *move, int64_t id, json_t *patterns);
/* A marker written into the WAL (pg_logical_emit_message with the prefix
 * "shapesync"), at its position; `mark` is its content. */
json_t *ss_frame_new_mark(ss_lsn lsn, const char *mark);
/* reason may be NULL (the field is then left out). */
json_t *ss_frame_new_stream(int64_t stream, ss_lsn lsn, const char *reason);

/* route: set (replace) the "shapes" array of a change or truncate frame.
 * ids must be strictly ascending for the frame to validate; "moves" is
 * left alone (every id it names must stay in "shapes"). Safe on the json
 * of a decoded struct ss_frame: its decoded fields stay valid. */
void ss_frame_set_shapes(json_t *frame, const int64_t *ids, size_t n);
/* route: record that shape `id` sees this update as `op` (insert or
 * delete), in the "moves" object (created on first use). */
/* route: set the "meta" of subquery shape `id` of a change frame (which
 * must list it in "shapes"), stealing `meta`: {"tags":[..],
 * "active_conditions":[..][,"removed_tags":[..]]}. */
void ss_frame_set_meta(json_t *frame, int64_t id, json_t *meta);
void ss_frame_set_move(json_t *frame, int64_t id, enum ss_frame_op op);

/* Parse the "ts" text: ISO 8601 UTC with exactly six fractional digits,
 * "YYYY-MM-DDTHH:MM:SS.ffffffZ" (what ss_format_time_us writes), years
 * 0001-9999. Returns 0 and Unix microseconds, or -1 with SS_ERR_INPUT
 * "invalid timestamp '<text>'". */
int ss_frame_parse_ts(const char *s, int64_t *out_us, struct ss_err *err);

/* ---- the fast path for change frames (frame_scan.c) ------------------ */

/*
 * A change frame written exactly as writers write it (compact, keys in
 * order, no "shapes" yet), whose row objects name the relation's columns
 * in order with strings that need no unescaping, is read here without
 * building any JSON, eight bytes of a string at a time. Every other line,
 * valid or not, is refused (0): the caller then parses it with
 * ss_frame_parse, which is strict. A line this accepts is one
 * ss_frame_parse accepts, with the same fields.
 *
 * In two steps, so that the reader can find the relation's layout from
 * the oid without a callback: ss_frame_scan_head reads the op and oid,
 * then ss_frame_scan_rest the rest with the layout.
 */
#define SS_FRAME_SCAN_MAX 64 /* the most columns a scan returns */

/* A value in the line (*borrowed*: valid while the line is). */
struct ss_frame_span {
	const char *p;
	size_t len;
	int null; /* SQL NULL (p is NULL) */
};

/* The columns of the relation, as its relation frame gave them. */
struct ss_frame_layout {
	const struct ss_frame_column *cols;
	size_t ncols;
	const size_t *namelen;	    /* strlen of each column's name */
	const unsigned char *plain; /* 1: the name is written as is in JSON */
	const size_t *idx;	    /* the columns to return, ascending */
	size_t nidx;		    /* at most SS_FRAME_SCAN_MAX */
};

struct ss_frame_scan {
	enum ss_frame_op op;
	uint32_t oid;
	uint64_t xid, pos;
	ss_lsn lsn;
	int has_new, has_old; /* an update has both */
	/* The values of the layout's idx columns, in that order. */
	struct ss_frame_span newv[SS_FRAME_SCAN_MAX], oldv[SS_FRAME_SCAN_MAX];
	const char *p_, *end_; /* private: where the head stopped */
};

/* Read a change frame's op and oid from `line` (len bytes, no newline)
 * into *sc: 1, or 0 when the line is not of the fast form. */
int ss_frame_scan_head(struct ss_frame_scan *sc, const char *line, size_t len);
/* Read the rest of the line ss_frame_scan_head began, with the relation's
 * layout: 1, or 0 when it is not of the fast form. */
int ss_frame_scan_rest(struct ss_frame_scan *sc,
		       const struct ss_frame_layout *l);

/* ---- raw lines (frame_lines.c) ---------------------------------------- */

/*
 * Lines read from a file descriptor in large blocks, handed out as the
 * bytes in the buffer (no newline, no copy): for readers that take the
 * fast path above and decode the other lines with ss_frame_parse. A
 * descriptor set O_NONBLOCK is read without blocking, so that a
 * half-written line never keeps the reader from other work.
 */
struct ss_frame_lines {
	int fd;
	const char *name; /* for messages ("<stdin>"); *borrowed* */
	char *buf;
	size_t cap, start, end, scanned;
	uint64_t lineno; /* lines handed out */
	size_t max;	 /* the longest line allowed */
	int eof;	 /* the descriptor reached its end */
};

#define SS_FRAME_LINE_EOF 0
#define SS_FRAME_LINE_OK 1
#define SS_FRAME_LINE_AGAIN 2

/* Read lines of at most `max` bytes (0: SS_FRAME_MAX_LINE_DEFAULT) from
 * fd; release with ss_frame_lines_release (which does not close fd). */
void ss_frame_lines_init(struct ss_frame_lines *in, int fd, const char *name,
			 size_t max);
void ss_frame_lines_release(struct ss_frame_lines *in);
/* 1 if a whole line is buffered (then ss_frame_lines_next needs no
 * poll). */
int ss_frame_lines_buffered(const struct ss_frame_lines *in);
/*
 * The next line: SS_FRAME_LINE_OK with *line (*borrowed* until the next
 * call) and *len; SS_FRAME_LINE_EOF at the end; SS_FRAME_LINE_AGAIN when
 * a non-blocking descriptor has no whole line yet. -1 with err:
 * SS_ERR_INPUT "<name>:<n>: line too long (more than <max> bytes)" or
 * "<name>:<n>: incomplete line at end of input", SS_ERR_RUNTIME "could
 * not read '<name>': <strerror>".
 */
int ss_frame_lines_next(struct ss_frame_lines *in, const char **line,
			size_t *len, struct ss_err *err);

/*
 * The row values of a decoded change frame's row object `row` (may be
 * NULL: every value NULL): for each i < n, out[idx[i]] (idx NULL: out[i])
 * gets the string value of column names[i], *borrowed* from row, or NULL
 * for SQL NULL or a missing column.
 */
void ss_frame_row_values(json_t *row, const char *const *names,
			 const size_t *idx, size_t n, const char **out);

#endif
