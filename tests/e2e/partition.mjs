// Shapes on a partitioned table, followed by the official client while
// rows change in every partition, move between partitions, and partitions
// are created and attached (tests/t6002-e2e-partition.sh). Each shape ends
// with exactly the rows of SELECT, once each: the client's Shape and a
// strict replay of the messages (strict.mjs) both.
//
// Environment: SERVE_URL, and PGHOST, PGPORT, PGDATABASE, PGUSER for psql.
// Prints "# ..." lines; exits 1 with the differences on failure.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { ShapeStream, Shape, isChangeMessage } from '@electric-sql/client'
import { strictApply } from './strict.mjs'

const URL_ = `${process.env.SERVE_URL}/v1/shape`

function sql(query) {
  return execFileSync('psql', ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-c', query],
    { encoding: 'utf8' }).trim()
}

const key = (r) => `${r.id}/${r.k}`
const sorted = (rows) => [...rows].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))
const select = (query) =>
  sorted(JSON.parse(sql(`SELECT coalesce(json_agg(t), '[]') FROM (${query}) t`)))

const controllers = []
// A shape followed live: the client's Shape, and the raw messages applied
// strictly (an insert of a present key or a change of an absent one is an
// error: a change lost or delivered twice).
function follow(params) {
  const ac = new AbortController()
  controllers.push(ac)
  const s = new ShapeStream({ url: URL_, params, signal: ac.signal })
  const rows = new Map()
  const errors = []
  const relations = new Set()
  s.subscribe((msgs) => {
    for (const m of msgs) {
      if (m.headers && m.headers.control === 'must-refetch') rows.clear()
      if (isChangeMessage(m)) {
        strictApply(rows, m, errors)
        relations.add(JSON.stringify(m.headers.relation ?? null) + ' ' + m.key.split('/')[0])
      }
    }
  })
  return { params, shape: new Shape(s), strictRows: () => [...rows.values()], errors, relations }
}

async function converge(f, query) {
  const until = Date.now() + 30000
  let last
  for (;;) {
    try {
      const want = select(query)
      assert.deepEqual(sorted(f.shape.currentRows), want)
      assert.deepEqual(sorted(f.strictRows()), want)
      assert.deepEqual(f.errors, [])
      return
    } catch (e) {
      last = e
    }
    if (Date.now() > until) {
      console.log(`# FAIL ${JSON.stringify(f.params)}: ${last.message}`)
      throw last
    }
    await new Promise((r) => setTimeout(r, 50))
  }
}

sql(`CREATE TABLE pt (id int, k int, v text, PRIMARY KEY (id, k)) PARTITION BY RANGE (k)`)
sql(`CREATE TABLE pt_1 PARTITION OF pt FOR VALUES FROM (0) TO (10)`)
sql(`CREATE TABLE pt_2 PARTITION OF pt FOR VALUES FROM (10) TO (20) PARTITION BY RANGE (id)`)
sql(`CREATE TABLE pt_2a PARTITION OF pt_2 FOR VALUES FROM (MINVALUE) TO (30)`)
sql(`CREATE TABLE pt_2z PARTITION OF pt_2 DEFAULT`)
sql(`INSERT INTO pt SELECT g, g % 20, CASE WHEN g % 3 = 0 THEN 'a' ELSE 'x' || g END
     FROM generate_series(1, 40) g`)

const shapes = [
  [{ table: 'pt' }, 'SELECT * FROM pt'],
  [{ table: 'pt', where: "v = 'a' OR k < 5" }, "SELECT * FROM pt WHERE v = 'a' OR k < 5"],
  [{ table: 'pt', where: 'k >= 10', columns: 'id,k' }, 'SELECT id, k FROM pt WHERE k >= 10'],
  [{ table: 'pt_2' }, 'SELECT * FROM pt_2'],
  [{ table: 'pt_1' }, 'SELECT * FROM pt_1'],
  [{ table: 'pt_2a', where: "v = 'b'" }, "SELECT * FROM pt_2a WHERE v = 'b'"],
]
const followed = shapes.map(([p, q]) => [follow(p), q])
for (const [f, q] of followed) {
  await f.shape.rows
  await converge(f, q)
}
console.log(`# ${followed.length} shapes synced: ${select('SELECT * FROM pt').length} rows in pt`)

// Inserts, updates and deletes in every partition.
sql(`INSERT INTO pt VALUES (100, 1, 'a'), (101, 12, 'a'), (102, 13, 'q'), (103, 4, 'b')`)
sql(`UPDATE pt SET v = v || '!' WHERE id IN (1, 11, 13)`)
sql(`UPDATE pt SET v = 'b' WHERE id = 102`)
sql(`DELETE FROM pt WHERE id IN (2, 12, 14, 103)`)
// Updates that move rows between partitions (a delete from one and an
// insert into the other), at both levels, and one in a transaction with
// other changes.
sql(`UPDATE pt SET k = 15 WHERE id = 3`)
sql(`UPDATE pt SET k = 1 WHERE id = 101`)
sql(`UPDATE pt SET v = 'zz' WHERE id = 100 AND k = 1`)
sql(`UPDATE pt SET v = 'a' WHERE id = 102`)
sql(`UPDATE pt SET v = 'b' WHERE id = 15`)
sql(`UPDATE pt SET id = 50 WHERE id = 11`)
sql(`UPDATE pt SET id = 29 WHERE id = 101`)
sql(`BEGIN; UPDATE pt SET k = k + 10 WHERE id BETWEEN 4 AND 6;
     INSERT INTO pt VALUES (104, 19, 'a'); DELETE FROM pt WHERE id = 7; COMMIT`)
// A partition created while the clients follow, and one attached (empty
// when attached, as a table of the same columns in another order).
sql(`CREATE TABLE pt_3 PARTITION OF pt FOR VALUES FROM (20) TO (30)`)
sql(`CREATE TABLE pt_4 (v text, k int NOT NULL, id int NOT NULL)`)
sql(`ALTER TABLE pt ATTACH PARTITION pt_4 FOR VALUES FROM (30) TO (40)`)
sql(`INSERT INTO pt VALUES (200, 21, 'a'), (201, 22, 'c'), (300, 31, 'a'), (301, 32, 'b')`)
sql(`UPDATE pt SET k = 25 WHERE id = 8`)
sql(`UPDATE pt SET k = 33 WHERE id = 9`)
sql(`UPDATE pt SET k = 5 WHERE id = 200`)
// Updates and deletes in the new partitions once replicate has given
// them REPLICA IDENTITY FULL (they start with the default).
const until = Date.now() + 30000
while (sql(`SELECT count(*) FROM pg_class WHERE relname IN ('pt_3', 'pt_4')
            AND relreplident = 'f'`) !== '2') {
  if (Date.now() > until) throw new Error('the new partitions never got REPLICA IDENTITY FULL')
  await new Promise((r) => setTimeout(r, 50))
}
sql(`UPDATE pt SET v = 'b' WHERE id IN (201, 300)`)
sql(`UPDATE pt SET v = 'c' WHERE id = 301`)
sql(`DELETE FROM pt WHERE id IN (8, 9, 17)`)
sql(`UPDATE pt SET k = 35 WHERE id = 201`)

for (const [f, q] of followed) await converge(f, q)
// Messages of a shape name its table, as its snapshot rows do.
for (const [f] of followed) {
  const t = f.params.table
  assert.deepEqual([...f.relations], [`["public","${t}"] "public"."${t}"`])
}
console.log(`# every shape equals SELECT: ${select('SELECT * FROM pt').length} rows in pt`)
for (const ac of controllers) ac.abort()
process.exit(0)
