/*
 * test-sdnotify.c — lib/sdnotify against real sockets: a datagram socket
 * bound to a file and one in the abstract namespace receive exactly the
 * state sent; no socket set sends nothing; a relative or too long name, a
 * missing socket and one nobody reads any more fail with a message.
 * argv[1]: a scratch directory for the socket files.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sdnotify.h"
#include "unit.h"

/* A datagram socket bound to NAME ('@' first: abstract), as systemd
 * binds its notify socket. */
static int bind_dgram(const char *name)
{
	struct sockaddr_un sa;
	size_t n = strlen(name);
	socklen_t len;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, name, n);
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	else
		len++;
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, len) < 0)
		FAILF("bind %s: %s", name, strerror(errno));
	return fd;
}

/* The next datagram of FD, NUL-terminated (nothing waiting: ""). */
static const char *next_dgram(int fd)
{
	static char buf[512];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

int main(int argc, char **argv)
{
	struct ss_err err = SS_ERR_INIT;
	char path[300], abstract[64], gone[300], longname[200];
	int fd, afd, gfd;

	if (argc < 2)
		FAILF("usage: test-sdnotify DIR");

	/* A socket file, the usual /run/systemd/notify. */
	snprintf(path, sizeof(path), "%s/notify", argv[1]);
	unlink(path);
	fd = bind_dgram(path);
	CHECK(ss_sdnotify_send(path, "READY=1", &err) == 1);
	CHECK_STR(next_dgram(fd), "READY=1");
	CHECK(ss_sdnotify_send(path, "READY=1\nSTATUS=serving on :3000",
			       &err) == 1);
	CHECK_STR(next_dgram(fd), "READY=1\nSTATUS=serving on :3000");
	CHECK_STR(next_dgram(fd), "");

	/* The abstract namespace: '@' is the leading NUL, and the name is
	 * exactly the bytes after it (a trailing NUL would be another
	 * name, which the receiver would never see). */
	snprintf(abstract, sizeof(abstract), "@shapesync-test-sdnotify-%ld",
		 (long)getpid());
	afd = bind_dgram(abstract);
	CHECK(ss_sdnotify_send(abstract, "STOPPING=1", &err) == 1);
	CHECK_STR(next_dgram(afd), "STOPPING=1");
	CHECK_STR(next_dgram(fd), "");

	/* No $NOTIFY_SOCKET: nothing to do, no error. */
	ss_err_clear(&err);
	CHECK(ss_sdnotify_send(NULL, "READY=1", &err) == 0);
	CHECK(ss_sdnotify_send("", "READY=1", &err) == 0);
	CHECK_STR(err.msg, "");

	/* Names systemd never gives. */
	CHECK(ss_sdnotify_send("run/notify", "READY=1", &err) == -1);
	CHECK(strstr(err.msg, "'run/notify' is neither an absolute path") !=
	      NULL);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[0] = '/';
	longname[sizeof(longname) - 1] = '\0';
	CHECK(ss_sdnotify_send(longname, "READY=1", &err) == -1);
	CHECK(strstr(err.msg, "longer than a socket address") != NULL);

	/* No socket there, and a socket whose reader has gone. */
	snprintf(gone, sizeof(gone), "%s/missing", argv[1]);
	unlink(gone);
	CHECK(ss_sdnotify_send(gone, "READY=1", &err) == -1);
	CHECK(strstr(err.msg, "could not notify '") != NULL);
	CHECK(strstr(err.msg, "No such file or directory") != NULL);
	snprintf(gone, sizeof(gone), "%s/gone", argv[1]);
	unlink(gone);
	gfd = bind_dgram(gone);
	close(gfd);
	CHECK(ss_sdnotify_send(gone, "READY=1", &err) == -1);
	CHECK(strstr(err.msg, "Connection refused") != NULL);

	close(fd);
	close(afd);
	unlink(path);
	unlink(gone);
	return unit_report();
}
