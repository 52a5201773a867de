/*
 * catalog.h — what PostgreSQL's catalog says about a table: its columns,
 * types, primary key, partitions and ancestors, and the names of types.
 * serve describes a shape's table with it (ss_catalog_describe); replicate
 * builds relation frames from it (types, key, ancestors, column order).
 * Every lookup is one query through lib/pg on a connection of the
 * caller's; errors come in that connection's form (see SS_PG_TERSE), each
 * lookup with its own "<what>" prefix, given below.
 */
#ifndef SS_CATALOG_H
#define SS_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "pg.h"
#include "util.h"

/* ------------------------------------------------------------- tables */

struct ss_catalog_column {
	char *name;
	char *type;	 /* pg_type.typname ("int4", "_text", "bpchar") */
	char *elem_type; /* arrays: the element's typname; else NULL */
	int dims;	 /* arrays: dimensions (>= 1); else 0 */
	int typmod;	 /* atttypmod, -1 if none */
	int not_null;
	int pk_index; /* position in the primary key, -1 if not in it */
	int is_enum;
	int is_bpchar; /* bpchar (padding kept in output) */
	int generated; /* a generated column (not replicated by PG 15) */
};

/* A table as the catalog describes it. Owned strings; release with
 * ss_catalog_table_release(). */
struct ss_catalog_table {
	char *schema, *name;
	uint32_t oid;
	char relkind;			/* 'r' table, 'p' partitioned table */
	char replident;			/* pg_class.relreplident ('f': FULL) */
	int system;			/* a system catalog (pg_catalog,
					   information_schema, TOAST): PostgreSQL
					   cannot publish it */
	struct ss_catalog_column *cols; /* attnum order */
	size_t ncols;
	size_t *pk; /* indexes into cols, in key order; a table
		       without a primary key uses every column */
	size_t npk;
};

/*
 * Describe schema.name (exact, case-sensitive names; tables and
 * partitioned tables only). Returns 1 and fills t (*new*: release with
 * ss_catalog_table_release), 0 if there is no such table, -1 with err
 * ("postgresql: ...", SS_ERR_RUNTIME) on a PostgreSQL failure.
 */
int ss_catalog_describe(struct ss_pg *pg, const char *schema, const char *name,
			struct ss_catalog_table *t, struct ss_err *err);
/* Free what t holds and zero it; NULL or a zeroed t is a no-op. */
void ss_catalog_table_release(struct ss_catalog_table *t);
/* The index of column `name` in t->cols; -1 if none. */
long ss_catalog_column(const struct ss_catalog_table *t, const char *name);

/* ------------------------------------------------------------- types */

/*
 * Every built-in type (oid < 16384): cb(oid, typname, ctx) for each
 * (typname *borrowed* for the call). Errors: "could not load the built-in
 * types: ...".
 */
int ss_catalog_builtin_types(struct ss_pg *pg,
			     void (*cb)(uint32_t oid, const char *name,
					void *ctx),
			     void *ctx, struct ss_err *err);

/*
 * The typname of type `oid` appended to out; *found is 0 (and nothing
 * appended) if there is no such type. Errors: "could not look up a type:
 * ...".
 */
int ss_catalog_type_name(struct ss_pg *pg, uint32_t oid, struct ss_buf *out,
			 int *found, struct ss_err *err);

/* ------------------------------------------------------------- keys */

/* A table's primary key: column names and their positions in it. */
struct ss_catalog_key {
	char **names;
	int *pos; /* -1 when the catalog gave no usable position */
	size_t n; /* 0: no primary key */
};

/*
 * The primary key of table `oid`, looked up now (under REPLICA IDENTITY
 * FULL pgoutput flags every column as key). *k is *new*: release with
 * ss_catalog_key_release. Errors: "could not look up a primary key: ...".
 */
int ss_catalog_primary_key(struct ss_pg *pg, uint32_t oid,
			   struct ss_catalog_key *k, struct ss_err *err);
/* The position of column `name` in the key, or -1. */
int ss_catalog_key_index(const struct ss_catalog_key *k, const char *name);
void ss_catalog_key_release(struct ss_catalog_key *k);

/* ------------------------------------------------------------- partitions */

/* A table named by the catalog. */
struct ss_catalog_rel {
	uint32_t oid;
	char *schema, *name;
	char replident;
};

/*
 * The partitioned tables table `oid` is a partition of, nearest first
 * (pg_partition_ancestors without the table itself; none for a table
 * that is not a partition). *out is *new* (ss_catalog_rels_free(*out,
 * *n)). Errors: "could not look up a table's ancestors: ...".
 */
int ss_catalog_ancestors(struct ss_pg *pg, uint32_t oid,
			 struct ss_catalog_rel **out, size_t *n,
			 struct ss_err *err);
void ss_catalog_rels_free(struct ss_catalog_rel *rels, size_t n);

/*
 * The names of table `oid`'s columns in attribute order (dropped ones
 * left out): *names is *new* (ss_catalog_names_free(*names, *n)).
 * Errors: "could not look up a table's columns: ...".
 */
int ss_catalog_column_names(struct ss_pg *pg, uint32_t oid, char ***names,
			    size_t *n, struct ss_err *err);
void ss_catalog_names_free(char **names, size_t n);

/*
 * A partitioned table and its leaf partitions' oids in ascending order,
 * comma-separated ("" for none); strings are *borrowed* for the call. A
 * non-zero return stops the walk and is returned.
 */
typedef int (*ss_catalog_partition_cb)(uint32_t oid, const char *schema,
				       const char *name, const char *leaves,
				       void *ctx);

/* The SQL of a partitioned table's leaves in that form, for the oid
 * expression `rel` (shared with lib/publication). */
#define SS_CATALOG_LEAVES_OF(rel)                                              \
	"(SELECT coalesce(string_agg(l.relid::oid::text, ',' ORDER BY "        \
	"l.relid::oid), '') FROM pg_catalog.pg_partition_tree(" rel ") l "     \
	"WHERE l.isleaf)"

/*
 * Every partitioned table in the tree of partitioned table `oid` (itself
 * included): cb for each. Errors: "postgresql: ...".
 */
int ss_catalog_partition_sets(struct ss_pg *pg, uint32_t oid,
			      ss_catalog_partition_cb cb, void *ctx,
			      struct ss_err *err);

/* cb for each row (oid, schema, name, leaves) of a query result of that
 * form; the result is not cleared. */
int ss_catalog_each_partition_set(PGresult *r, ss_catalog_partition_cb cb,
				  void *ctx);

#endif
