/*
 * test-util.c — lib/util's listening addresses: IPv4 and IPv6 text to a
 * socket address, loopback, and the URL authority form.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "util.h"
#include "unit.h"

static int port_of(const struct sockaddr_storage *sa)
{
	return ntohs(sa->ss_family == AF_INET6 ?
		     ((const struct sockaddr_in6 *)sa)->sin6_port :
		     ((const struct sockaddr_in *)sa)->sin_port);
}

int main(void)
{
	struct sockaddr_storage sa;
	char url[64];

	CHECK(ss_sockaddr_parse("127.0.0.1", 3000, &sa) == sizeof(struct sockaddr_in));
	CHECK(sa.ss_family == AF_INET && port_of(&sa) == 3000);
	CHECK(ss_sockaddr_loopback(&sa));
	CHECK(ss_sockaddr_parse("127.9.8.7", 1, &sa) && ss_sockaddr_loopback(&sa));
	CHECK(ss_sockaddr_parse("10.0.0.1", 1, &sa) && !ss_sockaddr_loopback(&sa));
	CHECK(ss_sockaddr_parse("0.0.0.0", 1, &sa) && !ss_sockaddr_loopback(&sa));
	CHECK(ss_sockaddr_parse("::1", 80, &sa) == sizeof(struct sockaddr_in6));
	CHECK(sa.ss_family == AF_INET6 && port_of(&sa) == 80);
	CHECK(ss_sockaddr_loopback(&sa));
	CHECK(ss_sockaddr_parse("::", 80, &sa) && !ss_sockaddr_loopback(&sa));
	CHECK(ss_sockaddr_parse("fe80::1", 80, &sa) && !ss_sockaddr_loopback(&sa));
	CHECK(ss_sockaddr_parse("[::1]", 80, &sa) == 0);
	CHECK(ss_sockaddr_parse("localhost", 80, &sa) == 0);
	CHECK(ss_sockaddr_parse("", 80, &sa) == 0);
	CHECK(ss_sockaddr_parse("127.0.0.1 ", 80, &sa) == 0);

	ss_sockaddr_url_host("127.0.0.1", 3000, url, sizeof(url));
	CHECK_STR(url, "127.0.0.1:3000");
	ss_sockaddr_url_host("::1", 3000, url, sizeof(url));
	CHECK_STR(url, "[::1]:3000");
	ss_sockaddr_url_host("::1", 3000, url, 5);
	CHECK_STR(url, "[::1");
	return unit_report();
}
