/*
 * idmap.c — compact shape ids <-> handles in O(1) both ways, kept in step
 * with the registry's change log. Memory per shape beyond the handle
 * bytes: one pointer in the dense array plus 8-byte hash slots at a load
 * factor of at most 1/2 (see ss_idmap_overhead_bytes).
 */
#include "idmap.h"

#include "registry.h"
#include "registry_cursor.h"

/* Handles are stored in arena chunks of this size (or larger for a
 * pathological long handle). */
#define CHUNK (64 * 1024)

struct chunk {
	struct chunk *next;
	size_t used, size;
	char data[];
};

/* An open-addressing slot: the id (0 = empty) and a tag from the handle's
 * hash, so most probes skip the string compare. */
struct slot {
	uint32_t id;
	uint32_t tag;
};

struct ss_idmap {
	const char **byid; /* id -> handle (NULL: no shape) */
	size_t nbyid;	   /* slots in byid */
	struct slot *slots;
	size_t mask; /* slots - 1; power of two */
	size_t count;
	struct chunk *chunks;
	size_t live_bytes, garbage_bytes;
	/* refresh: the registry's changes, followed by a cursor */
	struct ss_registry_cursor *cursor;
	const struct ss_registry *cursor_reg;
	size_t changed; /* ids added or removed by this refresh */
};

/* Ids are the registry's row ids; the dense array bounds them. */
#define MAX_ID ((int64_t)INT32_MAX)

static uint64_t hash_handle(const char *h)
{
	return ss_hash64(h, strlen(h));
}

struct ss_idmap *ss_idmap_new(void)
{
	struct ss_idmap *m = ss_xcalloc(1, sizeof(*m));

	m->mask = 15;
	m->slots = ss_xcalloc(m->mask + 1, sizeof(*m->slots));
	return m;
}

static void free_chunks(struct chunk *c)
{
	while (c) {
		struct chunk *next = c->next;

		free(c);
		c = next;
	}
}

void ss_idmap_free(struct ss_idmap *m)
{
	if (!m)
		return;
	free(m->byid);
	free(m->slots);
	free_chunks(m->chunks);
	ss_registry_cursor_free(m->cursor);
	free(m);
}

static const char *arena_put(struct ss_idmap *m, const char *s)
{
	size_t len = strlen(s) + 1;
	struct chunk *c = m->chunks;
	char *p;

	if (!c || c->size - c->used < len) {
		size_t size = len > CHUNK ? len : CHUNK;

		c = ss_xmalloc(sizeof(*c) + size);
		c->size = size;
		c->used = 0;
		c->next = m->chunks;
		m->chunks = c;
	}
	p = c->data + c->used;
	memcpy(p, s, len);
	c->used += len;
	m->live_bytes += len;
	return p;
}

/* Rewrite the arena with only live handles once garbage dominates. */
static void arena_compact(struct ss_idmap *m)
{
	struct chunk *old = m->chunks;
	size_t i;

	m->chunks = NULL;
	m->live_bytes = m->garbage_bytes = 0;
	for (i = 0; i < m->nbyid; i++)
		if (m->byid[i])
			m->byid[i] = arena_put(m, m->byid[i]);
	free_chunks(old);
}

static size_t find_slot(const struct ss_idmap *m, const char *handle,
			uint64_t h)
{
	uint32_t tag = (uint32_t)(h >> 32);
	size_t i = (size_t)h & m->mask;

	for (;; i = (i + 1) & m->mask) {
		const struct slot *s = &m->slots[i];

		if (!s->id)
			return i;
		if (s->tag == tag && !strcmp(m->byid[s->id], handle))
			return i;
	}
}

static void rehash(struct ss_idmap *m, size_t nslots)
{
	struct slot *old = m->slots;
	size_t oldn = m->mask + 1, i;

	m->slots = ss_xcalloc(nslots, sizeof(*m->slots));
	m->mask = nslots - 1;
	for (i = 0; i < oldn; i++) {
		if (old[i].id) {
			uint64_t h = hash_handle(m->byid[old[i].id]);
			size_t j = (size_t)h & m->mask;

			while (m->slots[j].id)
				j = (j + 1) & m->mask;
			m->slots[j] = old[i];
		}
	}
	free(old);
}

int ss_idmap_put(struct ss_idmap *m, int64_t id, const char *handle,
		 struct ss_err *err)
{
	uint64_t h;
	size_t i;

	if (id < 1 || id > MAX_ID)
		return ss_err_set(err, SS_ERR_INPUT,
				  "shape id %lld out of range", (long long)id);
	if ((size_t)id < m->nbyid && m->byid[id]) {
		if (!strcmp(m->byid[id], handle))
			return 0;
		return ss_err_set(err, SS_ERR_INPUT,
				  "shape id %lld is already mapped to '%s'",
				  (long long)id, m->byid[id]);
	}
	h = hash_handle(handle);
	i = find_slot(m, handle, h);
	if (m->slots[i].id)
		return ss_err_set(err, SS_ERR_INPUT,
				  "handle '%s' is already mapped to id %u",
				  handle, m->slots[i].id);
	if ((size_t)id >= m->nbyid) {
		size_t n = m->nbyid ? m->nbyid : 1024;

		while (n <= (size_t)id)
			n *= 2;
		m->byid = ss_xrealloc(m->byid, n * sizeof(*m->byid));
		memset(m->byid + m->nbyid, 0,
		       (n - m->nbyid) * sizeof(*m->byid));
		m->nbyid = n;
	}
	m->byid[id] = arena_put(m, handle);
	m->slots[i].id = (uint32_t)id;
	m->slots[i].tag = (uint32_t)(h >> 32);
	m->count++;
	if (m->count * 2 > m->mask + 1)
		rehash(m, (m->mask + 1) * 2);
	return 0;
}

int ss_idmap_remove(struct ss_idmap *m, int64_t id)
{
	const char *handle;
	size_t i, j;

	if (id < 1 || (uint64_t)id >= m->nbyid || !m->byid[id])
		return 0;
	handle = m->byid[id];
	i = find_slot(m, handle, hash_handle(handle));
	/* Backward-shift deletion keeps linear probing free of tombstones:
	 * move later members of the cluster into the hole when their home
	 * slot does not lie cyclically in (hole, j]. */
	m->slots[i].id = 0;
	for (j = (i + 1) & m->mask; m->slots[j].id; j = (j + 1) & m->mask) {
		size_t home =
		    (size_t)hash_handle(m->byid[m->slots[j].id]) & m->mask;
		int between =
		    i <= j ? (i < home && home <= j) : (i < home || home <= j);

		if (!between) {
			m->slots[i] = m->slots[j];
			m->slots[j].id = 0;
			i = j;
		}
	}
	m->garbage_bytes += strlen(handle) + 1;
	m->live_bytes -= strlen(handle) + 1;
	m->byid[id] = NULL;
	m->count--;
	if (m->garbage_bytes > (1 << 20) && m->garbage_bytes > m->live_bytes)
		arena_compact(m);
	return 1;
}

const char *ss_idmap_handle(const struct ss_idmap *m, int64_t id)
{
	if (id < 1 || (uint64_t)id >= m->nbyid)
		return NULL;
	return m->byid[id];
}

int64_t ss_idmap_id(const struct ss_idmap *m, const char *handle)
{
	size_t i = find_slot(m, handle, hash_handle(handle));

	return m->slots[i].id ? (int64_t)m->slots[i].id : -1;
}

size_t ss_idmap_count(const struct ss_idmap *m)
{
	return m->count;
}

size_t ss_idmap_overhead_bytes(const struct ss_idmap *m)
{
	return sizeof(*m) + m->nbyid * sizeof(*m->byid) +
	       (m->mask + 1) * sizeof(*m->slots);
}

size_t ss_idmap_string_bytes(const struct ss_idmap *m)
{
	size_t n = 0;
	const struct chunk *c;

	for (c = m->chunks; c; c = c->next)
		n += sizeof(*c) + c->size;
	return n;
}

/* ---------------------------------------------------------------- refresh */

static int on_added(int64_t id, const char *handle,
		    const struct ss_shape_rec *rec, void *p, struct ss_err *err)
{
	struct ss_idmap *m = p;

	(void)rec;
	if ((size_t)id < m->nbyid && m->byid[id])
		return 0;
	if (ss_idmap_put(m, id, handle, err) < 0)
		return -1;
	m->changed++;
	return 0;
}

static int on_removed(int64_t id, const char *handle, void *p,
		      struct ss_err *err)
{
	struct ss_idmap *m = p;

	(void)handle, (void)err;
	if (ss_idmap_remove(m, id))
		m->changed++;
	return 0;
}

static void clear(struct ss_idmap *m)
{
	free(m->byid);
	m->byid = NULL;
	m->nbyid = 0;
	memset(m->slots, 0, (m->mask + 1) * sizeof(*m->slots));
	free_chunks(m->chunks);
	m->chunks = NULL;
	m->count = 0;
	m->live_bytes = m->garbage_bytes = 0;
}

/* The log was trimmed past us: start again from the listing that
 * follows. Ids come from the registry, so every shape that stays keeps
 * its id. */
static int on_reload(void *p, struct ss_err *err)
{
	struct ss_idmap *m = p;

	(void)err;
	clear(m);
	return 0;
}

int ss_idmap_refresh(struct ss_idmap *m, struct ss_registry *reg,
		     size_t *changed, struct ss_err *err)
{
	static const struct ss_registry_cursor_ops ops = {on_added, on_removed,
							  on_reload};
	size_t before = m->count;
	int rc;

	if (changed)
		*changed = 0;
	if (m->cursor && m->cursor_reg != reg) {
		ss_registry_cursor_free(m->cursor);
		m->cursor = NULL;
		clear(m);
		before = 0;
	}
	if (!m->cursor) {
		m->cursor = ss_registry_cursor_new(reg, 0, &ops, m);
		m->cursor_reg = reg;
	}
	m->changed = 0;
	rc = ss_registry_cursor_poll(m->cursor, 0, err);
	if (rc < 0)
		return -1;
	if (rc == SS_REGISTRY_CURSOR_RELOADED)
		m->changed =
		    m->count > before ? m->count - before : before - m->count;
	if (changed)
		*changed = m->changed;
	return 0;
}
