/*
 * sdnotify.c — the sd_notify datagram (see sdnotify.h): a socket address
 * from $NOTIFY_SOCKET's form, one sendto on a fresh SOCK_DGRAM socket.
 */
#include "sdnotify.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int ss_sdnotify_send(const char *path, const char *state, struct ss_err *err)
{
	struct sockaddr_un sa;
	size_t n;
	socklen_t len;
	ssize_t sent;
	int fd, e;

	if (!path || !*path)
		return 0;
	if (path[0] != '/' && path[0] != '@')
		return ss_err_set(err, SS_ERR_RUNTIME,
				  "notify socket '%s' is neither an absolute "
				  "path nor an abstract name ('@...')",
				  path);
	n = strlen(path);
	if (n >= sizeof(sa.sun_path))
		return ss_err_set(err, SS_ERR_RUNTIME,
				  "notify socket '%s' is longer than a socket "
				  "address (%zu bytes)",
				  path, sizeof(sa.sun_path) - 1);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, n);
	if (path[0] == '@') {
		/* Abstract: a NUL first, and the length says where the name
		 * ends (no terminating NUL is part of it). */
		sa.sun_path[0] = '\0';
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	} else {
		len =
		    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return ss_err_set(err, SS_ERR_RUNTIME,
				  "could not make a socket to notify '%s': %s",
				  path, strerror(errno));
	sent = sendto(fd, state, strlen(state), MSG_NOSIGNAL,
		      (struct sockaddr *)&sa, len);
	e = errno;
	close(fd);
	if (sent < 0)
		return ss_err_set(err, SS_ERR_RUNTIME,
				  "could not notify '%s': %s", path,
				  strerror(e));
	if ((size_t)sent != strlen(state))
		return ss_err_set(
		    err, SS_ERR_RUNTIME,
		    "could not notify '%s': %zd of %zu bytes sent", path, sent,
		    strlen(state));
	return 1;
}
