// tests/e2e/tanstack-subq.mjs — TanStack DB's electric collection
// (@tanstack/electric-db-collection, the consumer of Electric's subquery
// protocol: tags, active_conditions, removed_tags, move-out events) kept
// equal to SELECT for a subquery shape while writers change both tables.
//
// Each round, WRITERS concurrent writers run TXNS random transactions
// each: a project flips active (values move out of the subquery, or in:
// a move-in), a task is inserted with a random project
// or NULL, moves to another project, is renamed or deleted, or a project
// flips and a task moves in one transaction; then projects only leave the
// subquery (move-outs); then tasks only move between
// projects. After each phase (a quiet point) the collection must hold
// exactly the rows of
//   SELECT * FROM tasks WHERE <WHERE>
// (each once: it is a map by key), within 60 s. So must the plain
// @electric-sql/client Shape (which ignores move-out events) following
// the same where with move_out=delete (rows that leave come as deletes).
// Prints one line per phase and "ok" at the end; exits 1 with the
// difference otherwise.
//
// With SUBQ_MODE=outs a project only ever leaves "active" (no value moves
// into the subquery, so nothing needs a refetch) and each transaction
// waits 20 ms (a run long enough to kill stages under it); SUBQ_MODE=slow
// is the random run (moves both ways) with the same waits; SUBQ_PROJECTS
// is how many projects there are (6). Prints
// "refetches N" at the end: the 409s the collection's client and the
// plain Shape got, "move-ins N": the move-in events the collection
// received, and "deletes N": the deletes the plain Shape received.
//
// With SUBQ_PART=1 the tables are partitioned with the partition key in
// their keys (tasks by project_id, projects by active: tests/t6013): a
// task's project is never NULL and a task id is never inserted twice.
// SUBQ_ATTACH_SQL, when set, is run after the first round (partitions
// attached with rows), followed by a quiet point.
//
// With SUBQ_NESTED=1 (a WHERE with a subquery in its subquery, tests/t6010)
// there is a table orgs (id, active) and projects have an org_id: writers
// also flip an org's active, move a project to another org (or NULL), or
// do both and move a task in one transaction; the move-out phase also
// takes an org out of "active" (its projects' tasks leave through the
// second level).
//
// Usage: node tanstack-subq.mjs WHERE SEED ROUNDS WRITERS TXNS
//   (SERVE_URL, and libpq's PG* variables, set)
import pg from 'pg'
import { createCollection } from '@tanstack/db'
import { electricCollectionOptions } from '@tanstack/electric-db-collection'
import { ShapeStream, Shape } from '@electric-sql/client'

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

const NPROJ = Number(process.env.SUBQ_PROJECTS || 6)
const outsOnly = process.env.SUBQ_MODE === 'outs'
const slow = outsOnly || process.env.SUBQ_MODE === 'slow'
const FLIP = outsOnly
  ? 'UPDATE projects SET active = false WHERE id = $1'
  : 'UPDATE projects SET active = NOT active WHERE id = $1'
// SUBQ_EXTRA=1: projects also have parent and lead, tasks an owner (all
// int, NULL at times), changed at random too: NULLs in a subquery's
// column, and row comparisons (a, b) IN (SELECT x, y ...).
const extra = process.env.SUBQ_EXTRA === '1'
const nested = process.env.SUBQ_NESTED === '1'
const NORG = 3
const ORG_FLIP = outsOnly
  ? 'UPDATE orgs SET active = false WHERE id = $1'
  : 'UPDATE orgs SET active = NOT active WHERE id = $1'
const part = process.env.SUBQ_PART === '1'
const noProject = () => (part ? 1 + rnd(NPROJ) : null)
const COLS = extra ? ['id', 'project_id', 'title', 'owner'] : ['id', 'project_id', 'title']
let nextTask = 1000
let refetches = 0
let moveins = 0
let deletes = 0

async function writer(db) {
  for (let i = 0; i < txns; i++) {
    const p = 1 + rnd(NPROJ)
    const t = 1 + rnd(40)
    const proj = rnd(8) === 0 ? noProject() : 1 + rnd(NPROJ)
    const maybe = (n) => (rnd(5) === 0 ? null : 1 + rnd(n))
    const o = nested ? 1 + rnd(NORG) : 0
    let kind = rnd(nested ? 12 : extra ? 9 : 7)
    if (!extra && (kind === 7 || kind === 8)) kind = 6
    try {
      switch (kind) {
        case 9:
          await db.query(ORG_FLIP, [o])
          break
        case 10:
          await db.query('UPDATE projects SET org_id = $2 WHERE id = $1', [p, maybe(NORG)])
          break
        case 11:
          await db.query('BEGIN')
          await db.query(ORG_FLIP, [o])
          await db.query('UPDATE projects SET org_id = $2 WHERE id = $1', [p, o])
          await db.query('UPDATE tasks SET project_id = $2 WHERE id = $1', [t, p])
          await db.query('COMMIT')
          break
        case 7:
          await db.query('UPDATE projects SET parent = $2, lead = $3 WHERE id = $1', [p, maybe(NPROJ), maybe(3)])
          break
        case 8:
          await db.query('UPDATE tasks SET owner = $2 WHERE id = $1', [t, maybe(3)])
          break
        case 0:
          await db.query(FLIP, [p])
          break
        case 1:
          await db.query('INSERT INTO tasks VALUES ($1, $2, $3)', [nextTask++, proj, `n${i}`])
          break
        case 2:
          await db.query('UPDATE tasks SET project_id = $2 WHERE id = $1', [t, proj])
          break
        case 3:
          await db.query("UPDATE tasks SET title = title || 'x' WHERE id = $1", [t])
          break
        case 4:
          await db.query('DELETE FROM tasks WHERE id = $1', [t])
          break
        case 5:
          if (part) await db.query('UPDATE tasks SET project_id = $2, title = $3 WHERE id = $1', [t, proj, `r${i}`])
          else
            await db.query('INSERT INTO tasks VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET project_id = $2',
              [t, proj, `r${i}`])
          break
        default:
          await db.query('BEGIN')
          await db.query(FLIP, [p])
          await db.query('UPDATE tasks SET project_id = $2 WHERE id = $1', [t, p])
          await db.query('COMMIT')
      }
    } catch (e) {
      await db.query('ROLLBACK').catch(() => {})
      // a duplicate key from two writers: a transaction like any other;
      // so is a row moved to another partition by another writer (or a
      // deadlock of two such moves)
      if (!/duplicate key/.test(e.message) && !(part && (e.code === '40001' || e.code === '40P01'))) throw e
    }
    if (slow) await new Promise((res) => setTimeout(res, 20))
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
// The key (id, project_id) lets an id be inserted again: new ids start
// above every id there is, this run's and earlier runs'.
if (part)
  nextTask = Math.max(nextTask, (await dbs[0].query('SELECT coalesce(max(id), 0) + 1 AS n FROM tasks')).rows[0].n)
// A fetch for a client that counts the 409s it gets and shows each good
// answer's body to seen(body).
function counting(seen) {
  return async (...args) => {
    const r = await fetch(...args)
    if (r.status === 409) refetches++
    if (r.ok) seen(await r.clone().text())
    return r
  }
}

const collection = createCollection(
  electricCollectionOptions({
    id: 'tasks-subq',
    shapeOptions: {
      url: `${process.env.SERVE_URL}/v1/shape`,
      params: { table: 'tasks', where },
      // count the refetches the server asks for
      fetchClient: counting((body) => {
        moveins += (body.match(/"event":"move-in"/g) || []).length
      }),
      // a stage killed under it: retry, as an application would
      onError: () => ({}),
    },
    getKey: (row) => row.id,
  })
)
await collection.preload()
// The plain client: a Shape of the same rows, move-outs as deletes.
const plain = new Shape(
  new ShapeStream({
    url: `${process.env.SERVE_URL}/v1/shape`,
    params: { table: 'tasks', where, move_out: 'delete' },
    fetchClient: counting((body) => {
      deletes += (body.match(/"operation":"delete"/g) || []).length
      if (/"event":"move-out"/.test(body)) {
        console.error('a move-out event in a move_out=delete shape')
        process.exit(1)
      }
    }),
    onError: () => ({}),
  })
)
await plain.rows

// Wait until the collection holds SELECT's rows (a quiet point).
// SUBQ_PLAIN_SOFT=1: the plain Shape unlike SELECT at a quiet point is
// reported ("plain differs N" at the end, the difference on stderr) and
// no longer checked, rather than ending the run: the kill -9 tests check
// it as a known bug (a TAP TODO) while the collection is checked hard.
const plainSoft = process.env.SUBQ_PLAIN_SOFT === '1'
let plainDiffers = 0
async function quiet(what) {
  const want = rowsOf((await dbs[0].query(`SELECT * FROM tasks WHERE ${where}`)).rows)
  let got = []
  let who = ''
  const until = Date.now() + 60000
  for (;;) {
    got = rowsOf(collection.state.values())
    who = 'the collection'
    if (got.join('\n') === want.join('\n')) {
      if (plainDiffers) break
      got = rowsOf(plain.currentRows)
      who = 'the plain Shape (move_out=delete)'
      if (got.join('\n') === want.join('\n')) break
    }
    if (Date.now() > until) {
      const g = new Set(got)
      const w = new Set(want)
      console.error(`${what}: ${who} is not SELECT's rows`)
      console.error(`  missing: ${want.filter((x) => !g.has(x)).join(' ')}`)
      console.error(`  extra:   ${got.filter((x) => !w.has(x)).join(' ')}`)
      if (!plainSoft || who === 'the collection') process.exit(1)
      plainDiffers++
      break
    }
    await new Promise((res) => setTimeout(res, 50))
  }
  console.log(`${what}: ${want.length} rows`)
}

for (let r = 1; r <= rounds; r++) {
  // everything at random, moves in both directions
  await Promise.all(dbs.slice(1).map((db) => writer(db)))
  await quiet(`round ${r}, random`)
  // projects leave "active" only: move-outs, never a refetch
  const act = (await dbs[0].query('SELECT id FROM projects WHERE active ORDER BY id')).rows
  for (const p of act.slice(0, 2))
    await dbs[1 + rnd(writers)].query('UPDATE projects SET active = false WHERE id = $1', [p.id])
  if (nested) {
    const orgs = (await dbs[0].query('SELECT id FROM orgs WHERE active ORDER BY id')).rows
    for (const o of orgs.slice(0, 1))
      await dbs[1 + rnd(writers)].query('UPDATE orgs SET active = false WHERE id = $1', [o.id])
  }
  await quiet(`round ${r}, move-outs`)
  // tasks move between projects, nothing else: their own moves
  for (let i = 0; i < 20; i++)
    await dbs[1 + rnd(writers)].query('UPDATE tasks SET project_id = $2 WHERE id = $1',
      [1 + rnd(40), rnd(8) === 0 ? noProject() : 1 + rnd(NPROJ)])
  await quiet(`round ${r}, task moves`)
  if (r === 1 && process.env.SUBQ_ATTACH_SQL) {
    await dbs[0].query(process.env.SUBQ_ATTACH_SQL)
    await quiet(`round ${r}, partitions attached`)
  }
}
console.log(`refetches ${refetches}`)
console.log(`move-ins ${moveins}`)
console.log(`deletes ${deletes}`)
console.log(`plain differs ${plainDiffers}`)
console.log('ok')
await collection.cleanup()
for (const db of dbs) await db.end()
process.exit(0)
