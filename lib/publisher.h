/*
 * publisher.h — replicate's publication kept in step with the tables of
 * the shapes: each table is added once (with REPLICA IDENTITY FULL, see
 * ss_publication_add_table), a failure is warned about once and retried
 * after a pause; the partitions of published partitioned tables get
 * REPLICA IDENTITY FULL and are followed in the registry, once a period
 * or at the next tick when asked.
 *
 * The library prints nothing: warnings go to the caller's callback.
 */
#ifndef SS_PUBLISHER_H
#define SS_PUBLISHER_H

#include <stddef.h>
#include <stdint.h>

#include "pg.h"
#include "util.h"

struct ss_registry;

/* A warning for the log: `msg` and `hint` (NULL if none) are borrowed for
 * the call. */
typedef void (*ss_publisher_warn_cb)(const char *msg, const char *hint,
				     void *ctx);

/* One table of the set. */
struct ss_publisher_table {
	char *schema, *name; /* owned */
	int done;	     /* in the publication, identity full */
	int warned;	     /* its failure was reported */
	int64_t retry_us;    /* when to try again after a failure */
};

/* Transparent: the caller sets the first group (after ss_publisher_init;
 * `pub` borrowed while the publisher is used); the rest is the
 * publisher's. */
struct ss_publisher {
	const char *pub;	   /* the publication */
	int64_t retry_us;	   /* pause after a failed table */
	int64_t partitions_us;	   /* period of the partitions' look */
	ss_publisher_warn_cb warn; /* may be NULL */
	void *ctx;		   /* for warn */

	struct ss_publisher_table *tables;
	size_t n, alloc;
	int64_t next_partitions; /* monotonic: the next partitions' look */
	int partitions_warned;
};

/* An empty set (retry 5 s, partitions every second). */
void ss_publisher_init(struct ss_publisher *p);
/* Free the tables; the publisher may be initialised again. */
void ss_publisher_release(struct ss_publisher *p);

/* Add schema.name (copied) unless it is in the set. Returns 1 if it was
 * added, 0 if it was there. */
int ss_publisher_add(struct ss_publisher *p, const char *schema,
		     const char *name);

/* Look at the partitions at the next tick (a relation message showed a
 * new partition). */
void ss_publisher_partitions_soon(struct ss_publisher *p);

/*
 * At monotonic time `now`, through the regular connection `admin`: add
 * the tables not yet published whose retry time came, then (once per
 * period) give the publication's partitions REPLICA IDENTITY FULL and,
 * with a registry (`reg` may be NULL), follow their changes there
 * (shapes on a table whose partitions changed are removed: a warning
 * says how many). Failures are warnings, retried later, except a lost
 * connection: -1 with err. Returns 0 otherwise.
 */
int ss_publisher_tick(struct ss_publisher *p, struct ss_pg *admin,
		      struct ss_registry *reg, int64_t now, struct ss_err *err);

#endif
