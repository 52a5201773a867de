/*
 * bench/route.c — inputs for bench/route.sh, which times the real
 * shapesync-route binary. Modes:
 *   fill   PATH FORM K     register K shapes of FORM in a new registry
 *   frames FORM K N        write N insert changes (1000 per transaction)
 *                          on table items to stdout, with values drawn so
 *                          that each change has exactly one candidate
 *                          shape whatever K is (so the rates compare the
 *                          cost of finding it, not of writing more ids)
 * FORM: eq     user_id = i                         (every change matches)
 *       in     status IN ('a<i>', 'b<i>') AND amount > 100
 *                                                  (half of them match)
 *       ilike  title ILIKE '%x<i>y%'   (not indexable: evaluated per shape)
 *       prefix title ILIKE 'U<i>-%'    (the prefix index; titles start
 *                                       with a lower-case 'u<i>-')
 */
#include <inttypes.h>

#include "frame.h"
#include "registry.h"

static void die(const char *what, const struct ss_err *err)
{
	fprintf(stderr, "bench-route: %s: %s\n", what, err ? err->msg : "");
	exit(1);
}

static void make_def(struct ss_shape *s, const char *form, long i)
{
	char where[128];

	ss_shape_init(s);
	s->schema = ss_xstrdup("public");
	s->table = ss_xstrdup("items");
	if (!strcmp(form, "eq"))
		snprintf(where, sizeof(where), "user_id = %ld", i);
	else if (!strcmp(form, "in"))
		snprintf(where, sizeof(where),
			 "status IN ('a%ld', 'b%ld') AND amount > 100", i, i);
	else if (!strcmp(form, "prefix"))
		snprintf(where, sizeof(where), "title ILIKE 'U%ld-%%'", i);
	else
		snprintf(where, sizeof(where), "title ILIKE '%%x%ldy%%'", i);
	ss_shape_set_where(s, where);
}

static int fill(const char *path, const char *form, long k)
{
	struct ss_registry_opts o;
	struct ss_registry *r;
	struct ss_err err = SS_ERR_INIT;
	long i;

	ss_registry_opts_init(&o);
	o.create = 1;
	o.flush_batch = 4096;
	o.id_block = 65536;
	o.synchronous_full = 0;
	if (ss_registry_open(path, &o, &r, &err) < 0)
		die("open", &err);
	for (i = 0; i < k; i++) {
		struct ss_shape s;
		struct ss_shape_rec rec;
		int created;

		make_def(&s, form, i);
		ss_shape_rec_init(&rec);
		if (ss_registry_add(r, &s, NULL, 0, &rec, &created, &err) < 0)
			die("add", &err);
		/* Marked as route would have done in an earlier run, so the
		 * timed run measures routing, not marking. */
		if (ss_registry_mark_active(r, rec.id, 0, &err) < 0)
			die("mark", &err);
		ss_shape_rec_release(&rec);
		ss_shape_release(&s);
	}
	if (ss_registry_close(r, &err) < 0)
		die("close", &err);
	return 0;
}

static uint64_t rng = 88172645463325252ull;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int frames(long k, long n)
{
	long i, pos = 0;
	uint64_t xid = 1000, lsn = 0x1000000;
	static char buf[1 << 16];

	setvbuf(stdout, buf, _IOFBF, sizeof(buf));
	for (i = 0; i < n; i++) {
		long u = (long)(next() % (uint64_t)k);
		long amount = (long)(next() % 200);

		if (i % 1000 == 0) {
			if (i) {
				printf(
				    "{\"type\":\"commit\",\"xid\":%" PRIu64
				    ",\"lsn\":\"%X/%X\",\"end_lsn\":\"%X/%X\","
				    "\"ts\":\"2026-11-21T07:38:00.123456Z\"}\n",
				    xid, (unsigned)(lsn >> 32), (unsigned)lsn,
				    (unsigned)(lsn >> 32), (unsigned)lsn + 8);
				xid++;
				lsn += 0x10000;
			}
			printf("{\"type\":\"begin\",\"xid\":%" PRIu64
			       ",\"lsn\":\"%X/%X\",\"ts\":"
			       "\"2026-11-21T07:38:00.123456Z\"}\n",
			       xid, (unsigned)(lsn >> 32), (unsigned)lsn);
			if (i == 0)
				printf(
				    "{\"type\":\"relation\",\"oid\":16384,"
				    "\"schema\":\"public\",\"table\":\"items\","
				    "\"replica_identity\":\"f\",\"columns\":["
				    "{\"name\":\"id\",\"type\":\"int8\",\"type_oid\":20,\"typmod\":-1,\"pk\":true},"
				    "{\"name\":\"user_id\",\"type\":\"int4\",\"type_oid\":23,\"typmod\":-1,\"pk\":false},"
				    "{\"name\":\"status\",\"type\":\"text\",\"type_oid\":25,\"typmod\":-1,\"pk\":false},"
				    "{\"name\":\"amount\",\"type\":\"numeric\",\"type_oid\":1700,\"typmod\":-1,\"pk\":false},"
				    "{\"name\":\"title\",\"type\":\"text\",\"type_oid\":25,\"typmod\":-1,\"pk\":false}]}\n");
			pos = 0;
		}
		printf("{\"type\":\"change\",\"op\":\"insert\",\"oid\":16384,"
		       "\"xid\":%" PRIu64 ",\"lsn\":\"%X/%X\",\"pos\":%ld,"
		       "\"new\":{\"id\":\"%ld\",\"user_id\":\"%ld\","
		       "\"status\":\"%c%ld\",\"amount\":\"%ld.%02ld\","
		       "\"title\":\"u%ld-item number %ld x%ldy\"}}\n",
		       xid, (unsigned)(lsn >> 32), (unsigned)lsn, pos++, i, u,
		       next() & 1 ? 'a' : 'b', u, amount, (long)(next() % 100),
		       u, i, u);
	}
	printf("{\"type\":\"commit\",\"xid\":%" PRIu64
	       ",\"lsn\":\"%X/%X\",\"end_lsn\":\"%X/%X\","
	       "\"ts\":\"2026-11-21T07:38:00.123456Z\"}\n",
	       xid, (unsigned)(lsn >> 32), (unsigned)lsn, (unsigned)(lsn >> 32),
	       (unsigned)lsn + 8);
	return fflush(stdout) ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "fill"))
		return fill(argv[2], argv[3], strtol(argv[4], NULL, 10));
	if (argc == 5 && !strcmp(argv[1], "frames"))
		return frames(strtol(argv[3], NULL, 10),
			      strtol(argv[4], NULL, 10));
	fprintf(stderr, "usage: route fill PATH FORM K | frames FORM K N\n");
	return 2;
}
