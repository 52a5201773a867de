/*
 * slot.c — replicate's replication slot at a session's start: the
 * session lock and its take-over, the publication and the slot looked
 * up, a lost slot dropped and a missing one created. See slot.h.
 */
#include <stdarg.h>
#include <stdio.h>

#include "slot.h"

#include "publication.h"

static void notice(const struct ss_slot *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void notice(const struct ss_slot *s, const char *fmt, ...)
{
	struct ss_buf b = SS_BUF_INIT;
	va_list ap;

	if (!s->notice)
		return;
	va_start(ap, fmt);
	ss_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	s->notice(b.buf, s->ctx);
	ss_buf_release(&b);
}

int ss_slot_lock(struct ss_slot *s, struct ss_pg *admin, struct ss_err *err)
{
	char key[128];
	int got, round;

	snprintf(key, sizeof(key), "shapesync-replicate slot %s", s->slot);
	if (ss_pg_try_lock(admin, key, &got, err) < 0)
		return -1;
	/* Whoever holds the lock or streams from the slot; a holder that
	 * reconnects between its end and our lock is ended again. */
	for (round = 0; s->take_over && round < 5; round++) {
		int ended;

		if (ss_pg_take_over(admin, key, s->slot, &ended, err) < 0)
			return -1;
		if (ended)
			notice(s,
			       "took slot '%s' over: ended %d backend%s "
			       "holding it",
			       s->slot, ended, ended == 1 ? "" : "s");
		if (!got && ss_pg_try_lock(admin, key, &got, err) < 0)
			return -1;
		if (got)
			break;
	}
	if (!got) {
		s->fatal = 1;
		ss_err_set(err, SS_ERR_RUNTIME,
			   "another shapesync-replicate is using slot '%s'",
			   s->slot);
		ss_err_hint(err, "run one instance per slot, choose another "
				 "with --slot, or end a stale one with "
				 "--take-over-slot");
		return -1;
	}
	return 0;
}

int ss_slot_lookup(struct ss_slot *s, struct ss_pg *admin, struct ss_err *err)
{
	s->pub_created = s->exists = s->lost = s->created = 0;
	s->confirmed = 0;
	if (ss_publication_create(admin, s->pub, &s->pub_created, err) < 0 ||
	    ss_pg_slot_info(admin, s->slot, &s->exists, &s->confirmed, &s->lost,
			    err) < 0)
		return -1;
	return 0;
}

int ss_slot_ready(struct ss_slot *s, struct ss_pg *admin, struct ss_pg **repl,
		  struct ss_err *err)
{
	if (s->exists && s->pub_created) {
		s->fatal = 1;
		ss_err_set(err, SS_ERR_RUNTIME,
			   "publication '%s' was created after slot '%s'",
			   s->pub, s->slot);
		ss_err_detail(err, "pgoutput cannot decode the slot's WAL from "
				   "before the publication existed");
		ss_err_hint(err, "drop the slot with --drop-slot (shapes must "
				 "then be created anew)");
		return -1;
	}
	if (ss_pg_open(s->conninfo, SS_PG_REPLICATION | SS_PG_DISPLAY,
		       s->appname, repl, err) < 0)
		return -1;
	if (s->exists && s->lost) {
		/* The server will never stream it again: make it anew (the
		 * caller's stream check then invalidates the shapes). */
		notice(s,
		       "replication slot '%s' was invalidated by the "
		       "server (wal_status lost); dropping it",
		       s->slot);
		if (ss_pg_slot_drop(admin, s->slot, err) < 0 &&
		    err->code != SS_ERR_INPUT)
			return -1;
		ss_err_clear(err);
		s->exists = 0;
	}
	if (!s->exists) {
		if (ss_pg_slot_create(*repl, s->slot, s->temporary, &s->created,
				      &s->confirmed, admin, s->wait, s->ctx,
				      err) < 0)
			return -1;
		if (s->created)
			s->exists = 1;
		else if (ss_pg_slot_info(admin, s->slot, &s->exists,
					 &s->confirmed, NULL, err) < 0)
			return -1;
	}
	return 0;
}

int ss_slot_drop_now(const char *conninfo, const char *appname,
		     const char *slot, struct ss_err *err)
{
	struct ss_pg *pg = NULL;
	int rc = 0;

	if (ss_pg_open(conninfo, 0, appname, &pg, err) < 0 ||
	    ss_pg_slot_drop(pg, slot, err) < 0) {
		ss_err_prefix(err, "could not drop slot '%s'", slot);
		rc = -1;
	}
	ss_pg_close(pg);
	return rc;
}
