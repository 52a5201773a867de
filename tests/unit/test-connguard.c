/*
 * test-connguard.c — tests for lib/connguard: the limit is exact under
 * concurrent reservations, a passed deadline shuts the socket down (the
 * peer reads end of file) once, a cleared or later deadline does not, and
 * a removed connection gives its place back; the share of descriptors for
 * connections and for shape logs. Sockets are socketpairs.
 */
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "connguard.h"
#include "unit.h"

#define THREADS 8
#define TRIES 10000

static struct ss_connguard *shared;
static int taken[THREADS];

static void *reserver(void *arg)
{
	int i, *n = arg;

	for (i = 0; i < TRIES; i++)
		*n += ss_connguard_reserve(shared);
	return NULL;
}

/* 1 when the peer of a shut down socket reads end of file at once. */
static int ended(int fd)
{
	char c;

	return recv(fd, &c, 1, MSG_DONTWAIT) == 0;
}

int main(void)
{
	struct ss_connguard *g = ss_connguard_new(2);
	struct ss_connguard_conn *a, *b;
	pthread_t th[THREADS];
	int sa[2], sb[2], i, sum = 0;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sa) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, sb) < 0)
		FAILF("socketpair failed");

	/* limit */
	CHECK(ss_connguard_reserve(g) == 1);
	CHECK(ss_connguard_reserve(g) == 1);
	CHECK(ss_connguard_reserve(g) == 0);
	CHECK(ss_connguard_count(g) == 2);
	a = ss_connguard_add(g, sa[0], 1000);
	b = ss_connguard_add(g, sb[0], 0);

	/* deadlines */
	CHECK(ss_connguard_sweep(g, 999) == 0);
	CHECK(!ended(sa[1]));
	CHECK(ss_connguard_sweep(g, 1000) == 1);
	CHECK(ended(sa[1]));
	CHECK(!ended(sb[1]));
	CHECK(ss_connguard_sweep(g, 5000) == 0); /* once */
	ss_connguard_set_deadline(b, 2000);
	ss_connguard_set_deadline(b, 0);
	CHECK(ss_connguard_sweep(g, 5000) == 0);
	ss_connguard_set_deadline(b, 6000);
	CHECK(ss_connguard_sweep(g, 5999) == 0);
	CHECK(ss_connguard_sweep(g, 6001) == 1);
	CHECK(ended(sb[1]));

	/* removal gives the place back, in any order */
	ss_connguard_remove(g, a);
	CHECK(ss_connguard_count(g) == 1);
	CHECK(ss_connguard_reserve(g) == 1);
	ss_connguard_release(g);
	ss_connguard_remove(g, b);
	ss_connguard_remove(g, NULL);
	CHECK(ss_connguard_count(g) == 0);
	ss_connguard_free(g);

	/* exact under concurrency */
	shared = ss_connguard_new(1000);
	for (i = 0; i < THREADS; i++)
		if (pthread_create(&th[i], NULL, reserver, &taken[i]))
			FAILF("pthread_create failed");
	for (i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		sum += taken[i];
	}
	CHECK(sum == 1000);
	CHECK(ss_connguard_count(shared) == 1000);
	ss_connguard_free(shared);
	ss_connguard_free(NULL);
	for (i = 0; i < 2; i++) {
		close(sa[i]);
		close(sb[i]);
	}
	/* refusals reported once per 10 s */
	g = ss_connguard_new(1);
	CHECK(ss_connguard_refusal_report(g, 1000));
	CHECK(!ss_connguard_refusal_report(g, 2000));
	CHECK(!ss_connguard_refusal_report(g, 10001000));
	CHECK(ss_connguard_refusal_report(g, 10001001));
	ss_connguard_free(g);
	/* a quarter of the descriptors stay for the rest */
	CHECK(ss_connguard_fd_cap(1024, 20000) == 768);
	CHECK(ss_connguard_fd_cap(1024, 500) == 500);
	CHECK(ss_connguard_fd_cap(1024, 768) == 768);
	CHECK(ss_connguard_fd_cap(1, 10) == 1);
	CHECK(ss_connguard_fd_cap(0, 10) == 1);
	CHECK(ss_connguard_fd_cap(-1, 10) == 10);
	/* shape logs: half of what the connections leave, four each */
	CHECK(ss_connguard_log_cap(20000, 15000, 0) == 625);
	CHECK(ss_connguard_log_cap(20000, 15000, 100) == 100);
	CHECK(ss_connguard_log_cap(20000, 15000, 10000) == 625);
	CHECK(ss_connguard_log_cap(1024, 768, 0) == 32);
	CHECK(ss_connguard_log_cap(1024, 1024, 0) == 8);
	CHECK(ss_connguard_log_cap(64, 100, 0) == 8);
	CHECK(ss_connguard_log_cap(-1, 100, 0) == 16384);
	CHECK(ss_connguard_log_cap(-1, 100, 20000) == 20000);
	return unit_report();
}
