// tests/e2e/tanstack-subset.mjs — TanStack DB's electric collection in
// on-demand mode (syncMode 'on-demand': the shape followed from "now"
// with log=changes_only, rows loaded by subset requests for the live
// queries over it) on a subquery shape. Live queries over the collection
// load their rows as subsets of the shape (subset__where, and for the
// top-k query subset__order_by and subset__limit); each must hold
// exactly
//   SELECT * FROM tasks WHERE (<WHERE>) AND <its own filter>
// once loaded, and again after each round of random writers (projects
// moving in and out of the subquery, tasks moving between projects,
// inserted, deleted), within 60 s. Prints one line per check and "ok"
// at the end; exits 1 with the difference otherwise.
//
// Usage: node tanstack-subset.mjs WHERE SEED ROUNDS WRITERS TXNS
//   (SERVE_URL, and libpq's PG* variables, set)
import pg from 'pg'
import { createCollection, createLiveQueryCollection, eq, gt } from '@tanstack/db'
import { electricCollectionOptions } from '@tanstack/electric-db-collection'

const [where, seedArg, roundsArg, writersArg, txnsArg] = process.argv.slice(2)
const rounds = Number(roundsArg)
const writers = Number(writersArg)
const txns = Number(txnsArg)
let seed = Number(seedArg) >>> 0

function rnd(n) {
  // xorshift32: the same run for the same SEED
  seed ^= seed << 13
  seed >>>= 0
  seed ^= seed >>> 17
  seed ^= seed << 5
  seed >>>= 0
  return seed % n
}

const NPROJ = 6
const COLS = ['id', 'project_id', 'title']
let nextTask = 1000
let subsets = 0

async function writer(db) {
  for (let i = 0; i < txns; i++) {
    const p = 1 + rnd(NPROJ)
    const t = 1 + rnd(40)
    const proj = rnd(8) === 0 ? null : 1 + rnd(NPROJ)
    try {
      switch (rnd(5)) {
        case 0:
          await db.query('UPDATE projects SET active = NOT active WHERE id = $1', [p])
          break
        case 1:
          await db.query('INSERT INTO tasks VALUES ($1, $2, $3)', [nextTask++, proj, `n${i}`])
          break
        case 2:
          await db.query('UPDATE tasks SET project_id = $2 WHERE id = $1', [t, proj])
          break
        case 3:
          await db.query('DELETE FROM tasks WHERE id = $1', [t])
          break
        default:
          await db.query("UPDATE tasks SET title = title || 'x' WHERE id = $1", [t])
      }
    } catch (e) {
      // a duplicate key from two writers: a transaction like any other
      if (!/duplicate key/.test(e.message)) throw e
    }
  }
}

function rowsOf(list) {
  return [...list].map((r) => COLS.map((c) => `${r[c] ?? null}`).join('|')).sort()
}

const dbs = []
for (let i = 0; i <= writers; i++) {
  const c = new pg.Client()
  await c.connect()
  dbs.push(c)
}
const tasks = createCollection(
  electricCollectionOptions({
    id: 'tasks-subset',
    syncMode: 'on-demand',
    shapeOptions: {
      url: `${process.env.SERVE_URL}/v1/shape`,
      params: { table: 'tasks', where },
      // count the subset requests (GET with subset__*, or POST)
      fetchClient: async (url, init) => {
        const u = String(url instanceof Request ? url.url : url)
        if (u.includes('subset__') || (init && init.method === 'POST')) subsets++
        return fetch(url, init)
      },
    },
    getKey: (row) => row.id,
  })
)

// The live queries and the SQL each must equal.
const views = [
  {
    what: 'id > 20',
    sql: `SELECT * FROM tasks WHERE (${where}) AND id > 20`,
    lq: createLiveQueryCollection({
      query: (q) => q.from({ t: tasks }).where(({ t }) => gt(t.id, 20)),
    }),
  },
  {
    what: 'project_id = 2',
    sql: `SELECT * FROM tasks WHERE (${where}) AND project_id = 2`,
    lq: createLiveQueryCollection({
      query: (q) => q.from({ t: tasks }).where(({ t }) => eq(t.project_id, 2)),
    }),
  },
]
for (const v of views) await v.lq.preload()

async function quiet(label) {
  for (const v of views) {
    const want = rowsOf((await dbs[0].query(v.sql)).rows)
    let got = []
    const until = Date.now() + 60000
    for (;;) {
      got = rowsOf(v.lq.toArray)
      if (got.join('\n') === want.join('\n')) break
      if (Date.now() > until) {
        const g = new Set(got)
        const w = new Set(want)
        console.error(`${label}, ${v.what}: the live query is not SELECT's rows`)
        console.error(`  missing: ${want.filter((x) => !g.has(x)).join(' ')}`)
        console.error(`  extra:   ${got.filter((x) => !w.has(x)).join(' ')}`)
        process.exit(1)
      }
      await new Promise((res) => setTimeout(res, 50))
    }
    console.log(`${label}, ${v.what}: ${want.length} rows`)
  }
}

await quiet('loaded')
if (subsets < views.length) {
  console.error(`${subsets} subset requests for ${views.length} live queries`)
  process.exit(1)
}
for (let r = 1; r <= rounds; r++) {
  await Promise.all(dbs.slice(1).map((db) => writer(db)))
  await quiet(`round ${r}`)
}
console.log(`subsets ${subsets}`)
console.log('ok')
for (const v of views) await v.lq.cleanup()
await tasks.cleanup()
for (const db of dbs) await db.end()
process.exit(0)
