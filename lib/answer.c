/*
 * answer.c — the decision of what /v1/shape sends for an offset, a live
 * flag and a shape's state (see answer.h).
 */
#include <inttypes.h>
#include <string.h>

#include "answer.h"

static int virtual_finite(const struct ss_offset *o)
{
	return ss_offset_is_virtual(o) && !ss_offset_is_inf(o);
}

static void wait_snapshot(const struct ss_answer_in *in, struct ss_answer *a)
{
	if (!a->deadline_us)
		a->deadline_us = in->now_us + in->create_timeout_ms * 1000;
	a->kind = in->now_us >= a->deadline_us ? SS_ANSWER_SNAP_TIMEOUT
					       : SS_ANSWER_WAIT_SNAPSHOT;
}

static void base_chunk(const struct ss_answer_in *in, struct ss_answer *a,
		       const struct ss_base_gen *g, uint64_t n)
{
	a->kind = SS_ANSWER_CHUNK;
	a->gen = g->gen;
	a->chunk = n;
	a->end = ss_base_chunk_offset(g->gen, n);
	a->has_data = 1;
	a->up_to_date =
	    n + 1 == g->chunks && ss_offset_compare(&g->end, &in->last) >= 0;
	a->lsn_durable = !in->live;
}

/*
 * A compacted shape (its newest base generation is not the snapshot):
 * decide a base chunk or a refetch (1), or rewrite *o for the log part of
 * the decision and give the rest to it (0).
 */
static int compacted(const struct ss_answer_in *in, struct ss_answer *a,
		     struct ss_offset *o)
{
	const struct ss_base *b = in->base;
	const struct ss_base_gen *g;
	uint64_t gen, n;

	if (o->kind == SS_OFFSET_BEFORE_ALL) {
		base_chunk(in, a, &b->g[0], 0);
		a->up_to_date = 0; /* as for the snapshot's first chunk */
		return 1;
	}
	switch (ss_base_locate(b, o, &gen, &n)) {
	case SS_BASE_GONE:
		a->kind = SS_ANSWER_REFETCH;
		return 1;
	case SS_BASE_CHUNK:
		if (gen == 0)
			return 0; /* the snapshot, still on disk */
		g = ss_base_find(b, gen);
		if (n + 1 < g->chunks) {
			base_chunk(in, a, g, n + 1);
			return 1;
		}
		*o = g->end; /* the log after this generation */
		return 0;
	case SS_BASE_OK:
		break;
	}
	return 0;
}

void ss_answer_decide(const struct ss_answer_in *in, struct ss_answer *a)
{
	struct ss_offset o = in->off;
	struct ss_answer_in cin;
	int cmp;

	memset(a, 0, sizeof(*a));
	a->deadline_us = in->deadline_us;
	a->oob = in->oob;
	if (in->state == SS_ANSWER_SHAPE_GONE) {
		a->kind = SS_ANSWER_REFETCH;
		return;
	}
	if (in->state == SS_ANSWER_SHAPE_FAILED) {
		a->kind = SS_ANSWER_FAILED;
		return;
	}
	if (in->base && in->base->g[0].gen) {
		if (compacted(in, a, &o))
			return;
		/* the snapshot was complete before any compaction (and its
		 * files may be gone now) */
		cin = *in;
		cin.done = 1;
		in = &cin;
	}
	/* A snapshot chunk not complete yet, or the log before the
	 * snapshot is: wait for the creation. */
	if (o.kind == SS_OFFSET_BEFORE_ALL ||
	    (!in->done && o.kind == SS_OFFSET_NORMAL && virtual_finite(&o))) {
		uint64_t want = o.kind == SS_OFFSET_BEFORE_ALL ? 0 : o.op + 1;

		if (want >= in->ready && !in->done) {
			wait_snapshot(in, a);
			return;
		}
	}
	if (!in->done && o.kind != SS_OFFSET_BEFORE_ALL &&
	    !virtual_finite(&o)) {
		wait_snapshot(in, a);
		return;
	}
	if (o.kind == SS_OFFSET_BEFORE_ALL ||
	    (virtual_finite(&o) && o.op + 1 < in->ready)) {
		a->kind = SS_ANSWER_CHUNK;
		a->chunk = o.kind == SS_OFFSET_BEFORE_ALL ? 0 : o.op + 1;
		a->end = ss_offset_make(0, a->chunk);
		a->has_data = 1;
		a->up_to_date = o.kind != SS_OFFSET_BEFORE_ALL && in->done &&
				ss_offset_compare(&a->end, &in->last) >= 0;
		a->lsn_durable = !in->live;
		return;
	}
	if (o.kind == SS_OFFSET_NOW) {
		a->kind = SS_ANSWER_NOW;
		a->end = in->last;
		a->up_to_date = 1;
		a->unique_etag = 1;
		a->lsn = in->last.tx;
		a->lsn_durable = 1;
		return;
	}
	/* Past the snapshot: a virtual offset at or past its last chunk is
	 * its end. */
	if (ss_offset_is_virtual(&o) && in->ready)
		o = ss_offset_make(0, in->ready - 1);
	/* An SSE client resumes at "<global_last_seen_lsn>_0" of the last
	 * up-to-date it got (the official client's getOffset), which the
	 * SSE stream makes one past the last transaction it sent: nothing
	 * of the shape lies between, so it is the shape's last offset. */
	if (ss_offset_compare(&o, &in->last) > 0 && ss_offset_is_real(&o) &&
	    o.op == 0 && o.tx <= in->last.tx + 1)
		o = in->last;
	cmp = ss_offset_compare(&o, &in->last);
	if (cmp > 0) {
		/* Out of bounds (reference 1.8.6): wait half a long-poll for
		 * the shape to get there, then 400. */
		if (!a->oob) {
			a->oob = 1;
			a->deadline_us = in->now_us + in->long_poll_ms * 500;
		}
		a->kind = in->now_us >= a->deadline_us ? SS_ANSWER_OOB
						       : SS_ANSWER_WAIT_DATA;
		return;
	}
	if (cmp == 0) {
		if (in->live &&
		    !(a->deadline_us && in->now_us >= a->deadline_us)) {
			if (!a->deadline_us)
				a->deadline_us =
				    in->now_us + in->long_poll_ms * 1000;
			a->kind = SS_ANSWER_WAIT_DATA;
			return;
		}
		a->kind = SS_ANSWER_UP_TO_DATE;
		a->timed_out = in->live;
		a->end = in->last;
		a->up_to_date = 1;
		a->unique_etag = in->live;
		a->lsn = in->last.tx;
		a->lsn_durable = !in->live;
		return;
	}
	a->kind = SS_ANSWER_RANGE;
	a->from = o;
}

void ss_answer_range(const struct ss_answer_in *in, struct ss_answer *a,
		     const struct ss_offset *chunk_end, uint64_t count)
{
	a->end = *chunk_end;
	if (ss_offset_compare(&a->end, &a->from) <= 0)
		a->end = in->last;
	a->up_to_date = ss_offset_compare(&a->end, &in->last) >= 0;
	a->has_data = count > 0;
	a->lsn = a->end.tx;
	a->lsn_durable = !in->live;
}

const char *ss_answer_kind_name(enum ss_answer_kind kind)
{
	static const char *const names[] = {
	    "chunk",	     "now",
	    "up-to-date",    "range",
	    "wait-snapshot", "wait-data",
	    "refetch",	     "failed",
	    "out-of-bounds", "snapshot-timeout",
	};

	return (size_t)kind < sizeof(names) / sizeof(names[0]) ? names[kind]
							       : "?";
}

void ss_answer_format(const struct ss_answer *a, struct ss_buf *out)
{
	char o1[SS_OFFSET_STRMAX];

	ss_buf_adds(out, ss_answer_kind_name(a->kind));
	switch (a->kind) {
	case SS_ANSWER_RANGE:
		ss_buf_addf(out, " from=%s", ss_offset_format(&a->from, o1));
		break;
	case SS_ANSWER_CHUNK:
		ss_buf_addf(out, " %" PRIu64, a->chunk);
		if (a->gen)
			ss_buf_addf(out, " gen=%" PRIu64, a->gen);
		SS_FALLTHROUGH;
	case SS_ANSWER_NOW:
	case SS_ANSWER_UP_TO_DATE:
		break;
	case SS_ANSWER_WAIT_SNAPSHOT:
	case SS_ANSWER_WAIT_DATA:
	case SS_ANSWER_OOB:
	case SS_ANSWER_SNAP_TIMEOUT:
		ss_buf_addf(out, " deadline=%" PRId64 "%s", a->deadline_us,
			    a->oob ? " oob" : "");
		return;
	default:
		return;
	}
	ss_buf_addf(out, " end=%s", ss_offset_format(&a->end, o1));
	if (a->has_data)
		ss_buf_adds(out, " data");
	if (a->up_to_date)
		ss_buf_adds(out, " up-to-date");
	if (a->unique_etag)
		ss_buf_adds(out, " unique");
	if (a->timed_out)
		ss_buf_adds(out, " timed-out");
	if (a->lsn_durable)
		ss_buf_addf(out, " lsn=max(durable,%" PRIu64 ")", a->lsn);
	else
		ss_buf_addf(out, " lsn=%" PRIu64, a->lsn);
}
