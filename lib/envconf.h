/*
 * envconf.h — the value forms of Electric's environment variables, so that
 * a deployment written for Electric configures shapesync unchanged:
 * booleans, human-readable times ("30s", "5min", bare milliseconds), the
 * JSON of ELECTRIC_MAX_CONCURRENT_REQUESTS, and the slot and publication
 * names Electric derives from ELECTRIC_REPLICATION_STREAM_ID; and
 * serve's settings read from the environment through a lookup function
 * (getenv in a program, a table in a test).
 */
#ifndef SS_ENVCONF_H
#define SS_ENVCONF_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Room for a replication slot or publication name and its NUL
 * (PostgreSQL's NAMEDATALEN). */
#define SS_ENVCONF_NAME_MAX 64

/*
 * A boolean: true, 1, yes / false, 0, no (any case). Returns 0 and *out,
 * or -1 with err (SS_ERR_USAGE): "invalid $<name> '<v>': must be true or
 * false".
 */
int ss_envconf_bool(const char *name, const char *v, int *out,
		    struct ss_err *err);

/*
 * A time as Electric's parse_human_readable_time takes it: a positive
 * number (a fraction allowed), optional spaces, and a unit: none or ms,
 * msec (milliseconds), s, sec, m, min, h, hr. "0" is accepted only with
 * allow_zero (a setting whose 0 means off). Returns 0 and *out_ms
 * (truncated to whole milliseconds), or -1 with err (SS_ERR_USAGE) naming
 * $<name> (or <name> itself when it is an option: "--...").
 */
int ss_envconf_time_ms(const char *name, const char *v, int allow_zero,
		       int64_t *out_ms, struct ss_err *err);

/*
 * ELECTRIC_MAX_CONCURRENT_REQUESTS: a JSON object with "initial" and/or
 * "existing", each an integer from 1 to 2147483647; a key left out keeps
 * the value already in *initial / *existing; any other key is an error.
 * Returns 0, or -1 with err (SS_ERR_USAGE) naming $<name>.
 */
int ss_envconf_max_concurrent(const char *name, const char *v, int64_t *initial,
			      int64_t *existing, struct ss_err *err);

/*
 * ELECTRIC_REPLICATION_STREAM_ID: `id` must be a valid unquoted
 * identifier that makes valid slot names (a lowercase letter or '_', then
 * lowercase letters, digits and '_'), short enough for both names. Fills
 * slot with "electric_slot_<id>" and pub with "electric_publication_<id>"
 * (each SS_ENVCONF_NAME_MAX bytes). Returns 0, or -1 with err
 * (SS_ERR_USAGE) naming $<name>.
 */
int ss_envconf_stream_names(const char *name, const char *id, char *slot,
			    char *pub, struct ss_err *err);

/*
 * A random slot name as Electric makes for a temporary slot with
 * ELECTRIC_TEMPORARY_REPLICATION_SLOT_USE_RANDOM_NAME:
 * "electric_slot_<32 lowercase hex digits>" into out
 * (SS_ENVCONF_NAME_MAX bytes). Returns 0, or -1 with err if the system
 * has no randomness to give.
 */
int ss_envconf_random_slot(char *out, struct ss_err *err);

/* An environment lookup: the variable's value, or NULL when unset. */
typedef const char *(*ss_envconf_getenv_fn)(const char *name);

/*
 * shapesync-serve's settings that come from the environment (see
 * shapesync-serve(1), ENVIRONMENT): its own SHAPESYNC_* variables and
 * Electric's ELECTRIC_* ones. The caller fills the defaults; strings are
 * borrowed from the environment, or point into slot/pub.
 */
struct ss_envconf_serve {
	const char *database_url, *registry, *data_dir, *publication, *bind;
	const char *secret;
	int port, metrics_port, pool_size;
	int insecure, integration, manual_publishing;
	int64_t long_poll_ms, cache_max_age, cache_stale_age, max_shapes;
	int64_t max_initial, max_existing, db_idle_ms, conn_timeout_s;
	int64_t test_fail_thread_start;
	uint64_t chunk_bytes;
	char slot[SS_ENVCONF_NAME_MAX], pub[SS_ENVCONF_NAME_MAX];
};

/*
 * Read serve's variables with get into s, over the defaults s holds: an
 * empty variable counts as unset. Integers are range checked ("invalid
 * $<name> '<v>': ..."); ELECTRIC_INSECURE and
 * ELECTRIC_ENABLE_INTEGRATION_TESTING are true for true, 1 or yes, else
 * false; ELECTRIC_TCP_READ_TIMEOUT and ELECTRIC_TCP_SEND_TIMEOUT are
 * times rounded up to whole seconds (at least 1, at most 24 hours), the
 * smaller one wins. Returns 0, or -1 with err (SS_ERR_USAGE) for the
 * first bad value, in the order the variables are read.
 */
int ss_envconf_serve(ss_envconf_getenv_fn get, struct ss_envconf_serve *s,
		     struct ss_err *err);

#endif
