/*
 * sdnotify.h — systemd's readiness protocol (sd_notify(3)) without
 * libsystemd: one datagram of "KEY=VALUE" lines to the AF_UNIX socket that
 * $NOTIFY_SOCKET names. A path starting with '/' is a socket file; one
 * starting with '@' is in Linux's abstract namespace (the '@' stands for
 * the leading NUL byte). Used by shapesync-up and shapesync-serve under a
 * Type=notify unit; without $NOTIFY_SOCKET nothing is sent.
 */
#ifndef SS_SDNOTIFY_H
#define SS_SDNOTIFY_H

#include "util.h"

/*
 * Send STATE (e.g. "READY=1" or "STOPPING=1", several lines joined by
 * '\n') as one datagram to the socket named by PATH. PATH NULL or empty:
 * nothing is sent, returns 0. Returns 1 when the datagram was sent, -1
 * with err (SS_ERR_RUNTIME) when PATH is neither absolute nor abstract,
 * is too long for a socket address, or the send failed (no such socket,
 * nobody bound to it). Blocks at most as long as a datagram send to a
 * full receive queue of a local socket: the socket is non-blocking, so
 * a full queue is an error (EAGAIN), not a wait. Borrowed: PATH, STATE.
 */
int ss_sdnotify_send(const char *path, const char *state, struct ss_err *err);

#endif
