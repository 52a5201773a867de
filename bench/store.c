/*
 * bench/store.c — generates tagged frames for shapesync-store, for its
 * benchmark and its tests. Deterministic for given arguments.
 *
 *   store gen SHAPES TXNS CHANGES [VALUE_BYTES]
 *       a relation frame for table public.items (id int8 pk, shape int4,
 *       payload text), then TXNS transactions of CHANGES inserts each; the
 *       change k of the whole stream goes to shape (k % SHAPES) + 1.
 *       Commit LSNs grow by 0x100 from 0/1000000; xids from 1000.
 *   store fanout SHAPES TXNS CHANGES [VALUE_BYTES]
 *       the same, but every change goes to all SHAPES shapes (Electric's
 *       workloads 5 and 6: one transaction hits every shape).
 *   store big BYTES [VALUE_BYTES]
 *       one transaction of inserts for shape 1 whose payloads add up to
 *       BYTES (a "1 GB transaction" without holding it anywhere).
 *   store registry SHAPES
 *       NDJSON for `shapesync-db import`: SHAPES shapes on public.items,
 *       ids 1..SHAPES, snapshot complete with xmin = xmax = 1 (nothing
 *       filtered).
 */
#include <inttypes.h>

#include "util.h"

static void lsn_text(uint64_t lsn, char *out, size_t n)
{
	snprintf(out, n, "%" PRIX32 "/%" PRIX32, (uint32_t)(lsn >> 32),
		 (uint32_t)lsn);
}

static void relation(void)
{
	printf(
	    "{\"type\":\"relation\",\"oid\":16384,\"schema\":\"public\",\"table\":\"items\","
	    "\"replica_identity\":\"f\",\"columns\":["
	    "{\"name\":\"id\",\"type\":\"int8\",\"type_oid\":20,\"typmod\":-1,\"pk\":true},"
	    "{\"name\":\"shape\",\"type\":\"int4\",\"type_oid\":23,\"typmod\":-1,\"pk\":false},"
	    "{\"name\":\"payload\",\"type\":\"text\",\"type_oid\":25,\"typmod\":-1,\"pk\":false}]}\n");
}

static const char ts[] = "2026-11-21T07:38:00.000000Z";

static void payload(char *buf, size_t n, uint64_t k)
{
	size_t i;

	for (i = 0; i < n; i++)
		buf[i] = (char)('a' + (k + i) % 26);
	buf[n] = '\0';
}

static int gen(long shapes, long txns, long changes, long vbytes, int all)
{
	char lsn[32], *pl = ss_xmalloc((size_t)vbytes + 1);
	uint64_t k = 0, l = 0x1000000;
	struct ss_buf tags = SS_BUF_INIT;
	long t, c;

	for (c = 1; all && c <= shapes; c++)
		ss_buf_addf(&tags, "%s%ld", c > 1 ? "," : "", c);
	relation();
	for (t = 0; t < txns; t++, l += 0x100) {
		uint64_t xid = 1000 + (uint64_t)t;

		lsn_text(l, lsn, sizeof(lsn));
		printf("{\"type\":\"begin\",\"xid\":%" PRIu64
		       ",\"lsn\":\"%s\",\"ts\":\"%s\"}\n",
		       xid, lsn, ts);
		for (c = 0; c < changes; c++, k++) {
			char one[32];

			payload(pl, (size_t)vbytes, k);
			snprintf(one, sizeof(one), "%ld",
				 (long)(k % (uint64_t)shapes) + 1);
			printf(
			    "{\"type\":\"change\",\"op\":\"insert\",\"oid\":16384,\"xid\":%" PRIu64
			    ",\"lsn\":\"%s\",\"pos\":%ld,\"new\":{\"id\":\"%" PRIu64
			    "\",\"shape\":\"%ld\",\"payload\":\"%s\"},\"shapes\":[%s]}\n",
			    xid, lsn, c, k, (long)(k % (uint64_t)shapes) + 1,
			    pl, all ? tags.buf : one);
		}
		{
			char end[32];

			lsn_text(l + 0x10, end, sizeof(end));
			printf("{\"type\":\"commit\",\"xid\":%" PRIu64
			       ",\"lsn\":\"%s\",\"end_lsn\":\"%s\","
			       "\"ts\":\"%s\"}\n",
			       xid, lsn, end, ts);
		}
	}
	free(pl);
	ss_buf_release(&tags);
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}

static int big(uint64_t bytes, long vbytes)
{
	char *pl = ss_xmalloc((size_t)vbytes + 1);
	uint64_t k, done = 0;

	relation();
	printf(
	    "{\"type\":\"begin\",\"xid\":5000,\"lsn\":\"1/0\",\"ts\":\"%s\"}\n",
	    ts);
	for (k = 0; done < bytes; k++, done += (uint64_t)vbytes) {
		payload(pl, (size_t)vbytes, k);
		printf(
		    "{\"type\":\"change\",\"op\":\"insert\",\"oid\":16384,\"xid\":5000,"
		    "\"lsn\":\"1/0\",\"pos\":%" PRIu64
		    ",\"new\":{\"id\":\"%" PRIu64
		    "\",\"shape\":\"1\",\"payload\":\"%s\"},\"shapes\":[1]}\n",
		    k, k, pl);
	}
	printf(
	    "{\"type\":\"commit\",\"xid\":5000,\"lsn\":\"1/0\",\"end_lsn\":\"1/10\","
	    "\"ts\":\"%s\"}\n",
	    ts);
	free(pl);
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}

static int registry(long shapes)
{
	long i;

	for (i = 1; i <= shapes; i++)
		printf(
		    "{\"id\":%ld,\"handle\":\"%ld-%ld\",\"definition\":{\"schema\":\"public\","
		    "\"table\":\"items\",\"where\":\"shape = %ld\",\"params\":[],\"columns\":null,"
		    "\"replica\":\"default\",\"log\":\"full\"},\"snapshot_state\":\"complete\","
		    "\"xmin\":\"1\",\"xmax\":\"1\",\"xip\":[],\"created\":\"1\"}\n",
		    i, 1000 + i, i, i);
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}

int main(int argc, char **argv)
{
	if ((argc == 5 || argc == 6) &&
	    (!strcmp(argv[1], "gen") || !strcmp(argv[1], "fanout")))
		return gen(strtol(argv[2], NULL, 10), strtol(argv[3], NULL, 10),
			   strtol(argv[4], NULL, 10),
			   argc == 6 ? strtol(argv[5], NULL, 10) : 100,
			   !strcmp(argv[1], "fanout"));
	if ((argc == 3 || argc == 4) && !strcmp(argv[1], "big"))
		return big(strtoull(argv[2], NULL, 10),
			   argc == 4 ? strtol(argv[3], NULL, 10) : 1000);
	if (argc == 3 && !strcmp(argv[1], "registry"))
		return registry(strtol(argv[2], NULL, 10));
	fprintf(stderr, "usage: store gen|fanout SHAPES TXNS CHANGES "
			"[VALUE_BYTES] | big BYTES [VALUE_BYTES] | "
			"registry SHAPES\n");
	return 2;
}
