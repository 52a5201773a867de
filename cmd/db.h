/*
 * db.h — what the files of shapesync-db share: the option codes, the
 * locations, and the helpers that name and open shapes
 * (cmd/shapesync-db.c). cmd/db-compact.c holds the compact command.
 */
#ifndef SS_CMD_DB_H
#define SS_CMD_DB_H

#include <stdint.h>

#include "registry.h"

enum {
	OPT_LIST_OPTIONS = 256,
	OPT_LIST_COMMANDS,
	OPT_REGISTRY,
	OPT_DIR,
	OPT_JSON,
	OPT_REPAIR,
	OPT_TABLE,
	OPT_WHERE,
	OPT_PARAMS,
	OPT_COLUMNS,
	OPT_REPLICA,
	OPT_LOG,
	OPT_AFTER,
	OPT_CHUNKS,
	OPT_ALL,
	OPT_FORCE,
	OPT_MIN_RATIO,
	OPT_MIN_BYTES,
	OPT_KEEP_CHUNKS,
	OPT_GRACE,
	OPT_EVERY,
	OPT_QUIET,
	OPT_SHAPES,
};

/* --registry and --dir as given (or their defaults). */
extern const char *registry_path;
extern const char *data_dir;

/* "1" .. "9223372036854775807" is an id, anything else must be a handle. */
struct shape_ref {
	const char *arg;
	int64_t id; /* 0: by handle */
};

/* Parse a SHAPE argument; a malformed one exits 2. */
void parse_shape_ref(const char *arg, struct shape_ref *ref);
/* Open the registry (create: make it if missing); failures exit. */
struct ss_registry *open_registry(int create);
void close_registry(struct ss_registry *reg);
/* Look a shape up by id or handle: 1 found (rec filled), 0 not found. */
int lookup(struct ss_registry *reg, const struct shape_ref *ref,
	   struct ss_shape_rec *rec);
/* Exit 1 unless --dir is a data dir. */
void require_data_dir(void);

/* The compact command (cmd/db-compact.c). */
extern const struct option compact_options[];
int cmd_compact(int argc, char **argv);

#endif
