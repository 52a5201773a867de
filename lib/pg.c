/*
 * pg.c — libpq connections, checked queries, quoting, settings, slots and the
 * streaming replication copy messages for shapesync. See pg.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <unistd.h>

#include "pg.h"
#include "pgoutput.h"
#include "shape.h"

struct ss_pg {
	PGconn *conn;
	unsigned flags;
};

/* libpq messages end with a newline and may span lines: the first line
 * is the message, the rest detail. */
static void set_libpq_error(struct ss_err *err, const char *prefix,
			    const char *msg)
{
	size_t n;
	const char *nl;

	if (!msg || !*msg)
		msg = "unknown error";
	n = strcspn(msg, "\n");
	ss_err_set(err, SS_ERR_RUNTIME, "%s: %.*s", prefix, (int)n, msg);
	nl = msg + n;
	while (*nl == '\n')
		nl++;
	if (*nl) {
		size_t m = strlen(nl);

		while (m > 0 && nl[m - 1] == '\n')
			m--;
		ss_err_detail(err, "%.*s", (int)m, nl);
	}
}

/*
 * Hints for the server errors an operator meets when setting up logical
 * replication, where PostgreSQL's own hint (if any) does not say what to
 * change. `state` may be "" (a connection failure has no SQLSTATE here:
 * the message text decides).
 */
static void explain(struct ss_err *err, const char *state, const char *msg)
{
	if (!msg)
		return;
	if (strstr(msg, "wal_level >= logical") ||
	    strstr(msg, "wal_level is insufficient"))
		ss_err_hint(
		    err,
		    "logical replication needs wal_level = logical: "
		    "run ALTER SYSTEM SET wal_level = logical and restart "
		    "PostgreSQL (on a managed service, turn on its logical "
		    "replication setting)");
	else if (!strcmp(state, "53400") &&
		 strstr(msg, "replication slots are in use"))
		ss_err_hint(
		    err, "drop a slot that is no longer used (see "
			 "pg_replication_slots) or raise max_replication_slots "
			 "and restart PostgreSQL");
	else if (strstr(msg, "exceeds max_wal_senders") ||
		 strstr(msg, "sorry, too many clients"))
		ss_err_hint(
		    err, "every replication connection takes a WAL "
			 "sender: raise max_wal_senders (and max_connections) "
			 "and restart PostgreSQL, or stop another replication "
			 "client");
	else if (strstr(msg, "replication role to start walsender") ||
		 strstr(msg, "permission denied to start WAL sender"))
		ss_err_hint(
		    err,
		    "the role needs the REPLICATION attribute: ALTER "
		    "ROLE ... WITH REPLICATION (on a managed service, grant "
		    "its replication role)");
	else if (strstr(msg, "must be owner of publication"))
		ss_err_hint(
		    err, "the role must own the publication to add tables "
			 "to it: ALTER PUBLICATION ... OWNER TO this role, or "
			 "drop it and let shapesync create it");
	else if (strstr(msg, "must be owner of table") ||
		 strstr(msg, "must be owner of relation"))
		ss_err_hint(
		    err,
		    "the role must own the table to publish it and "
		    "set REPLICA IDENTITY FULL; or have its owner run ALTER "
		    "TABLE ... REPLICA IDENTITY FULL and ALTER PUBLICATION "
		    "... ADD TABLE ...");
	else if (!strcmp(state, "55006") && strstr(msg, "is active for PID"))
		ss_err_hint(err, "another process is streaming from the slot: "
				 "stop it, or start shapesync-replicate with "
				 "--take-over-slot to end it");
}

/* The user's own `options`, from conninfo or else $PGOPTIONS. *new*. */
static char *user_options(const char *conninfo)
{
	PQconninfoOption *opts, *o;
	char *res = NULL;
	const char *env;

	if (conninfo && *conninfo) {
		opts = PQconninfoParse(conninfo, NULL);
		for (o = opts; o && o->keyword; o++)
			if (!strcmp(o->keyword, "options") && o->val && *o->val)
				res = ss_xstrdup(o->val);
		PQconninfoFree(opts);
		if (res)
			return res;
	}
	env = getenv("PGOPTIONS");
	return env && *env ? ss_xstrdup(env) : NULL;
}

int ss_pg_open(const char *conninfo, unsigned flags, const char *appname,
	       struct ss_pg **out, struct ss_err *err)
{
	struct ss_pg_opts o = {flags, appname, 0, 0};

	return ss_pg_connect(conninfo, &o, out, err);
}

/* The first line of a libpq message, at most 399 bytes (SS_PG_TERSE). */
static void set_terse_error(struct ss_err *err, const char *prefix,
			    const char *msg)
{
	size_t n;

	msg = msg ? msg : "";
	n = strcspn(msg, "\n");
	ss_err_set(err, SS_ERR_RUNTIME, "%s: %.*s", prefix,
		   (int)(n < 399 ? n : 399), msg);
}

int ss_pg_connect(const char *conninfo, const struct ss_pg_opts *o,
		  struct ss_pg **out, struct ss_err *err)
{
	const char *keys[10], *vals[10];
	struct ss_buf options = SS_BUF_INIT;
	char timeout[16];
	char *user;
	int n = 0;
	PGconn *conn;

	*out = NULL;
	if (conninfo && *conninfo) {
		keys[n] = "dbname";
		vals[n++] = conninfo;
	}
	/* Always said, so that a "replication" in the user's string does
	 * not turn the ordinary connection into a walsender. */
	keys[n] = "replication";
	vals[n++] = o->flags & SS_PG_REPLICATION ? "database" : "false";
	user = user_options(conninfo);
	if (user)
		ss_buf_adds(&options, user);
	if (o->flags & SS_PG_DISPLAY) {
		if (options.len)
			ss_buf_addc(&options, ' ');
		ss_buf_adds(&options, SS_PG_DISPLAY_SETTINGS);
	}
	if (o->statement_timeout_ms > 0)
		ss_buf_addf(&options, "%s-c statement_timeout=%d",
			    options.len ? " " : "", o->statement_timeout_ms);
	if (options.len) {
		keys[n] = "options";
		vals[n++] = options.buf;
	}
	if (o->connect_timeout_s > 0) {
		snprintf(timeout, sizeof(timeout), "%d", o->connect_timeout_s);
		keys[n] = "connect_timeout";
		vals[n++] = timeout;
	}
	keys[n] = "client_encoding";
	vals[n++] = "UTF8";
	keys[n] = o->flags & SS_PG_APPNAME ? "application_name"
					   : "fallback_application_name";
	vals[n++] = o->appname ? o->appname : "shapesync";
	keys[n] = NULL;
	vals[n] = NULL;

	conn = PQconnectdbParams(keys, vals, 1);
	free(user);
	ss_buf_release(&options);
	if (!conn)
		return ss_err_set(err, SS_ERR_RUNTIME,
				  "could not connect to PostgreSQL: out of "
				  "memory");
	if (PQstatus(conn) != CONNECTION_OK) {
		if (o->flags & SS_PG_TERSE) {
			set_terse_error(err, "could not connect to PostgreSQL",
					PQerrorMessage(conn));
		} else {
			set_libpq_error(err, "could not connect to PostgreSQL",
					PQerrorMessage(conn));
			explain(err, "", PQerrorMessage(conn));
		}
		PQfinish(conn);
		return -1;
	}
	*out = ss_xcalloc(1, sizeof(**out));
	(*out)->conn = conn;
	(*out)->flags = o->flags;
	return 0;
}

void ss_pg_close(struct ss_pg *pg)
{
	if (!pg)
		return;
	PQfinish(pg->conn);
	free(pg);
}

PGconn *ss_pg_conn(struct ss_pg *pg)
{
	return pg->conn;
}

int ss_pg_socket(struct ss_pg *pg)
{
	return PQsocket(pg->conn);
}

/* A field of an error result; NULL for no result or no such field. */
static const char *field(const PGresult *r, int code)
{
	return r ? PQresultErrorField(r, code) : NULL;
}

int ss_pg_fail(struct ss_pg *pg, const char *what, const PGresult *r,
	       char sqlstate[6], struct ss_err *err)
{
	const char *msg = field(r, PG_DIAG_MESSAGE_PRIMARY);
	const char *s = field(r, PG_DIAG_SQLSTATE);

	if (sqlstate) {
		sqlstate[0] = '\0';
		if (s)
			snprintf(sqlstate, 6, "%s", s);
	}
	if (pg->flags & SS_PG_TERSE) {
		set_terse_error(err, what,
				r ? PQresultErrorMessage(r)
				  : PQerrorMessage(pg->conn));
	} else if (msg) {
		const char *d = field(r, PG_DIAG_MESSAGE_DETAIL);
		const char *h = field(r, PG_DIAG_MESSAGE_HINT);

		ss_err_set(err, SS_ERR_RUNTIME, "%s: %s", what, msg);
		if (d)
			ss_err_detail(err, "%s", d);
		if (h)
			ss_err_hint(err, "%s", h);
		explain(err, s ? s : "", msg);
	} else {
		set_libpq_error(err, what, PQerrorMessage(pg->conn));
	}
	return -1;
}

int ss_pg_exec(struct ss_pg *pg, const char *what, const char *sql, int nparams,
	       const char *const *params, PGresult **res, char sqlstate[6],
	       struct ss_err *err)
{
	PGresult *r;
	ExecStatusType st;

	if (res)
		*res = NULL;
	if (sqlstate)
		sqlstate[0] = '\0';
	if (params)
		r = PQexecParams(pg->conn, sql, nparams, NULL, params, NULL,
				 NULL, 0);
	else
		r = PQexec(pg->conn, sql);
	st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		ss_pg_fail(pg, what, r, sqlstate, err);
		PQclear(r);
		return -1;
	}
	if (res)
		*res = r;
	else
		PQclear(r);
	return 0;
}

int ss_pg_set_display(struct ss_pg *pg, struct ss_err *err)
{
	return ss_pg_exec(pg, "postgresql", SS_PG_DISPLAY_SET_SQL, 0, NULL,
			  NULL, NULL, err);
}

int ss_pg_add_literal(struct ss_pg *pg, struct ss_buf *b, const char *s,
		      size_t len, struct ss_err *err)
{
	char *q = PQescapeLiteral(pg->conn, s, len);

	if (!q)
		return ss_err_set(err, SS_ERR_RUNTIME, "postgresql: %s",
				  PQerrorMessage(pg->conn));
	ss_buf_adds(b, q);
	PQfreemem(q);
	return 0;
}

void ss_pg_add_ident(struct ss_pg *pg, struct ss_buf *b, const char *ident)
{
	char *q = PQescapeIdentifier(pg->conn, ident, strlen(ident));

	if (q) {
		ss_buf_adds(b, q);
		PQfreemem(q);
		return;
	}
	/* Only an encoding error gets here; quote by hand (always valid
	 * for UTF-8, the client encoding we set). */
	ss_shape_quote_ident(b, ident);
}

void ss_pg_add_qualified(struct ss_pg *pg, struct ss_buf *b, const char *schema,
			 const char *table)
{
	ss_pg_add_ident(pg, b, schema);
	ss_buf_addc(b, '.');
	ss_pg_add_ident(pg, b, table);
}

int ss_pg_slot_name_valid(const char *name)
{
	size_t n = strlen(name);

	return n >= 1 && n <= 63 &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

int ss_pg_try_lock(struct ss_pg *pg, const char *key, int *got,
		   struct ss_err *err)
{
	const char *params[1] = {key};
	PGresult *r;

	if (ss_pg_exec(pg, "could not take the advisory lock",
		       "SELECT pg_try_advisory_lock(hashtext($1))", 1, params,
		       &r, NULL, err) < 0)
		return -1;
	*got = PQntuples(r) == 1 && !strcmp(PQgetvalue(r, 0, 0), "t");
	PQclear(r);
	return 0;
}

/* The backends holding the advisory lock named by $1 (a single int8 key
 * shows in pg_locks as classid = high half, objid = low half, objsubid =
 * 1) or streaming from slot $2, other than this one. */
#define HOLDERS                                                                \
	"SELECT pid FROM pg_locks WHERE locktype = 'advisory'"                 \
	" AND granted AND objsubid = 1"                                        \
	" AND classid = ((hashtext($1)::bigint >> 32) & 4294967295)::oid"      \
	" AND objid = (hashtext($1)::bigint & 4294967295)::oid"                \
	" AND pid <> pg_backend_pid()"                                         \
	" UNION SELECT active_pid FROM pg_replication_slots"                   \
	" WHERE slot_name = $2 AND active_pid IS NOT NULL"                     \
	" AND active_pid <> pg_backend_pid()"

int ss_pg_take_over(struct ss_pg *pg, const char *key, const char *slot,
		    int *ended, struct ss_err *err)
{
	const char *params[2] = {key, slot};
	PGresult *r;
	int i, waited;

	*ended = 0;
	if (ss_pg_exec(pg, "could not end the slot's holder",
		       "SELECT pid, pg_terminate_backend(pid) FROM (" HOLDERS
		       ") h",
		       2, params, &r, NULL, err) < 0)
		return -1;
	for (i = 0; i < PQntuples(r); i++)
		if (!strcmp(PQgetvalue(r, i, 1), "t"))
			++*ended;
	PQclear(r);
	/* A terminated backend lets go of the lock and the slot only as it
	 * exits, which takes a while on a loaded server. */
	for (waited = 0; *ended && waited < 100; waited++) {
		int busy;

		if (ss_pg_exec(pg, "could not look up the slot's holder",
			       "SELECT count(*) FROM (" HOLDERS ") h", 2,
			       params, &r, NULL, err) < 0)
			return -1;
		busy = strcmp(PQgetvalue(r, 0, 0), "0") != 0;
		PQclear(r);
		if (!busy)
			break;
		usleep(50000);
	}
	return 0;
}

int ss_pg_slot_info(struct ss_pg *pg, const char *slot, int *exists,
		    ss_lsn *confirmed, int *lost, struct ss_err *err)
{
	const char *params[1] = {slot};
	PGresult *r;
	const char *plugin, *type, *same_db, *lsn;

	*exists = 0;
	*confirmed = 0;
	if (lost)
		*lost = 0;
	if (ss_pg_exec(pg, "could not look up the replication slot",
		       "SELECT plugin, slot_type, database = "
		       "current_database(), confirmed_flush_lsn, "
		       "wal_status = 'lost' "
		       "FROM pg_replication_slots "
		       "WHERE slot_name = $1",
		       1, params, &r, NULL, err) < 0)
		return -1;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return 0;
	}
	plugin = PQgetvalue(r, 0, 0);
	type = PQgetvalue(r, 0, 1);
	same_db = PQgetvalue(r, 0, 2);
	lsn = PQgetvalue(r, 0, 3);
	if (strcmp(type, "logical") || strcmp(plugin, "pgoutput") ||
	    strcmp(same_db, "t")) {
		ss_err_set(err, SS_ERR_RUNTIME,
			   "replication slot '%s' is not a pgoutput slot of "
			   "this database",
			   slot);
		ss_err_detail(err, "it is a %s slot with plugin '%s'", type,
			      plugin);
		ss_err_hint(err, "choose another name with --slot");
		PQclear(r);
		return -1;
	}
	*exists = 1;
	if (lost)
		*lost = !strcmp(PQgetvalue(r, 0, 4), "t");
	if (!PQgetisnull(r, 0, 3) && ss_lsn_parse(lsn, confirmed, err) < 0) {
		PQclear(r);
		return -1;
	}
	PQclear(r);
	return 0;
}

int ss_pg_slot_wal(struct ss_pg *pg, const char *slot, int64_t *wal,
		   int64_t *retained, int64_t *flush_lag, struct ss_err *err)
{
	const char *params[1] = {slot};
	PGresult *r;
	int ok;

	if (ss_pg_exec(pg, "could not read the replication slot's WAL",
		       "SELECT (pg_current_wal_lsn() - '0/0')::text,"
		       " (pg_current_wal_lsn() - restart_lsn)::text,"
		       " (pg_current_wal_lsn() - confirmed_flush_lsn)::text"
		       " FROM pg_replication_slots"
		       " WHERE slot_name = $1 AND NOT pg_is_in_recovery()",
		       1, params, &r, NULL, err) < 0)
		return -1;
	ok = PQntuples(r) == 1 && !PQgetisnull(r, 0, 0) &&
	     !PQgetisnull(r, 0, 1) && !PQgetisnull(r, 0, 2) &&
	     ss_parse_i64(PQgetvalue(r, 0, 0), 0, INT64_MAX, wal, "lsn",
			  NULL) == 0 &&
	     ss_parse_i64(PQgetvalue(r, 0, 1), INT64_MIN, INT64_MAX, retained,
			  "lsn", NULL) == 0 &&
	     ss_parse_i64(PQgetvalue(r, 0, 2), INT64_MIN, INT64_MAX, flush_lag,
			  "lsn", NULL) == 0;
	PQclear(r);
	if (!ok)
		*wal = *retained = *flush_lag = -1;
	return ok;
}

int ss_pg_identify_system(struct ss_pg *repl, struct ss_pg *admin,
			  struct ss_stream_id *id, ss_lsn *xlogpos,
			  struct ss_err *err)
{
	PGresult *r;
	int64_t oid;

	if (ss_pg_exec(repl, "could not identify the server", "IDENTIFY_SYSTEM",
		       0, NULL, &r, NULL, err) < 0)
		return -1;
	if (PQntuples(r) != 1 || PQnfields(r) < 4 || PQgetisnull(r, 0, 0) ||
	    PQgetisnull(r, 0, 3) ||
	    strlen(PQgetvalue(r, 0, 0)) >= sizeof(id->system_id) ||
	    strlen(PQgetvalue(r, 0, 3)) >= sizeof(id->db_name) ||
	    ss_parse_i64(PQgetvalue(r, 0, 1), 1, UINT32_MAX, &oid, "timeline",
			 err) < 0) {
		PQclear(r);
		if (!err->msg[0])
			ss_err_set(err, SS_ERR_RUNTIME,
				   "could not identify the "
				   "server: unexpected IDENTIFY_SYSTEM result");
		return -1;
	}
	snprintf(id->system_id, sizeof(id->system_id), "%s",
		 PQgetvalue(r, 0, 0));
	snprintf(id->db_name, sizeof(id->db_name), "%s", PQgetvalue(r, 0, 3));
	id->timeline = (uint32_t)oid;
	if (ss_lsn_parse(PQgetvalue(r, 0, 2), xlogpos, err) < 0) {
		PQclear(r);
		return -1;
	}
	PQclear(r);
	if (ss_pg_exec(admin, "could not look up the database",
		       "SELECT oid FROM pg_database "
		       "WHERE datname = current_database()",
		       0, NULL, &r, NULL, err) < 0)
		return -1;
	if (PQntuples(r) != 1 ||
	    ss_parse_i64(PQgetvalue(r, 0, 0), 1, UINT32_MAX, &oid,
			 "database oid", err) < 0) {
		PQclear(r);
		if (!err->msg[0])
			ss_err_set(err, SS_ERR_RUNTIME,
				   "could not look up the database's oid");
		return -1;
	}
	id->db_oid = (uint32_t)oid;
	PQclear(r);
	return 0;
}

/* What a slot creation waits for: the oldest transactions that hold an
 * xid, as one line for the operator ("" when none is found). */
static void waiting_for(struct ss_pg *admin, struct ss_buf *out)
{
	struct ss_err e = SS_ERR_INIT;
	PGresult *r;
	int i;

	ss_buf_reset(out);
	if (ss_pg_exec(
		admin, "could not look up transactions",
		"SELECT pid, backend_xid, date_trunc('second', now() - "
		"xact_start), coalesce(application_name, ''), "
		"left(regexp_replace(query, '\\s+', ' ', 'g'), 60) "
		"FROM pg_stat_activity WHERE backend_xid IS NOT NULL "
		"AND pid <> pg_backend_pid() ORDER BY xact_start LIMIT 3",
		0, NULL, &r, NULL, &e) < 0)
		return;
	for (i = 0; i < PQntuples(r); i++)
		ss_buf_addf(out, "%spid %s (xid %s, open %s%s%s): %s",
			    i ? "; " : "", PQgetvalue(r, i, 0),
			    PQgetvalue(r, i, 1), PQgetvalue(r, i, 2),
			    *PQgetvalue(r, i, 3) ? ", " : "",
			    PQgetvalue(r, i, 3), PQgetvalue(r, i, 4));
	PQclear(r);
}

int ss_pg_slot_create(struct ss_pg *repl, const char *slot, int temporary,
		      int *created, ss_lsn *consistent, struct ss_pg *admin,
		      ss_pg_wait_cb cb, void *ctx, struct ss_err *err)
{
	struct ss_buf sql = SS_BUF_INIT, why = SS_BUF_INIT;
	const char *msg, *state;
	int64_t start = ss_mono_us(), next = start + 2000000;
	PGresult *r, *last = NULL;
	int rc = 0;

	*created = 0;
	ss_buf_adds(&sql, "CREATE_REPLICATION_SLOT ");
	ss_pg_add_ident(repl, &sql, slot);
	ss_buf_adds(&sql, temporary
			      ? " TEMPORARY LOGICAL pgoutput NOEXPORT_SNAPSHOT"
			      : " LOGICAL pgoutput NOEXPORT_SNAPSHOT");
	if (!PQsendQuery(repl->conn, sql.buf)) {
		ss_buf_release(&sql);
		set_libpq_error(err, "could not create the replication slot",
				PQerrorMessage(repl->conn));
		return -1;
	}
	ss_buf_release(&sql);
	/* The slot is consistent once the transactions running now have
	 * ended: say which ones while it waits. */
	while (PQisBusy(repl->conn)) {
		struct pollfd pfd = {PQsocket(repl->conn), POLLIN, 0};

		if (poll(&pfd, 1, 500) < 0 && errno != EINTR)
			break;
		if (!PQconsumeInput(repl->conn))
			break;
		if (cb && admin && ss_mono_us() >= next) {
			waiting_for(admin, &why);
			if (why.len)
				cb((ss_mono_us() - start) / 1000000, why.buf,
				   ctx);
			next = ss_mono_us() + 10000000;
		}
	}
	ss_buf_release(&why);
	while ((r = PQgetResult(repl->conn))) {
		PQclear(last);
		last = r;
	}
	if (!last || PQresultStatus(last) != PGRES_TUPLES_OK) {
		msg = field(last, PG_DIAG_MESSAGE_PRIMARY);
		state = field(last, PG_DIAG_SQLSTATE);
		if (state && !strcmp(state, "42710")) {
			PQclear(last);
			return 0; /* it exists */
		}
		if (msg) {
			const char *h = field(last, PG_DIAG_MESSAGE_HINT);

			ss_err_set(err, SS_ERR_RUNTIME,
				   "could not create the "
				   "replication slot: %s",
				   msg);
			if (h)
				ss_err_hint(err, "%s", h);
			explain(err, state ? state : "", msg);
		} else {
			set_libpq_error(err,
					"could not create the replication slot",
					PQerrorMessage(repl->conn));
		}
		PQclear(last);
		return -1;
	}
	*created = 1;
	if (consistent) {
		*consistent = 0;
		if (PQntuples(last) == 1 && PQnfields(last) >= 2 &&
		    ss_lsn_parse(PQgetvalue(last, 0, 1), consistent, err) < 0)
			rc = -1;
	}
	PQclear(last);
	return rc;
}

int ss_pg_slot_drop(struct ss_pg *pg, const char *slot, struct ss_err *err)
{
	const char *params[1] = {slot};
	char state[6];

	if (ss_pg_exec(pg, "could not drop the replication slot",
		       "SELECT pg_drop_replication_slot($1)", 1, params, NULL,
		       state, err) == 0)
		return 0;
	if (!strcmp(state, "42704"))
		return ss_err_set(err, SS_ERR_INPUT,
				  "replication slot '%s' does not exist", slot);
	return -1;
}

static int query_u64(struct ss_pg *pg, const char *what, const char *sql,
		     uint64_t *out, struct ss_err *err)
{
	PGresult *r;
	int rc = 0;

	if (ss_pg_exec(pg, what, sql, 0, NULL, &r, NULL, err) < 0)
		return -1;
	if (PQntuples(r) != 1 || PQgetisnull(r, 0, 0) ||
	    ss_parse_u64(PQgetvalue(r, 0, 0), UINT64_MAX, out, what, err) < 0)
		rc = ss_err_set(err, SS_ERR_RUNTIME, "%s: unexpected result",
				what);
	PQclear(r);
	return rc;
}

int ss_pg_next_xid(struct ss_pg *pg, uint64_t *out, struct ss_err *err)
{
	return query_u64(pg, "could not read the next transaction id",
			 "SELECT pg_snapshot_xmax(pg_current_snapshot())", out,
			 err);
}

int ss_pg_wal_sender_timeout(struct ss_pg *pg, int64_t *ms, struct ss_err *err)
{
	uint64_t v;

	if (query_u64(pg, "could not read wal_sender_timeout",
		      "SELECT setting FROM pg_settings "
		      "WHERE name = 'wal_sender_timeout'",
		      &v, err) < 0)
		return -1;
	*ms = v > INT64_MAX ? INT64_MAX : (int64_t)v;
	return 0;
}

/* A string literal of the replication command grammar: only '' is an
 * escape there (no E'' strings, backslashes are plain). */
static void add_repl_literal(struct ss_buf *b, const char *s)
{
	ss_buf_addc(b, '\'');
	ss_buf_add_doubling(b, s, '\'');
	ss_buf_addc(b, '\'');
}

int ss_pg_start_replication(struct ss_pg *repl, const char *slot,
			    const char *pub, ss_lsn start, struct ss_err *err)
{
	struct ss_buf sql = SS_BUF_INIT, names = SS_BUF_INIT;
	char lsn[SS_LSN_STRMAX];
	PGresult *r;
	int rc = 0;

	/* publication_names is a list of identifiers inside a literal. */
	ss_pg_add_ident(repl, &names, pub);
	ss_buf_adds(&sql, "START_REPLICATION SLOT ");
	ss_pg_add_ident(repl, &sql, slot);
	ss_buf_addf(&sql, " LOGICAL %s (proto_version '1', publication_names ",
		    ss_lsn_format(start, lsn));
	add_repl_literal(&sql, names.buf);
	/* Logical messages carry route's markers (lib/decode). */
	ss_buf_adds(&sql, ", messages 'true')");
	r = PQexec(repl->conn, sql.buf);
	if (!r || PQresultStatus(r) != PGRES_COPY_BOTH) {
		const char *msg = field(r, PG_DIAG_MESSAGE_PRIMARY);

		if (msg) {
			const char *state = field(r, PG_DIAG_SQLSTATE);

			ss_err_set(err, SS_ERR_RUNTIME,
				   "could not start replication: %s", msg);
			explain(err, state ? state : "", msg);
		} else
			set_libpq_error(err, "could not start replication",
					PQerrorMessage(repl->conn));
		rc = -1;
	}
	PQclear(r);
	ss_buf_release(&sql);
	ss_buf_release(&names);
	return rc;
}

/* ---- The streaming protocol ------------------------------------------ */

int ss_pg_copymsg_parse(const char *buf, size_t len, struct ss_pg_copymsg *m,
			struct ss_err *err)
{
	const unsigned char *p = (const unsigned char *)buf;

	memset(m, 0, sizeof(*m));
	if (len < 1)
		return ss_err_set(err, SS_ERR_INPUT,
				  "empty replication message");
	m->kind = buf[0];
	switch (m->kind) {
	case 'w':
		if (len < 25)
			break;
		m->data_start = ss_get64be(p + 1);
		m->wal_end = ss_get64be(p + 9);
		m->send_time_us =
		    (int64_t)ss_get64be(p + 17) + SS_PG_EPOCH_OFFSET_US;
		m->data = buf + 25;
		m->len = len - 25;
		return 0;
	case 'k':
		if (len < 18)
			break;
		m->wal_end = ss_get64be(p + 1);
		m->send_time_us =
		    (int64_t)ss_get64be(p + 9) + SS_PG_EPOCH_OFFSET_US;
		m->reply = p[17] != 0;
		return 0;
	default:
		return ss_err_set(err, SS_ERR_INPUT,
				  "unknown replication message type 0x%02x",
				  p[0]);
	}
	return ss_err_set(err, SS_ERR_INPUT,
			  "replication message '%c' too short (%zu bytes)",
			  m->kind, len);
}

size_t ss_pg_status_build(char out[34], ss_lsn written, ss_lsn flushed,
			  ss_lsn applied, int64_t now_us, int reply)
{
	out[0] = 'r';
	ss_put64be(out + 1, written);
	ss_put64be(out + 9, flushed);
	ss_put64be(out + 17, applied);
	ss_put64be(out + 25, (uint64_t)(now_us - SS_PG_EPOCH_OFFSET_US));
	out[33] = reply ? 1 : 0;
	return 34;
}

int ss_pg_send_status(struct ss_pg *repl, ss_lsn written, ss_lsn flushed,
		      int reply, struct ss_err *err)
{
	char msg[34];
	size_t n = ss_pg_status_build(msg, written, flushed, flushed,
				      ss_now_us(), reply);

	if (PQputCopyData(repl->conn, msg, (int)n) <= 0 ||
	    PQflush(repl->conn) != 0) {
		set_libpq_error(err, "could not send a status update",
				PQerrorMessage(repl->conn));
		return -1;
	}
	return 0;
}

int ss_pg_copy_read(struct ss_pg *repl, char **buf, size_t *len,
		    struct ss_err *err)
{
	char *b = NULL;
	int n = PQgetCopyData(repl->conn, &b, 1);
	PGresult *r;

	if (n > 0) {
		*buf = b;
		*len = (size_t)n;
		return 1;
	}
	if (n == 0)
		return 0;
	if (n == -2) {
		set_libpq_error(err, "replication stream failed",
				PQerrorMessage(repl->conn));
		return -1;
	}
	/* -1: the server ended the copy; its result says why. */
	r = PQgetResult(repl->conn);
	if (r && PQresultStatus(r) != PGRES_COMMAND_OK) {
		const char *msg = field(r, PG_DIAG_MESSAGE_PRIMARY);

		if (msg)
			ss_err_set(err, SS_ERR_RUNTIME,
				   "replication stream ended: %s", msg);
		else
			set_libpq_error(err, "replication stream ended",
					PQerrorMessage(repl->conn));
	} else {
		ss_err_set(err, SS_ERR_RUNTIME,
			   "replication stream ended by the server");
	}
	PQclear(r);
	while ((r = PQgetResult(repl->conn)))
		PQclear(r);
	return -1;
}

int ss_pg_consume(struct ss_pg *repl, struct ss_err *err)
{
	if (PQconsumeInput(repl->conn) == 0) {
		set_libpq_error(err, "replication connection failed",
				PQerrorMessage(repl->conn));
		return -1;
	}
	return 0;
}

void ss_pg_copy_end(struct ss_pg *repl, int timeout_ms)
{
	int64_t deadline = ss_mono_us() + (int64_t)timeout_ms * 1000;
	PGresult *r;
	char *buf;

	if (PQputCopyEnd(repl->conn, NULL) <= 0 || PQflush(repl->conn) != 0)
		return;
	/* The walsender finishes the transaction it is sending before its
	 * CopyDone: read on, discarding, but not past the deadline. */
	for (;;) {
		int n = PQgetCopyData(repl->conn, &buf, 1);
		int64_t left = deadline - ss_mono_us();
		struct pollfd pfd = {PQsocket(repl->conn), POLLIN, 0};

		if (n > 0) {
			PQfreemem(buf);
			continue;
		}
		if (n < 0)
			break;
		if (left <= 0 || poll(&pfd, 1, (int)(left / 1000) + 1) <= 0 ||
		    PQconsumeInput(repl->conn) == 0)
			return; /* closing the connection ends it anyway */
	}
	while ((r = PQgetResult(repl->conn)))
		PQclear(r);
}
