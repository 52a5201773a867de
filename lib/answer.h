/*
 * answer.h — what /v1/shape sends for a request's offset and live flag,
 * given where its shape is: the snapshot's progress (chunks complete,
 * complete or not), the log's last offset, and the request's wait so far
 * (reference 1.8 steps 3-6). A pure decision: no I/O, no clock (the
 * caller gives "now"), no globals; the caller reads the files it names.
 *
 * Two steps: ss_answer_decide picks the kind of answer; for a log range
 * (SS_ANSWER_RANGE) the caller asks the log for the range's end and
 * entry count after `from`, and ss_answer_range completes the answer.
 * The LSN of an up-to-date message: lsn, or when lsn_durable the larger
 * of lsn and the durable LSN (which the caller reads only then).
 */
#ifndef SS_ANSWER_H
#define SS_ANSWER_H

#include <stdint.h>

#include "base.h"
#include "offset.h"
#include "util.h"

enum ss_answer_state {
	SS_ANSWER_SHAPE_OK,	/* the shape exists; the fields below hold */
	SS_ANSWER_SHAPE_GONE,	/* removed, trashed or unreadable */
	SS_ANSWER_SHAPE_FAILED, /* its creation in this process failed */
};

struct ss_answer_in {
	enum ss_answer_state state;
	struct ss_offset off; /* the request's offset (-1, now, a_b) */
	int live;
	uint64_t ready;	       /* snapshot chunks complete */
	int done;	       /* the snapshot is complete */
	struct ss_offset last; /* the shape's last offset (when done) */
	int64_t now_us;
	int64_t deadline_us; /* the request's current wait; 0: none */
	int oob;	     /* it has waited while out of bounds */
	int64_t long_poll_ms, create_timeout_ms;
	/* The shape's bases (lib/base.h); NULL: the snapshot alone. With a
	 * compacted generation, -1 starts at the newest; an offset of a
	 * generation no longer on disk, or a reclaimed one, is a refetch. */
	const struct ss_base *base;
};

enum ss_answer_kind {
	SS_ANSWER_CHUNK,	 /* snapshot chunk `chunk` */
	SS_ANSWER_NOW,		 /* offset=now: no data, up to date at last */
	SS_ANSWER_UP_TO_DATE,	 /* at the end: no data, up to date */
	SS_ANSWER_RANGE,	 /* the log after `from` (ss_answer_range) */
	SS_ANSWER_WAIT_SNAPSHOT, /* wait for the snapshot until deadline_us */
	SS_ANSWER_WAIT_DATA,	 /* wait for a commit until deadline_us */
	SS_ANSWER_REFETCH,	 /* 409 must-refetch */
	SS_ANSWER_FAILED,	 /* 503: the creation failed */
	SS_ANSWER_OOB,		 /* 400: offset out of bounds */
	SS_ANSWER_SNAP_TIMEOUT,	 /* 503: the snapshot took too long */
};

struct ss_answer {
	enum ss_answer_kind kind;
	uint64_t chunk;	       /* CHUNK */
	uint64_t gen;	       /* CHUNK: of this generation (0: snapshot) */
	struct ss_offset from; /* RANGE: entries after this offset */
	/* data answers (CHUNK, NOW, UP_TO_DATE, RANGE) */
	struct ss_offset end; /* electric-offset */
	int up_to_date, has_data;
	int unique_etag; /* an answer no cache may reuse */
	int timed_out;	 /* a live wait ended without data */
	uint64_t lsn;
	int lsn_durable;
	/* the request's wait state after this decision (store it back) */
	int64_t deadline_us;
	int oob;
};

/* Decide the answer for in (see the kinds above). */
void ss_answer_decide(const struct ss_answer_in *in, struct ss_answer *a);

/*
 * Complete a RANGE answer: chunk_end is where the log's chunk after
 * a->from ends (the answer's end unless it does not move past from, when
 * it is the shape's last offset), count the entries between.
 */
void ss_answer_range(const struct ss_answer_in *in, struct ss_answer *a,
		     const struct ss_offset *chunk_end, uint64_t count);

/* The name of a kind ("chunk", "wait-data", ...), for logs and tests. */
const char *ss_answer_kind_name(enum ss_answer_kind kind);

/* Append a one-line description of a to out (the table test's output). */
void ss_answer_format(const struct ss_answer *a, struct ss_buf *out);

#endif
