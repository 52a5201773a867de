/*
 * where_arena.c — lib/where's bump allocator: every syntax tree node and
 * evaluation temporary lives in an arena, which also counts the work
 * budget of one compile or one evaluation (where_int.h).
 */
#include "where_int.h"

/* ------------------------------------------------------------------ */
/* Arena */

void *ss_w_arena_alloc(struct arena *a, size_t n)
{
	struct arena_block *b = a->head;
	size_t need = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t);

	if (n == 0)
		need = 1;
	if (!b || b->used + need > b->size) {
		size_t sz = need > 512 ? need : 512;

		b = ss_xmalloc(sizeof(*b) + sz * sizeof(max_align_t));
		b->next = a->head;
		b->used = 0;
		b->size = sz;
		a->head = b;
	}
	void *p = &b->data[b->used];
	b->used += need;
	a->work += n;
	memset(p, 0, n);
	return p;
}

int ss_w_arena_charge_fail(struct arena *a, struct ss_err *err)
{
	return ss_err_set(err, SS_ERR_INPUT,
			  "where clause exceeds the cost limit of %llu",
			  (unsigned long long)a->work_max);
}

char *ss_w_arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = ss_w_arena_alloc(a, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void ss_w_arena_init_buf(struct arena *a, void *buf, size_t size)
{
	struct arena_block *b = buf;

	b->next = NULL;
	b->used = 0;
	b->size = (size - sizeof(*b)) / sizeof(max_align_t);
	a->head = b;
	a->borrowed = b;
	a->work = 0;
	a->work_max = 0;
}

void ss_w_arena_free(struct arena *a)
{
	struct arena_block *b = a->head, *next;

	for (; b; b = next) {
		next = b->next;
		if (b != a->borrowed)
			free(b);
	}
	a->head = NULL;
	a->borrowed = NULL;
}
