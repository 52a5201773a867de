// bench/subq/latency.mjs — commit-to-client latency of subquery moves
// next to an ordinary change, same run (issue 14). One client follows
//   tasks WHERE project_id IN (SELECT id FROM projects WHERE active)
// with long polls, as the official client does. Each sample: a write is
// committed, and the time until the client's long poll returns the
// message that shows it is measured (same process, same clock):
//   change    INSERT a task into an active project (the insert arrives)
//   move-in   a project with C tasks becomes active (the move-in's
//             snapshot-end arrives, after its C rows)
//   move-out  that project becomes inactive again (the move-out arrives)
// then, following the same where with move_out=delete (the plain
// client's mode: rows that leave come as deletes, queried by route):
//   deletes   a project with C tasks becomes inactive (its C deletes
//             have arrived; each sample first moves it in)
// and following, two levels deep,
//   tasks WHERE project_id IN (SELECT id FROM projects
//                              WHERE org_id IN (SELECT id FROM orgs WHERE active))
//   nested-in   the org of a project with C tasks becomes active: the
//               projects' shape moves the project in by a query, then the
//               tasks' shape its tasks by another (their snapshot-end
//               arrives)
//   nested-out  that org becomes inactive: the project's delete, then the
//               tasks' move-out event arrives
// Prints one line per kind: samples, p50, p95, max (ms).
// Usage: node latency.mjs SAMPLES CHILDREN   (SERVE_URL, PG* set; pg
// from tests/e2e's node_modules, or E2E_DIR's)
import { createRequire } from 'module'

const require = createRequire(`${process.env.E2E_DIR || new URL('../../tests/e2e', import.meta.url).pathname}/`)
const pg = require('pg')

const [samplesArg, childrenArg] = process.argv.slice(2)
const samples = Number(samplesArg)
const children = Number(childrenArg)
const base = `${process.env.SERVE_URL}/v1/shape?table=tasks&where=${encodeURIComponent(
  'project_id IN (SELECT id FROM projects WHERE active)')}`
const db = new pg.Client()
await db.connect()

// A follower of the shape at url: poll(live) gets its next answer.
function follower(url) {
  let handle = null
  let offset = '-1'
  return async function poll(live) {
    const u = `${url}&offset=${offset}${handle ? `&handle=${handle}` : ''}${live ? '&live=true' : ''}`
    const r = await fetch(u)
    if (r.status !== 200) throw new Error(`status ${r.status}: ${await r.text()}`)
    handle = r.headers.get('electric-handle')
    offset = r.headers.get('electric-offset')
    return r.json()
  }
}
// catch up to the end of the log
async function catchUp(poll) {
  for (;;) {
    const b = await poll(false)
    if (b.some((m) => m.headers && m.headers.control === 'up-to-date')) break
  }
}
let poll = follower(base)
await catchUp(poll)

// wait until a message satisfying pred arrives; ms since t0
async function until(pred, t0) {
  for (;;) {
    const b = await poll(true)
    if (b.some(pred)) return performance.now() - t0
  }
}

const res = { change: [], 'move-in': [], 'move-out': [], deletes: [] }
let task = 1000000
for (let i = 0; i < samples; i++) {
  const p = 100000 + i
  // change
  const id = task++
  let t0 = performance.now()
  await db.query('INSERT INTO tasks VALUES ($1, 1, $2)', [id, 'c'])
  res.change.push(await until((m) => m.value && m.value.id === String(id), t0))
  // move-in of project p with its children (inactive until now)
  t0 = performance.now()
  await db.query('UPDATE projects SET active = true WHERE id = $1', [p])
  res['move-in'].push(await until((m) =>
    m.headers && (children ? m.headers.control === 'snapshot-end' : m.headers.event === 'move-in'), t0))
  t0 = performance.now()
  await db.query('UPDATE projects SET active = false WHERE id = $1', [p])
  res['move-out'].push(await until((m) => m.headers && m.headers.event === 'move-out', t0))
}
// move_out=delete: the same moves, the deletes of the rows that leave
poll = follower(`${base}&move_out=delete`)
await catchUp(poll)
for (let i = 0; i < samples && children; i++) {
  const p = 100000 + i
  let t0 = performance.now()
  await db.query('UPDATE projects SET active = true WHERE id = $1', [p])
  await until((m) => m.headers && m.headers.control === 'snapshot-end', t0)
  t0 = performance.now()
  await db.query('UPDATE projects SET active = false WHERE id = $1', [p])
  // all C deletes (they come in one transaction, maybe several answers)
  let n = 0
  res.deletes.push(await until((m) => {
    if (m.headers && m.headers.operation === 'delete') n++
    return n === children
  }, t0))
}
// two levels: org 500000 + i holds project 100000 + i (inactive orgs)
poll = follower(`${process.env.SERVE_URL}/v1/shape?table=tasks&where=${encodeURIComponent(
  'project_id IN (SELECT id FROM projects WHERE org_id IN (SELECT id FROM orgs WHERE active))')}`)
await catchUp(poll)
res['nested-in'] = []
res['nested-out'] = []
for (let i = 0; i < samples; i++) {
  const o = 500000 + i
  let t0 = performance.now()
  await db.query('UPDATE orgs SET active = true WHERE id = $1', [o])
  res['nested-in'].push(await until((m) =>
    m.headers && (children ? m.headers.control === 'snapshot-end' : m.headers.event === 'move-in'), t0))
  t0 = performance.now()
  await db.query('UPDATE orgs SET active = false WHERE id = $1', [o])
  res['nested-out'].push(await until((m) => m.headers && m.headers.event === 'move-out', t0))
}
const q = (a, f) => a.slice().sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(f * a.length))]
for (const [k, a] of Object.entries(res))
  console.log(`${k} ${a.length} ${q(a, 0.5).toFixed(1)} ${q(a, 0.95).toFixed(1)} ${Math.max(...a).toFixed(1)}`)
await db.end()
