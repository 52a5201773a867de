// End-to-end tests of shapesync-serve with the official @electric-sql/client
// against the real pipeline (replicate | route | store) and PostgreSQL, as
// started by tests/t6000-e2e-client.sh. Every test ends by comparing the
// client's materialised rows with SELECT for the shape.
//
// Environment: SERVE_URL (http://127.0.0.1:PORT), and PGHOST, PGPORT,
// PGDATABASE, PGUSER for psql.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { ShapeStream, Shape, isChangeMessage } from '@electric-sql/client'
import { strictApply } from './strict.mjs'

const BASE = process.env.SERVE_URL
const URL_ = `${BASE}/v1/shape`

function sql(query) {
  return execFileSync('psql', ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-c', query],
    { encoding: 'utf8' }).trim()
}

// The rows of a SELECT as JSON objects, ordered by id.
function select(query) {
  return JSON.parse(sql(`SELECT coalesce(json_agg(t ORDER BY id), '[]') FROM (${query}) t`))
}

const byId = (a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
const sorted = (rows) => [...rows].sort(byId)

async function waitFor(what, fn, ms = 15000) {
  const until = Date.now() + ms
  let last
  for (;;) {
    try {
      last = await fn()
      if (last === true) return
    } catch (e) {
      last = e
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}: ${last}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

// Wait until the shape's rows equal `expected` (JSON-comparable).
async function converge(shape, expected, label = 'rows') {
  await waitFor(label, () => {
    assert.deepEqual(sorted(shape.currentRows), expected)
    return true
  })
}

// Every stream can be stopped at the end: an open long-poll or SSE request
// would keep node running.
const controllers = []
// Apply a stream's messages strictly (strict.mjs).
function strict(s) {
  const rows = new Map()
  const errors = []
  s.subscribe((msgs) => {
    for (const m of msgs) {
      if (m.headers && m.headers.control === 'must-refetch') rows.clear()
      if (isChangeMessage(m)) strictApply(rows, m, errors)
    }
  })
  return { get currentRows() { return [...rows.values()] }, errors }
}

function stream(params, extra = {}) {
  const ac = new AbortController()
  controllers.push(ac)
  return new ShapeStream({ url: URL_, params, signal: ac.signal, ...extra })
}
after(() => { for (const ac of controllers) ac.abort() })

test('initial sync of common types, parsed through electric-schema', async () => {
  sql(`CREATE TABLE types (
    id int PRIMARY KEY, i2 int2, i8 int8, f4 float4, f8 float8, num numeric(8,3),
    b bool, t text, vc varchar(10), ch char(4), d date, tm time, ts timestamp,
    tstz timestamptz, iv interval, u uuid, j json, jb jsonb, by bytea,
    ia int4[], ta text[])`)
  sql(`INSERT INTO types VALUES (1, 7, 9007199254740993, 1.5, 2.25, 12.5, true,
    'hé "q" /', 'v', 'ab', '2024-02-29', '13:14:15', '2024-01-02 03:04:05.678',
    '2024-01-02 03:04:05+02', '1 day 2 hours', '0e3f2a52-3c8f-4ae5-9d0b-6a5f0a8ad6c1',
    '{"a":[1,2]}', '{"b": null}', '\\x00ff', '{1,2,3}', '{"x y",NULL,"z"}'),
    (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`)
  const s = stream({ table: 'types' })
  const shape = new Shape(s)
  const rows = sorted(await shape.rows)
  assert.equal(rows.length, 2)
  const r = rows[0]
  assert.equal(r.id, 1)
  assert.equal(r.i2, 7)
  assert.equal(r.i8, 9007199254740993n)
  assert.equal(r.f4, 1.5)
  assert.equal(r.f8, 2.25)
  assert.equal(r.num, '12.500')
  assert.equal(r.b, true)
  assert.equal(r.t, 'hé "q" /')
  assert.equal(r.vc, 'v')
  assert.equal(r.ch, 'ab  ')
  assert.equal(r.d, '2024-02-29')
  assert.equal(r.tm, '13:14:15')
  assert.equal(r.ts, '2024-01-02 03:04:05.678')
  assert.equal(r.tstz, '2024-01-02 01:04:05+00')
  assert.equal(r.iv, 'P1DT2H')
  assert.equal(r.u, '0e3f2a52-3c8f-4ae5-9d0b-6a5f0a8ad6c1')
  assert.deepEqual(r.j, { a: [1, 2] })
  assert.deepEqual(r.jb, { b: null })
  assert.equal(r.by, '\\x00ff')
  assert.deepEqual(r.ia, [1, 2, 3])
  assert.deepEqual(r.ta, ['x y', null, 'z'])
  for (const [k, v] of Object.entries(rows[1])) if (k !== 'id') assert.equal(v, null, k)
  // Live changes of every type come through the same parser.
  sql(`UPDATE types SET i8 = -5, b = false, ia = '{}', jb = '[1]',
    tstz = '2024-03-04 05:06:07+02', iv = '3 days 4 minutes', ch = 'x' WHERE id = 1`)
  await waitFor('typed update', () => {
    const u = shape.currentRows.find((x) => x.id === 1)
    // Live values are rendered with the same display settings as the
    // snapshot's (replicate sets them on its connection).
    assert.equal(u.tstz, '2024-03-04 03:06:07+00')
    assert.equal(u.iv, 'P3DT4M')
    assert.equal(u.ch, 'x   ')
    assert.equal(u.i8, -5n)
    assert.equal(u.b, false)
    assert.deepEqual(u.ia, [])
    assert.deepEqual(u.jb, [1])
    return true
  })
  shape.unsubscribeAll()
})

test('live inserts, updates and deletes reach the client', async () => {
  sql(`CREATE TABLE items (id int PRIMARY KEY, title text, n int)`)
  sql(`INSERT INTO items SELECT g, 'item ' || g, g FROM generate_series(1, 50) g`)
  const shape = new Shape(stream({ table: 'items' }))
  await shape.rows
  await converge(shape, select('SELECT * FROM items'), 'initial rows')
  sql(`INSERT INTO items VALUES (51, 'new', 51)`)
  sql(`UPDATE items SET title = 'changed' WHERE id <= 5`)
  sql(`DELETE FROM items WHERE id BETWEEN 10 AND 14`)
  sql(`BEGIN; INSERT INTO items VALUES (52, 'tx', 52); UPDATE items SET n = -1 WHERE id = 52; DELETE FROM items WHERE id = 1; COMMIT`)
  await converge(shape, select('SELECT * FROM items'), 'rows after changes')
  shape.unsubscribeAll()
})

test('moves into and out of a where clause, with params', async () => {
  const shape = new Shape(stream({ table: 'items', where: 'n > $1', params: { 1: '40' } }))
  await shape.rows
  const want = () => select('SELECT * FROM items WHERE n > 40')
  await converge(shape, want(), 'initial filtered rows')
  sql(`UPDATE items SET n = 100 WHERE id IN (2, 3)`) // move in
  sql(`UPDATE items SET n = 0 WHERE id IN (45, 46)`) // move out
  sql(`UPDATE items SET title = 'still in' WHERE id = 47`)
  sql(`UPDATE items SET title = 'not in' WHERE id = 20`)
  await converge(shape, want(), 'rows after moves')
  shape.unsubscribeAll()
})

test('columns select a subset, the key always included', async () => {
  const shape = new Shape(stream({ table: 'items', columns: ['id', 'title'] }))
  await shape.rows
  await converge(shape, select('SELECT id, title FROM items'), 'column subset')
  sql(`UPDATE items SET title = 'cols', n = 7 WHERE id = 30`)
  sql(`UPDATE items SET n = 8 WHERE id = 31`) // no selected column changes
  await converge(shape, select('SELECT id, title FROM items'), 'column subset live')
  shape.unsubscribeAll()
})

test('replica=full sends old_value on updates', async () => {
  const s = stream({ table: 'items', where: 'id = 33', replica: 'full' })
  const got = []
  const shape = new Shape(s)
  await shape.rows
  s.subscribe((msgs) => {
    for (const m of msgs) if (isChangeMessage(m)) got.push(m)
  })
  sql(`UPDATE items SET title = 'full!' WHERE id = 33`)
  await waitFor('update with old_value', () => got.some((m) => m.headers.operation === 'update'))
  const m = got.find((x) => x.headers.operation === 'update')
  assert.deepEqual(m.value, { id: 33, title: 'full!', n: 33 })
  assert.equal(m.old_value.title, 'item 33')
  await converge(shape, select('SELECT * FROM items WHERE id = 33'))
  shape.unsubscribeAll()
})

test('resume from a saved offset and handle', async () => {
  const first = stream({ table: 'items', where: 'id < 20' })
  const shape = new Shape(first)
  await shape.rows
  const saved = { offset: first.lastOffset, handle: first.shapeHandle, rows: shape.currentRows }
  shape.unsubscribeAll()
  sql(`INSERT INTO items VALUES (-1, 'while away', 1)`)
  sql(`UPDATE items SET title = 'away' WHERE id = 15`)
  sql(`DELETE FROM items WHERE id = 16`)
  const rows = new Map(saved.rows.map((r) => [r.id, r]))
  const resumed = stream({ table: 'items', where: 'id < 20' },
    { offset: saved.offset, handle: saved.handle })
  let sawSnapshot = false
  resumed.subscribe((msgs) => {
    for (const m of msgs) {
      if (!isChangeMessage(m)) continue
      if (!m.headers.lsn) sawSnapshot = true
      if (m.headers.operation === 'delete') rows.delete(m.value.id)
      else rows.set(m.value.id, { ...(rows.get(m.value.id) || {}), ...m.value })
    }
  })
  await converge({ get currentRows() { return [...rows.values()] } },
    select('SELECT * FROM items WHERE id < 20'), 'resumed rows')
  assert.equal(sawSnapshot, false, 'resuming must not replay the snapshot')
  resumed.unsubscribeAll()
})

test('409 and resync after DELETE of the shape', async () => {
  const s = stream({ table: 'items', where: 'id > 40' })
  const shape = new Shape(s)
  await shape.rows
  const h1 = s.shapeHandle
  const res = await fetch(`${URL_}?table=items&where=${encodeURIComponent('id > 40')}`, { method: 'DELETE' })
  assert.equal(res.status, 202)
  sql(`INSERT INTO items VALUES (60, 'after delete', 60)`)
  await converge(shape, select('SELECT * FROM items WHERE id > 40'), 'rows after DELETE')
  await waitFor('a new handle', () => s.shapeHandle !== h1)
  shape.unsubscribeAll()
})

test('409 and resync after TRUNCATE', async () => {
  sql(`CREATE TABLE trunc (id int PRIMARY KEY, v text)`)
  sql(`INSERT INTO trunc SELECT g, 'v' || g FROM generate_series(1, 10) g`)
  const s = stream({ table: 'trunc' })
  const shape = new Shape(s)
  await shape.rows
  const h1 = s.shapeHandle
  sql(`TRUNCATE trunc`)
  sql(`INSERT INTO trunc VALUES (100, 'fresh'), (101, 'fresh')`)
  await waitFor('a new handle', () => s.shapeHandle !== h1, 20000)
  await converge(shape, select('SELECT * FROM trunc'), 'rows after TRUNCATE')
  shape.unsubscribeAll()
})

test('SSE live mode', async () => {
  sql(`CREATE TABLE sse (id int PRIMARY KEY, v text)`)
  sql(`INSERT INTO sse VALUES (1, 'a')`)
  const s = stream({ table: 'sse' }, { liveSse: true })
  const shape = new Shape(s)
  await shape.rows
  for (let i = 2; i <= 20; i++) sql(`INSERT INTO sse VALUES (${i}, 'v${i}')`)
  sql(`UPDATE sse SET v = 'b' WHERE id = 1`)
  sql(`DELETE FROM sse WHERE id = 2`)
  await converge(shape, select('SELECT * FROM sse'), 'SSE rows')
  shape.unsubscribeAll()
})

test('offset=now skips the existing rows', async () => {
  const s = stream({ table: 'sse' }, { offset: 'now' })
  const got = []
  s.subscribe((msgs) => { for (const m of msgs) if (isChangeMessage(m)) got.push(m) })
  await waitFor('up to date', () => s.isUpToDate)
  assert.equal(got.length, 0)
  sql(`INSERT INTO sse VALUES (1000, 'later')`)
  await waitFor('the new row', () => got.some((m) => m.value.id === 1000))
  assert.ok(got.every((m) => m.value.id === 1000))
  s.unsubscribeAll()
})

test('writes while shapes are created: nothing lost, nothing twice', async () => {
  sql(`CREATE TABLE busy (id int PRIMARY KEY, v int)`)
  sql(`INSERT INTO busy SELECT g, 0 FROM generate_series(1, 2000) g`)
  // Transactions of inserts, updates and deletes commit every few ms
  // while the shapes are registered and snapshotted.
  const writer = spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', `
    DO $$ BEGIN FOR i IN 1..300 LOOP
      INSERT INTO busy VALUES (10000 + i, i);
      UPDATE busy SET v = v + 1 WHERE id % 50 = i % 50;
      DELETE FROM busy WHERE id = i * 3;
      COMMIT;
      PERFORM pg_sleep(0.003);
    END LOOP; END $$`], { stdio: 'inherit' })
  const done = new Promise((res, rej) => writer.on('exit', (c) => (c ? rej(new Error(`psql ${c}`)) : res())))
  const shapes = []
  for (let i = 0; i < 6; i++) {
    await new Promise((r) => setTimeout(r, 60))
    const s = stream({ table: 'busy', where: `v >= ${i % 3}`, replica: i < 3 ? 'default' : 'full' })
    shapes.push([s, strict(s), i % 3])
  }
  await done
  for (const [, view, k] of shapes) {
    await converge(view, select(`SELECT * FROM busy WHERE v >= ${k}`), `busy rows v >= ${k}`)
    assert.deepEqual(view.errors, [])
  }
  for (const [s] of shapes) s.unsubscribeAll()
})

test('subset snapshots on a changes_only shape, by GET and by POST', async () => {
  for (const method of ['GET', 'POST']) {
    const s = stream({ table: 'items', where: 'n > 0' }, { log: 'changes_only', subsetMethod: method })
    const shape = new Shape(s)
    await shape.rows
    assert.equal(shape.currentRows.length, 0, 'changes_only starts empty')
    await shape.requestSnapshot({ where: 'n < $1', params: { 1: '20' }, orderBy: 'id DESC', limit: 3 })
    const want = select('SELECT * FROM items WHERE n > 0 AND n < 20 ORDER BY id DESC LIMIT 3')
    assert.equal(want.length, 3)
    await converge(shape, sorted(want), `${method} subset rows`)
    // A later change to a loaded row reaches the client.
    sql(`UPDATE items SET title = 'subset ${method}' WHERE id = ${want[0].id}`)
    await waitFor('update of a subset row', () =>
      shape.currentRows.some((r) => r.title === `subset ${method}`))
    shape.unsubscribeAll()
  }
})

test('many concurrent live clients on one shape', async () => {
  sql(`CREATE TABLE many (id int PRIMARY KEY, v int)`)
  sql(`INSERT INTO many SELECT g, g FROM generate_series(1, 100) g`)
  const shapes = []
  for (let i = 0; i < 100; i++) shapes.push(new Shape(stream({ table: 'many' })))
  await Promise.all(shapes.map((s) => s.rows))
  await new Promise((r) => setTimeout(r, 300)) // let them all go live
  sql(`UPDATE many SET v = v + 1000 WHERE id % 7 = 0`)
  sql(`INSERT INTO many VALUES (1000, 1)`)
  sql(`DELETE FROM many WHERE id < 10`)
  const want = select('SELECT * FROM many')
  await Promise.all(shapes.map((s, i) => converge(s, want, `client ${i}`)))
  const handles = new Set(shapes.map((s) => s.handle))
  assert.equal(handles.size, 1)
  for (const s of shapes) s.unsubscribeAll()
})
