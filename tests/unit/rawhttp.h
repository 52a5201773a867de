/*
 * rawhttp.h — a tiny HTTP/1.1 client for the unit tests of lib/server and
 * its handlers: one request per connection on 127.0.0.1, the whole answer
 * read until the server closes (every request says "connection: close"),
 * then its status, a header and its body picked out of the raw text.
 */
#ifndef SS_RAWHTTP_H
#define SS_RAWHTTP_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "unit.h"
#include "util.h"

/* Send the raw request req to 127.0.0.1:port; its answer into out. */
static inline void rawhttp(unsigned port, const char *req, struct ss_buf *out)
{
	struct sockaddr_in a;
	struct timeval tv = {10, 0};
	char buf[4096];
	ssize_t n;
	size_t off = 0, len = strlen(req);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ss_buf_reset(out);
	if (fd < 0)
		FAILF("socket: %s", strerror(errno));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		FAILF("connect: %s", strerror(errno));
	while (off < len) {
		n = write(fd, req + off, len - off);
		if (n <= 0)
			break; /* the server may answer and close early */
		off += (size_t)n;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		ss_buf_add(out, buf, (size_t)n);
	close(fd);
}

/* "METHOD target" with Host and "Connection: close", and extra header
 * lines (each ending in \r\n; "" for none). */
static inline void rawhttp_req(unsigned port, const char *method,
			       const char *target, const char *extra,
			       struct ss_buf *out)
{
	struct ss_buf req = SS_BUF_INIT;

	ss_buf_addf(&req,
		    "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s\r\n",
		    method, target, extra);
	rawhttp(port, req.buf, out);
	ss_buf_release(&req);
}

/* The answer's status, -1 when there is none. */
static inline int rawhttp_status(const struct ss_buf *b)
{
	return b->len > 12 && !strncmp(b->buf, "HTTP/1.1 ", 9)
		   ? (int)strtol(b->buf + 9, NULL, 10)
		   : -1;
}

/* The answer's body ("" when there is none). */
static inline const char *rawhttp_body(const struct ss_buf *b)
{
	const char *p = b->len ? strstr(b->buf, "\r\n\r\n") : NULL;

	return p ? p + 4 : "";
}

/* A header's value (name lowercase, as lib/server sends them) into out
 * (n bytes); "" when absent. */
static inline const char *rawhttp_header(const struct ss_buf *b,
					 const char *name, char *out, size_t n)
{
	char key[128];
	const char *p, *e;

	out[0] = '\0';
	snprintf(key, sizeof(key), "\r\n%s: ", name);
	p = b->len ? strstr(b->buf, key) : NULL;
	if (!p)
		return out;
	p += strlen(key);
	e = strstr(p, "\r\n");
	snprintf(out, n, "%.*s", (int)(e ? e - p : 0), p);
	return out;
}

#endif
