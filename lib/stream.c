/*
 * stream.c — whether a replication session continues the stream the
 * shape logs were built from (see stream.h). The rules are in the order
 * an operator would look for the cause: the slot first, then the server,
 * the database, the history, the positions.
 */
#include <stdarg.h>
#include <string.h>

#include "stream.h"

#include "pg.h"
#include "registry.h"

static enum ss_stream_verdict fresh(struct ss_buf *reason, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static enum ss_stream_verdict fresh(struct ss_buf *reason, const char *fmt, ...)
{
	va_list ap;

	ss_buf_reset(reason);
	va_start(ap, fmt);
	ss_buf_vaddf(reason, fmt, ap);
	va_end(ap);
	return SS_STREAM_NEW;
}

/* The checks that need no recorded identity. */
static int slot_gone(const struct ss_stream_session *now, struct ss_buf *reason)
{
	char a[SS_LSN_STRMAX];

	if (now->slot_lost) {
		fresh(reason,
		      "replication slot '%s' was invalidated by the "
		      "server (wal_status lost): WAL it still needed was "
		      "removed, so changes are missing from the shape logs; "
		      "it was dropped and created anew at %s",
		      now->id.slot, ss_lsn_format(now->id.slot_lsn, a));
		return 1;
	}
	if (now->slot_created) {
		fresh(reason,
		      "replication slot '%s' was missing and was "
		      "created anew at %s: changes written while it was gone "
		      "are not in the shape logs",
		      now->id.slot, ss_lsn_format(now->id.slot_lsn, a));
		return 1;
	}
	return 0;
}

static int wal_behind(const struct ss_stream_session *now,
		      struct ss_buf *reason)
{
	char a[SS_LSN_STRMAX], b[SS_LSN_STRMAX];

	if (now->durable <= now->server_lsn)
		return 0;
	fresh(reason,
	      "the server's WAL position %s is behind what the shape "
	      "logs hold (%s): the database was restored to an earlier "
	      "point or is another one",
	      ss_lsn_format(now->server_lsn, a),
	      ss_lsn_format(now->durable, b));
	return 1;
}

enum ss_stream_verdict ss_stream_decide(const struct ss_stream_id *rec,
					const struct ss_stream_session *now,
					struct ss_buf *reason)
{
	char a[SS_LSN_STRMAX], b[SS_LSN_STRMAX];
	ss_lsn held;

	if (!rec) {
		/* A registry from before streams were recorded: with shapes,
		 * only a slot that survived proves nothing was lost. */
		if (now->shapes > 0 &&
		    (slot_gone(now, reason) || wal_behind(now, reason)))
			return SS_STREAM_NEW;
		ss_buf_reset(reason);
		ss_buf_addf(reason,
			    "first stream: slot '%s' on database '%s' "
			    "of system %s, timeline %u",
			    now->id.slot, now->id.db_name, now->id.system_id,
			    now->id.timeline);
		return SS_STREAM_FIRST;
	}
	if (slot_gone(now, reason))
		return SS_STREAM_NEW;
	if (strcmp(rec->system_id, now->id.system_id))
		return fresh(reason,
			     "the server is another cluster: system "
			     "identifier %s, the shape logs were built from %s",
			     now->id.system_id, rec->system_id);
	if (rec->db_oid != now->id.db_oid)
		return fresh(
		    reason,
		    "the database is another one: '%s' (oid "
		    "%u), the shape logs were built from '%s' (oid %u)",
		    now->id.db_name, now->id.db_oid, rec->db_name, rec->db_oid);
	if (rec->timeline != now->id.timeline)
		return fresh(reason,
			     "the server's timeline changed from %u to "
			     "%u: it was restored from a backup, recovered to "
			     "a point in time or promoted",
			     rec->timeline, now->id.timeline);
	if (strcmp(rec->slot, now->id.slot))
		return fresh(reason,
			     "the replication slot is another one: "
			     "'%s', the shape logs were built from '%s'",
			     now->id.slot, rec->slot);
	if (wal_behind(now, reason))
		return SS_STREAM_NEW;
	/* The slot is only ever acknowledged up to what is durable: a slot
	 * further on was consumed or advanced by something else. */
	held = now->durable > rec->slot_lsn ? now->durable : rec->slot_lsn;
	if (now->slot_confirmed > held)
		return fresh(reason,
			     "replication slot '%s' was moved to %s, "
			     "past what the shape logs hold (%s): something "
			     "else consumed or advanced it",
			     now->id.slot,
			     ss_lsn_format(now->slot_confirmed, a),
			     ss_lsn_format(held, b));
	ss_buf_reset(reason);
	return SS_STREAM_SAME;
}

const char *ss_stream_verdict_name(enum ss_stream_verdict v)
{
	switch (v) {
	case SS_STREAM_SAME:
		return "same";
	case SS_STREAM_FIRST:
		return "first";
	case SS_STREAM_NEW:
		return "new";
	}
	return NULL;
}

static int count_snapshotted(const struct ss_shape_rec *rec, void *ctx)
{
	if (rec->snapshot_state != SS_SNAPSHOT_PENDING)
		++*(int64_t *)ctx;
	return 0;
}

int ss_stream_check(struct ss_registry *reg, struct ss_pg *repl,
		    struct ss_pg *admin, const char *slot, int created,
		    int lost, ss_lsn confirmed, int64_t *stream,
		    struct ss_buf *reason, int64_t *invalidated, int *fatal,
		    struct ss_err *err)
{
	struct ss_stream_session now;
	struct ss_stream_id rec;
	enum ss_stream_verdict v;
	int has;

	ss_buf_reset(reason);
	*invalidated = 0;
	memset(&now, 0, sizeof(now));
	if (ss_pg_identify_system(repl, admin, &now.id, &now.server_lsn, err) <
	    0)
		return -1;
	snprintf(now.id.slot, sizeof(now.id.slot), "%s", slot);
	now.id.slot_lsn = confirmed;
	now.slot_created = created;
	now.slot_lost = lost;
	now.slot_confirmed = confirmed;
	if (ss_registry_get_durable_lsn(reg, &now.durable, err) < 0 ||
	    ss_registry_stream_get(reg, stream, &rec, &has, err) < 0)
		goto fatal;
	/* Only a registry with no stream recorded needs the count. */
	if (!has &&
	    ss_registry_foreach(reg, count_snapshotted, &now.shapes, err) < 0)
		goto fatal;
	v = ss_stream_decide(has ? &rec : NULL, &now, reason);
	if (v == SS_STREAM_SAME)
		return v;
	if (ss_registry_stream_start(reg, &now.id, reason->buf,
				     v == SS_STREAM_NEW, confirmed, stream,
				     invalidated, err) < 0)
		goto fatal;
	if (v == SS_STREAM_FIRST)
		ss_buf_reset(reason);
	return v;
fatal:
	*fatal = 1;
	return -1;
}

ss_lsn ss_stream_ack_target(ss_lsn durable, ss_lsn emitted,
			    ss_lsn slot_confirmed, ss_lsn max_flush,
			    int ack_received)
{
	ss_lsn a = ack_received ? emitted : durable;

	if (a > emitted)
		a = emitted;
	if (a < slot_confirmed)
		a = slot_confirmed;
	if (a < max_flush)
		a = max_flush;
	return a;
}

/* ---- the idle timeout ----------------------------------------------- */

int ss_stream_idle_due(const struct ss_stream_idle *idle, int64_t now)
{
	return idle->timeout_us > 0 &&
	       now - idle->active_us >= idle->timeout_us;
}

int ss_stream_idle_use(struct ss_stream_idle *idle, int64_t use, int64_t now,
		       int64_t wall)
{
	int64_t ago;

	if (use <= idle->last_use)
		return 0;
	idle->last_use = use;
	ago = wall - use;
	idle->active_us = now - (ago > 0 ? ago : 0);
	return 1;
}
