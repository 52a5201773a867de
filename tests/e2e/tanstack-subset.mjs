// tests/e2e/tanstack-subset.mjs — TanStack DB's electric collection in
// on-demand mode (syncMode 'on-demand': the shape followed from "now"
// with log=changes_only, rows loaded by subset requests for the live
// queries over it) on a subquery shape. Two live queries over the
// collection load their rows as subsets of the shape (subset__where);
// what the collection holds of each live query's filter must be exactly
//   SELECT * FROM tasks WHERE (<WHERE>) AND <the filter>
// once loaded, and again after each round of random writers (projects
// moving in and out of the subquery, tasks moving between projects,
// inserted, deleted: rows the log brings, move-ins among them), within
// 60 s. The shape is made with replica=full, as on-demand needs: with
// replica=default an update carries only the key and the changed
// columns, and the collection drops an update of a row it does not hold
// (electric-db-collection's processMessages, "receivesCompleteRows"), so
// a row that enters a live query's filter by an update (a task whose
// project_id becomes 2 while it stays in the shape) would never be
// loaded: so with Electric too. After a 409 the live queries are made again (their subsets
// loaded anew). Prints one line per check, the counts of subset requests,
// refetches and live queries found unlike their collection, and "ok" at
// the end; exits 1 with the difference otherwise.
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
let refetches = 0
// what the shape's answers carried, by key: the last operation seen,
// whether it was a move-in row and the columns it carried (for the report of a failure)
const seen = new Map()

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
      params: { table: 'tasks', where, replica: 'full' },
      // count the subset requests (GET with subset__*, or POST)
      fetchClient: async (url, init) => {
        const u = String(url instanceof Request ? url.url : url)
        if (u.includes('subset__') || (init && init.method === 'POST')) subsets++
        const r = await fetch(url, init)
        if (r.status === 409) refetches++
        if (r.ok && !u.includes('subset__')) {
          try {
            const body = JSON.parse(await r.clone().text())
            for (const m of Array.isArray(body) ? body : [])
              if (m.key)
                seen.set(
                  m.value.id,
                  `${m.headers.operation}${m.headers.is_move_in ? ' (move-in)' : ''} of ${Object.keys(m.value).join(',')}`
                )
          } catch {}
        }
        return r
      },
    },
    getKey: (row) => row.id,
  })
)

// The live queries over the collection: each loads its rows as a subset
// of the shape. What the collection holds of a live query's filter must
// be SELECT's rows of the shape's where AND that filter.
const views = [
  {
    what: 'id > 20',
    sql: `SELECT * FROM tasks WHERE (${where}) AND id > 20`,
    keep: (t) => Number(t.id) > 20,
    make: () => createLiveQueryCollection({ query: (q) => q.from({ t: tasks }).where(({ t }) => gt(t.id, 20)) }),
  },
  {
    what: 'project_id = 2',
    sql: `SELECT * FROM tasks WHERE (${where}) AND project_id = 2`,
    keep: (t) => t.project_id !== null && Number(t.project_id) === 2,
    make: () => createLiveQueryCollection({ query: (q) => q.from({ t: tasks }).where(({ t }) => eq(t.project_id, 2)) }),
  },
]
// A 409 empties the collection, and TanStack DB does not load the subsets
// of the live queries again: they are made anew, as an application would.
let refetchesSeen = 0
let diverged = 0
async function makeViews() {
  for (const v of views) {
    if (v.lq) await v.lq.cleanup()
    v.lq = v.make()
    await v.lq.preload()
  }
}
await makeViews()

async function quiet(label) {
  for (const v of views) {
    const want = rowsOf((await dbs[0].query(v.sql)).rows)
    let got = []
    const until = Date.now() + 60000
    for (;;) {
      if (refetches > refetchesSeen) {
        refetchesSeen = refetches
        await makeViews()
      }
      got = rowsOf([...tasks.state.values()].filter(v.keep))
      if (got.join('\n') === want.join('\n')) break
      if (Date.now() > until) {
        const g = new Set(got)
        const w = new Set(want)
        console.error(`${label}, ${v.what}: the collection does not hold SELECT's rows`)
        console.error(`  missing: ${want.filter((x) => !g.has(x)).join(' ')}`)
        console.error(`  extra:   ${got.filter((x) => !w.has(x)).join(' ')}`)
        for (const x of want.filter((y) => !g.has(y))) {
          const id = x.split('|')[0]
          console.error(`  ${id}: last in the shape's answers: ${seen.get(id) ?? 'never'}`)
        }
        console.error(`  refetches: ${refetches}`)
        process.exit(1)
      }
      await new Promise((res) => setTimeout(res, 50))
    }
    // TanStack DB's own live query should show the same rows; it has
    // been seen to lag its collection for good under load (rows the
    // collection holds missing from it): noted, not the server's doing.
    if (rowsOf(v.lq.toArray).join('\n') !== want.join('\n')) diverged++
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
console.log(`refetches ${refetches}`)
console.log(`live queries unlike their collection ${diverged}`)
console.log('ok')
for (const v of views) await v.lq.cleanup()
await tasks.cleanup()
for (const db of dbs) await db.end()
process.exit(0)
