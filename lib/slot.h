/*
 * slot.h — replicate's hold on its replication slot when a session
 * starts: the advisory lock that keeps one shapesync-replicate per slot
 * (taken over from a stale holder on request), the publication and the
 * slot looked up, and the slot made ready to stream (a slot the server
 * invalidated is dropped, a missing one is created).
 *
 * The caller sequences the steps (lock, lookup, ready) so that it can
 * stop in between (--drop-slot, --create-slot) and logs what the notice
 * callback reports; the library prints nothing.
 */
#ifndef SS_SLOT_H
#define SS_SLOT_H

#include "lsn.h"
#include "pg.h"
#include "util.h"

/* One line for the log, a warning (e.g. "took slot 's' over: ended 1
 * backend holding it"). `msg` is borrowed for the call. */
typedef void (*ss_slot_notice_cb)(const char *msg, void *ctx);

/* One session's slot. The caller sets the first group (strings borrowed
 * for the session, callbacks may be NULL); the steps fill the second. */
struct ss_slot {
	const char *conninfo; /* for the replication connection */
	const char *appname;  /* its application_name */
	const char *slot;     /* the replication slot's name */
	const char *pub;      /* the publication it decodes */
	int temporary;	      /* create it TEMPORARY */
	int take_over;	      /* end whoever holds the lock or the slot */
	ss_slot_notice_cb notice;
	ss_pg_wait_cb wait; /* ss_pg_slot_create's progress while waiting */
	void *ctx;	    /* for notice and wait */

	int pub_created;  /* ss_slot_lookup created the publication */
	int exists;	  /* the slot exists (after ss_slot_ready: always) */
	int lost;	  /* it existed but the server invalidated it */
	int created;	  /* ss_slot_ready created it */
	ss_lsn confirmed; /* its confirmed position (or creation point) */
	int fatal;	  /* the failure is not one a retry can fix */
};

/*
 * Take the session lock "shapesync-replicate slot <slot>" on `admin` (a
 * regular connection, held for the session). With take_over, end the
 * backends holding the lock or streaming from the slot (ss_pg_take_over)
 * and try again, up to 5 rounds; each round that ended some is a notice.
 * Returns 0, or -1 with err: the database's error, or "another
 * shapesync-replicate is using slot '<slot>'" with a hint and s->fatal
 * set.
 */
int ss_slot_lock(struct ss_slot *s, struct ss_pg *admin, struct ss_err *err);

/*
 * Create the publication if it does not exist (s->pub_created), then look
 * the slot up (s->exists, s->confirmed, s->lost). The publication comes
 * first: pgoutput looks it up as of the WAL it decodes. Returns 0 or -1
 * with err.
 */
int ss_slot_lookup(struct ss_slot *s, struct ss_pg *admin, struct ss_err *err);

/*
 * After ss_slot_lookup: refuse a publication newer than the slot (s->fatal,
 * "publication 'p' was created after slot 's'" with detail and hint),
 * open the replication connection into *repl (new; the caller closes it
 * with ss_pg_close, also on failure), drop a lost slot (a notice first)
 * and create a missing one on *repl (s->created, s->confirmed; when
 * another made it meanwhile, its position is looked up). Returns 0 or -1
 * with err.
 */
int ss_slot_ready(struct ss_slot *s, struct ss_pg *admin, struct ss_pg **repl,
		  struct ss_err *err);

/*
 * Drop slot `slot` through a connection of its own to `conninfo` (made
 * with application_name `appname`, closed again): the orderly stop of
 * $CLEANUP_REPLICATION_SLOTS_ON_SHUTDOWN. Returns 0, or -1 with err
 * prefixed "could not drop slot '<slot>'" (a missing slot is
 * SS_ERR_INPUT, see ss_pg_slot_drop).
 */
int ss_slot_drop_now(const char *conninfo, const char *appname,
		     const char *slot, struct ss_err *err);

#endif
