/*
 * idmap.c — compact shape ids <-> handles in O(1) both ways, kept in step
 * with the registry's change log. Memory per shape beyond the handle
 * bytes: one pointer in the dense array plus 8-byte hash slots at a load
 * factor of at most 1/2 (see ss_idmap_overhead_bytes).
 */
#include "idmap.h"

#include "registry.h"

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
	const char **byid;        /* id -> handle (NULL: no shape) */
	size_t nbyid;             /* slots in byid */
	struct slot *slots;
	size_t mask;              /* slots - 1; power of two */
	size_t count;
	struct chunk *chunks;
	size_t live_bytes, garbage_bytes;
	/* refresh state */
	int loaded;
	int64_t data_version;
	uint64_t seq;
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

static size_t find_slot(const struct ss_idmap *m, const char *handle, uint64_t h)
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

int ss_idmap_put(struct ss_idmap *m, int64_t id, const char *handle, struct ss_err *err)
{
	uint64_t h;
	size_t i;

	if (id < 1 || id > MAX_ID)
		return ss_err_set(err, SS_ERR_INPUT, "shape id %lld out of range",
				  (long long)id);
	if ((size_t)id < m->nbyid && m->byid[id]) {
		if (!strcmp(m->byid[id], handle))
			return 0;
		return ss_err_set(err, SS_ERR_INPUT, "shape id %lld is already mapped to '%s'",
				  (long long)id, m->byid[id]);
	}
	h = hash_handle(handle);
	i = find_slot(m, handle, h);
	if (m->slots[i].id)
		return ss_err_set(err, SS_ERR_INPUT, "handle '%s' is already mapped to id %u",
				  handle, m->slots[i].id);
	if ((size_t)id >= m->nbyid) {
		size_t n = m->nbyid ? m->nbyid : 1024;

		while (n <= (size_t)id)
			n *= 2;
		m->byid = ss_xrealloc(m->byid, n * sizeof(*m->byid));
		memset(m->byid + m->nbyid, 0, (n - m->nbyid) * sizeof(*m->byid));
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
		size_t home = (size_t)hash_handle(m->byid[m->slots[j].id]) & m->mask;
		int between = i <= j ? (i < home && home <= j) : (i < home || home <= j);

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

struct apply_ctx {
	struct ss_idmap *map;
	size_t changed;
	struct ss_err *err;
};

static int apply_change(uint64_t seq, int64_t id, const char *handle, int added, void *p)
{
	struct apply_ctx *a = p;

	(void)seq;
	if (added) {
		if ((size_t)id < a->map->nbyid && a->map->byid[id])
			return 0;
		if (ss_idmap_put(a->map, id, handle, a->err) < 0)
			return -1;
		a->changed++;
	} else if (ss_idmap_remove(a->map, id)) {
		a->changed++;
	}
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

int ss_idmap_refresh(struct ss_idmap *m, struct ss_registry *reg, size_t *changed,
		     struct ss_err *err)
{
	struct apply_ctx a = { m, 0, err };
	int64_t dv;
	int rc;

	if (changed)
		*changed = 0;
	/* Read the version first: a commit that lands after this is either
	 * seen by the query below or makes the next refresh look again. */
	if (ss_registry_data_version(reg, &dv, err) < 0)
		return -1;
	if (m->loaded && dv == m->data_version)
		return 0;
	if (m->loaded) {
		rc = ss_registry_changes(reg, m->seq, apply_change, &a, &m->seq, err);
		if (rc < 0)
			return -1;
		if (rc == 0)
			goto done;
		/* The log was trimmed past us: reload. Ids come from the
		 * registry, so every shape that stays keeps its id. */
	}
	{
		size_t before = m->count;

		clear(m);
		if (ss_registry_load_handles(reg, apply_change, &a, &m->seq, err) != 0) {
			m->loaded = 0;
			return -1;
		}
		a.changed = a.changed > before ? a.changed - before : before - a.changed;
	}
	m->loaded = 1;
done:
	m->data_version = dv;
	if (changed)
		*changed = a.changed;
	return 0;
}
