/*
 * connguard.h — a server's guard over its open connections: a limit on how
 * many are open, and a deadline per connection that bytes trickling in do
 * not move (slowloris, a POST body that never ends). The HTTP library owns
 * the sockets; the guard only counts them and, when a deadline passes,
 * shuts the socket down so that the library sees it end and closes it.
 */
#ifndef SS_CONNGUARD_H
#define SS_CONNGUARD_H

#include <stddef.h>
#include <stdint.h>

struct ss_connguard;
struct ss_connguard_conn;

/* A guard allowing at most `max` (>= 1) connections. *new*: free with
 * ss_connguard_free() once no connection is added any more. */
struct ss_connguard *ss_connguard_new(size_t max);
/* Frees the guard and any connection still in it (their sockets are left
 * alone). NULL is a no-op. */
void ss_connguard_free(struct ss_connguard *g);

/*
 * Take a place for a connection about to be accepted. Returns 1 (taken:
 * give it back with ss_connguard_remove() of the connection added for it,
 * or ss_connguard_release() if none is added), or 0 when `max` places are
 * taken: refuse the connection. Thread-safe, and exact under concurrency.
 */
int ss_connguard_reserve(struct ss_connguard *g);
/* Give back a place reserved for a connection that was never added. */
void ss_connguard_release(struct ss_connguard *g);

/*
 * Add the connection on socket `fd` (for a place already reserved) with a
 * deadline (ss_mono_us() clock; 0: none). *borrowed* by the caller until
 * ss_connguard_remove(), which must come before the socket is closed: the
 * guard never touches a socket after its removal.
 */
struct ss_connguard_conn *ss_connguard_add(struct ss_connguard *g, int fd,
					   int64_t deadline_us);
/* Set or clear (0) a connection's deadline. Thread-safe. */
void ss_connguard_set_deadline(struct ss_connguard_conn *c,
			       int64_t deadline_us);
/* Remove a connection, free it and give its place back. NULL is a no-op. */
void ss_connguard_remove(struct ss_connguard *g, struct ss_connguard_conn *c);

/*
 * Shut down (shutdown(2), both ways) the socket of every connection whose
 * deadline is at or before `now_us`, once each; their deadlines are
 * cleared. The owner then sees the socket end and closes it. Returns how
 * many were shut down.
 */
size_t ss_connguard_sweep(struct ss_connguard *g, int64_t now_us);

/* Places taken (reserved or added). */
size_t ss_connguard_count(struct ss_connguard *g);

/*
 * 1 when a refusal (ss_connguard_reserve failed) at now_us should be
 * reported: the first, then at most one every 10 s (thread-safe), so a
 * flood of connections does not flood the log.
 */
int ss_connguard_refusal_report(struct ss_connguard *g, int64_t now_us);

/*
 * The connections a process may hold with nofile descriptors: a quarter
 * stay for its files, the registry and PostgreSQL (an accept that fails
 * for want of one makes libmicrohttpd stop accepting, and clients wait in
 * the listen queue). Returns wanted when it fits, else the cap (at least
 * 1); nofile < 0 is no limit.
 */
int64_t ss_connguard_fd_cap(int64_t nofile, int64_t wanted);

/*
 * The shape logs (lib/live: a reader holds up to four descriptors) a
 * process may keep open beside `conns` connections with nofile
 * descriptors: half of the descriptors the connections leave, the other
 * half for snapshot chunks being sent, the registry and PostgreSQL.
 * Returns wanted when it fits (wanted 0: the cap itself), else the cap;
 * at least 8. nofile < 0 (no limit): wanted, or 16384 by default.
 */
int64_t ss_connguard_log_cap(int64_t nofile, int64_t conns, int64_t wanted);

#endif
