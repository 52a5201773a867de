// tests/e2e/invariant.mjs — DESIGN.md invariant 1 (and, with CRASH=1, 2)
// under load: random concurrent writes on four tables while shapes are
// created at random moments, each followed by the official client; at the
// end every client, and a strict replay of every shape's raw log, must
// equal SELECT for the shape. Driven by tests/t7100-invariant.sh and
// tests/t7200-crash.sh, which start PostgreSQL and the pipeline.
//
// Environment: SERVE_URL, PGHOST/PGPORT/PGDATABASE/PGUSER, SEED (random
// if unset; printed: SEED=N repeats the operations, shapes and kill plan,
// though not the timing), SHAPES (50), WRITE_MS (the load lasts at least
// this long), WORKERS (writer connections), PAUSE_MS (a writer's pause
// between transactions, at most), RESULT_FILE (counts as JSON).
// CRASH=1: the driver kills the stages too (KILLS times each), children
// of SUP_PID (`shapesync up`); network errors and 503s are expected then,
// and a 409 is legitimate only for a shape that LOG (up's stderr) says
// serve removed because a kill cut its creation short. SS_REGISTRY,
// SS_DATA, SLOT and SLOT_START (the slot's confirmed_flush_lsn when it was
// created) are for the check that the slot is never acknowledged past the
// durable LSN. Prints TAP diagnostics ("# ...") and exits non-zero on a
// failure.
//
// The writer uses the `pg` package rather than psql: several connections
// hold transactions open at once (so snapshots are taken with transactions
// in progress), each statement's failure (a deadlock, a key taken by
// another writer) rolls back just its transaction, and the end LSN is
// read on the same connections, all from one event loop.
import pg from 'pg'
import { writeFileSync, readFileSync, readdirSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { ShapeStream, Shape, isChangeMessage } from '@electric-sql/client'
import { strictApply } from './strict.mjs'

const env = process.env
const BASE = env.SERVE_URL
const URL_ = `${BASE}/v1/shape`
const SEED = env.SEED ? Number(env.SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0
const NSHAPES = Number(env.SHAPES || 50)
const WRITE_MS = Number(env.WRITE_MS || 20000)
const WORKERS = Number(env.WORKERS || 4)
const PAUSE_MS = Number(env.PAUSE_MS || 8) // between a writer's transactions
const CRASH = env.CRASH === '1'
const WAIT_MS = Number(env.WAIT_MS || (CRASH ? 120000 : 60000))
const SUP_PID = Number(env.SUP_PID || 0)
const KILLS = Number(env.KILLS || 20)
const STAGES = ['shapesync-replicate', 'shapesync-route', 'shapesync-store', 'shapesync-serve']

const say = (s) => console.log(`# ${s}`)
const failures = []
function fail(msg) {
  failures.push(msg)
  console.log(`# FAIL: ${msg}`)
}
say(`SEED=${SEED} (rerun with SEED=${SEED})`)

// mulberry32: small, seedable, good enough to pick operations.
function rng(seed) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n) => Math.floor(next() * n)
  return { next, int, pick: (a) => a[int(a.length)], chance: (p) => next() < p }
}
const R = rng(SEED)
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

// ------------------------------------------------------------------ schema

const TABLES = {
  items: { key: ['id'], cols: ['id', 'k', 'n', 'flag', 't'] },
  orders: { key: ['id'], cols: ['id', 'grp', 'qty', 'price', 'note'] },
  pairs: { key: ['a', 'b'], cols: ['a', 'b', 'v', 's'] },
  tags: { key: ['name'], cols: ['name', 'n', 'at', 'd'] },
}
// Text keys with the characters a key has to escape or quote.
const NAMES = ['a/b', 'a//b', '/', 'q"uote', "it's", 'back\\slash', 'sp ace', 'Ünï/✓', '_', 'x']
const SCHEMA = () => `
  CREATE TABLE items (id int PRIMARY KEY, k int, n int, flag bool, t text);
  CREATE TABLE orders (id int PRIMARY KEY, grp text, qty int, price numeric(10,2), note text);
  CREATE TABLE pairs (a int, b int, v int, s text, PRIMARY KEY (a, b));
  INSERT INTO items SELECT g, g % 10, g % 100, g % 3 = 0, 'item ' || g
    FROM generate_series(1, 1000) g;
  INSERT INTO orders SELECT g, (ARRAY['red','green','blue',NULL])[1 + g % 4],
    g % 12, (g % 70) + 0.25, CASE WHEN g % 5 = 0 THEN NULL ELSE 'o' || g END
    FROM generate_series(1, 500) g;
  INSERT INTO pairs SELECT g / 20, g % 20, g % 100, 's' || g FROM generate_series(0, 299) g;
  CREATE TABLE tags (name text PRIMARY KEY, n int, at timestamptz, d interval);
  INSERT INTO tags SELECT (ARRAY[${NAMES.map(lit).join(', ')}])[1 + g % ${NAMES.length}] || g, g % 10,
    '2024-01-01 00:00:00+02'::timestamptz + g * interval '77 minutes', g * interval '1 day 3 minutes'
    FROM generate_series(0, 199) g;
`

const TEXTS = ['a', 'b', 'item', "it's", 'Ünïcödé ✓', 'with "quotes"', 'back\\slash',
  'tab\there', 'new\nline', '', '{"json":1}', 'comma, and ; semicolon']
const lit = (s) => (s === null ? 'NULL' : `'${s.replace(/'/g, "''")}'`)

// ------------------------------------------------------------------ shapes

// A random shape: table, where (with optional params), columns, replica.
function randomShape(r) {
  const table = r.pick(['items', 'items', 'items', 'orders', 'orders', 'pairs', 'tags'])
  let where = null
  let params = null
  let columns = null
  const x = r.int(100)
  if (table === 'items') {
    where = r.pick([
      () => `k = ${r.int(10)}`,
      () => { params = { 1: String(r.int(10)) }; return 'k = $1' },
      () => `k IN (${r.int(10)}, ${r.int(10)}, ${r.int(10)})`,
      () => `n BETWEEN ${x} AND ${x + r.int(30)}`,
      () => `n > ${x}`,
      () => `n <= ${x} AND k >= ${r.int(10)}`,
      () => `(k = ${r.int(10)} OR n < ${r.int(20)}) AND flag`,
      () => `flag AND k IN (${r.int(10)}, ${r.int(10)})`,
      () => `NOT flag OR t IS NULL`,
      () => { params = { 1: String(x), 2: String(x + 20) }; return 'n >= $1 AND n < $2' },
      () => null,
    ])()
    if (r.chance(0.3)) columns = r.pick([['id', 'k', 'n'], ['id', 't', 'flag'], ['n', 'id']])
  } else if (table === 'orders') {
    where = r.pick([
      () => `grp = '${r.pick(['red', 'green', 'blue'])}'`,
      () => `grp IN ('red', 'blue')`,
      () => `qty >= ${r.int(12)} AND price < ${x}.5`,
      () => `price BETWEEN ${x} AND ${x + 15}`,
      () => `grp = 'green' OR qty > ${r.int(12)}`,
      () => `note IS NOT NULL AND qty = ${r.int(12)}`,
      () => { params = { 1: r.pick(['red', 'green', 'blue']) }; return 'grp = $1' },
    ])()
    if (r.chance(0.3)) columns = r.pick([['id', 'grp', 'price'], ['id', 'note']])
  } else if (table === 'tags') {
    where = r.pick([
      () => `n = ${r.int(10)}`,
      () => `n IN (${r.int(10)}, ${r.int(10)}) OR name = ${lit(r.pick(NAMES) + r.int(200))}`,
      () => `n >= ${r.int(10)}`,
      () => null,
    ])()
    if (r.chance(0.3)) columns = ['name', 'at']
  } else {
    where = r.pick([
      () => `a = ${r.int(15)}`,
      () => `b < ${r.int(20)} OR v > ${x}`,
      () => `a IN (${r.int(15)}, ${r.int(15)}) AND b >= ${r.int(20)}`,
      () => `v BETWEEN ${x} AND ${x + 30}`,
    ])()
    if (r.chance(0.3)) columns = ['a', 'b', 'v']
  }
  const replica = r.chance(0.3) ? 'full' : 'default'
  // Some clients follow the live log by server-sent events.
  const sse = r.chance(0.25)
  return { table, where, params, columns, replica, sse }
}

function describe(s) {
  let d = s.table
  if (s.where) d += ` where ${s.where}`
  if (s.params) d += ` params ${JSON.stringify(s.params)}`
  if (s.columns) d += ` columns ${s.columns.join(',')}`
  if (s.replica === 'full') d += ' replica=full'
  if (s.sse) d += ' (SSE)'
  return d
}

// The shape's rows by SELECT, every value as the text the wire carries
// (the type's output function, as concat applies it), keyed like the log.
async function expected(db, s) {
  const cols = s.columns || TABLES[s.table].cols
  let where = s.where || 'true'
  if (s.params) where = where.replace(/\$(\d+)/g, (_, n) => lit(s.params[n]))
  const sel = cols.map((c) => `CASE WHEN ${c} IS NULL THEN NULL ELSE concat(${c}) END AS ${c}`)
  const res = await db.query(`SELECT ${sel.join(', ')} FROM ${s.table} WHERE ${where}`)
  const m = new Map()
  for (const row of res.rows) m.set(keyOf(s.table, row), row)
  return m
}

// The key as Electric writes it: "public"."t"/"v1"/"v2".
function keyOf(table, row) {
  return `"public"."${table}"/` + TABLES[table].key.map((k) =>
    `"${String(row[k]).replace(/\//g, '//')}"`).join('/')
}

// A value as text, whether it came raw off the wire or through the
// client's parser (int4 to number, bool to boolean).
function asText(v) {
  if (v === null || v === undefined) return null
  if (typeof v === 'boolean') return v ? 't' : 'f'
  if (typeof v === 'number' || typeof v === 'bigint') return String(v)
  if (typeof v === 'object') return JSON.stringify(v)
  return v
}

// Compare a map key -> row (any representation) with SELECT's; returns a
// short description of the differences, or null.
function diff(got, want, cols) {
  const out = []
  for (const [k, w] of want) {
    const g = got.get(k)
    if (!g) { out.push(`missing ${k}`); continue }
    for (const c of cols) {
      if (asText(g[c]) !== w[c]) out.push(`${k}.${c}: got ${JSON.stringify(asText(g[c]))} want ${JSON.stringify(w[c])}`)
    }
    for (const c of Object.keys(g)) if (!cols.includes(c)) out.push(`${k}: unexpected column ${c}`)
  }
  for (const k of got.keys()) if (!want.has(k)) out.push(`extra ${k}`)
  return out.length ? `${out.length} differences: ${out.slice(0, 6).join('; ')}` : null
}

// Offsets "-1", "<tx>_<op>", "<tx>_inf" as comparable pairs.
function offsetKey(o) {
  if (o === '-1' || o == null) return [-1n, -1n]
  const [tx, op] = o.split('_')
  return [BigInt(tx), op === 'inf' ? 1n << 62n : BigInt(op)]
}
function offsetCmp(a, b) {
  const [x, y] = [offsetKey(a), offsetKey(b)]
  return x[0] !== y[0] ? (x[0] < y[0] ? -1 : 1) : x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0
}

function lsnToBig(s) {
  const [hi, lo] = s.split('/')
  return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`)
}

// ------------------------------------------------------------------ writers

const stats = { txns: 0, commits: 0, rollbacks: 0, aborted: 0, statements: 0, rowsChanged: 0 }

function randomStatement(r, w, fresh) {
  const id = 1 + r.int(1600)
  const t = () => (r.chance(0.1) ? 'NULL' : lit(r.pick(TEXTS) + (r.chance(0.5) ? ` ${r.int(1000)}` : '')))
  const ops = [
    // items
    () => `INSERT INTO items VALUES (${id}, ${r.int(10)}, ${r.int(100)}, ${r.chance(0.5)}, ${t()}) ON CONFLICT (id) DO UPDATE SET n = EXCLUDED.n, t = EXCLUDED.t`,
    () => `INSERT INTO items VALUES (${fresh()}, ${r.int(10)}, ${r.int(100)}, ${r.chance(0.5)}, ${t()})`,
    () => `UPDATE items SET n = ${r.int(100)} WHERE id = ${id}`,
    () => `UPDATE items SET k = ${r.int(10)}, n = n + ${r.int(21) - 10} WHERE id = ${id}`,
    () => `UPDATE items SET flag = NOT flag WHERE id = ${id}`,
    () => `UPDATE items SET t = ${t()} WHERE id = ${id}`,
    () => `UPDATE items SET n = (n + ${1 + r.int(30)}) % 100 WHERE k = ${r.int(10)} AND n BETWEEN ${r.int(100)} AND ${r.int(100)}`,
    () => `DELETE FROM items WHERE id = ${id}`,
    () => `DELETE FROM items WHERE id IN (SELECT id FROM items WHERE n = ${r.int(100)} LIMIT 3)`,
    () => `UPDATE items SET id = ${fresh()} WHERE id = ${id}`,
    () => `UPDATE items SET id = ${fresh()}, k = ${r.int(10)} WHERE id = ${id}`,
    // orders
    () => `INSERT INTO orders VALUES (${fresh()}, ${lit(r.pick(['red', 'green', 'blue', null]))}, ${r.int(12)}, ${r.int(8000) / 100}, ${t()})`,
    () => `UPDATE orders SET grp = ${lit(r.pick(['red', 'green', 'blue', null]))} WHERE id = ${1 + r.int(600)}`,
    () => `UPDATE orders SET qty = ${r.int(12)}, price = price + ${r.int(1000) / 100} WHERE id = ${1 + r.int(600)}`,
    () => `UPDATE orders SET note = ${t()} WHERE id = ${1 + r.int(600)}`,
    () => `DELETE FROM orders WHERE id = ${1 + r.int(600)}`,
    () => `UPDATE orders SET id = ${fresh()} WHERE id = ${1 + r.int(600)}`,
    // pairs
    () => `INSERT INTO pairs VALUES (${r.int(15)}, ${r.int(25)}, ${r.int(100)}, ${t()}) ON CONFLICT (a, b) DO UPDATE SET v = EXCLUDED.v`,
    () => `UPDATE pairs SET v = ${r.int(100)} WHERE a = ${r.int(15)} AND b = ${r.int(20)}`,
    () => `UPDATE pairs SET b = ${fresh()} WHERE a = ${r.int(15)} AND b = ${r.int(25)}`,
    () => `UPDATE pairs SET a = ${r.int(15)}, b = ${fresh()} WHERE a = ${r.int(15)} AND b = ${r.int(25)}`,
    () => `DELETE FROM pairs WHERE a = ${r.int(15)} AND b = ${r.int(25)}`,
    // tags: text keys that need escaping, timestamptz and interval values
    () => `INSERT INTO tags VALUES (${lit(r.pick(NAMES) + r.int(300))}, ${r.int(10)}, now() - ${r.int(100000)} * interval '1 second', ${r.int(1000)} * interval '1 hour 1 second') ON CONFLICT (name) DO UPDATE SET n = EXCLUDED.n, at = EXCLUDED.at`,
    () => `UPDATE tags SET n = ${r.int(10)}, d = d + interval '1 month' WHERE name = ${lit(r.pick(NAMES) + r.int(300))}`,
    () => `UPDATE tags SET name = name || ${lit(r.pick(NAMES))} || ${fresh()} WHERE name = ${lit(r.pick(NAMES) + r.int(300))}`,
    () => `DELETE FROM tags WHERE name = ${lit(r.pick(NAMES) + r.int(300))}`,
  ]
  return r.pick(ops)()
}

async function worker(w, db, more) {
  const r = rng(SEED + 7919 * (w + 1))
  let counter = 0
  // Fresh keys no other writer uses: a PK change never collides.
  const fresh = () => 2000 + w * 1000000 + counter++
  while (more()) {
    stats.txns++
    const big = r.chance(0.02)
    const n = big ? 0 : 1 + r.int(6)
    try {
      await db.query('BEGIN')
      if (big) {
        const k = r.int(10)
        const q = await db.query(`UPDATE items SET n = (n + 1) % 100 WHERE k = ${k}`)
        stats.rowsChanged += q.rowCount
        stats.statements++
      }
      for (let i = 0; i < n; i++) {
        const q = await db.query(randomStatement(r, w, fresh))
        stats.rowsChanged += q.rowCount || 0
        stats.statements++
        // Sometimes keep the transaction open while others commit and
        // shapes take their snapshots.
        if (r.chance(0.15)) await sleep(r.int(40))
      }
      if (r.chance(0.05)) {
        await db.query('ROLLBACK')
        stats.rollbacks++
      } else {
        await db.query('COMMIT')
        stats.commits++
      }
    } catch (e) {
      stats.aborted++
      if (!['40P01', '23505', '40001'].includes(e.code)) fail(`writer ${w}: ${e.message}`)
      await db.query('ROLLBACK').catch(() => {})
    }
    if (r.chance(0.5)) await sleep(r.int(PAUSE_MS))
  }
}

// ------------------------------------------------------------------ clients

const clients = []

function follow(idx, spec) {
  const c = {
    idx, spec, desc: describe(spec), handles: new Set(), conflicts: [],
    errors: [], strictErrors: [], netErrors: 0, status5xx: 0, refetches: 0,
    rows: new Map(), startedAt: Date.now(),
  }
  const ac = new AbortController()
  c.ac = ac
  // Records what the client asked and got: handles, 409s (with the handle
  // the client had), 5xx and network errors.
  const fetchClient = async (input, init) => {
    const u = new URL(String(input))
    let res
    try {
      res = await fetch(input, init)
    } catch (e) {
      if (!ac.signal.aborted) c.netErrors++
      throw e
    }
    const h = res.headers.get('electric-handle')
    if (h) c.handles.add(h)
    if (res.status === 409) c.conflicts.push({ had: u.searchParams.get('handle'), got: h, offset: u.searchParams.get('offset'), at: Date.now() })
    else if (res.status >= 500) c.status5xx++
    return res
  }
  const params = { table: spec.table, replica: spec.replica }
  if (spec.where) params.where = spec.where
  if (spec.params) params.params = spec.params
  if (spec.columns) params.columns = spec.columns
  const s = new ShapeStream({
    url: URL_, params, signal: ac.signal, fetchClient, liveSse: spec.sse,
    backoffOptions: { initialDelay: 50, maxDelay: 1000, multiplier: 1.5 },
    onError: (e) => {
      if (ac.signal.aborted) return
      c.errors.push(String(e && e.message || e))
      return {} // keep going: a stream that stops cannot converge
    },
  })
  c.stream = s
  c.shape = new Shape(s)
  s.subscribe((msgs) => {
    for (const m of msgs) {
      if (m.headers && m.headers.control === 'must-refetch') {
        c.refetches++
        c.rows.clear()
      }
      if (isChangeMessage(m)) strictApply(c.rows, m, c.strictErrors)
    }
  })
  clients.push(c)
  return c
}

// The raw log of a shape over HTTP, non-live, from offset=-1 until an
// up-to-date that covers `lsn`, replayed strictly.
async function rawReplay(spec, lsn) {
  const rows = new Map()
  const errors = []
  const q = new URLSearchParams({ table: spec.table, replica: spec.replica })
  if (spec.where) q.set('where', spec.where)
  if (spec.params) for (const [k, v] of Object.entries(spec.params)) q.set(`params[${k}]`, v)
  if (spec.columns) q.set('columns', spec.columns.join(','))
  let offset = '-1'
  let handle = null
  let requests = 0
  const until = Date.now() + WAIT_MS
  for (;;) {
    if (Date.now() > until) throw new Error(`raw log: no up-to-date past ${lsn} at ${offset}`)
    const u = new URLSearchParams(q)
    u.set('offset', offset)
    if (handle) u.set('handle', handle)
    let res
    try {
      res = await fetch(`${URL_}?${u}`)
    } catch (e) {
      if (!CRASH) throw e
      await sleep(100)
      continue
    }
    requests++
    if (res.status === 409) throw new Error(`raw log: 409 at ${offset} for handle ${handle}`)
    if (res.status >= 500 && CRASH) { await sleep(100); continue }
    if (res.status !== 200) throw new Error(`raw log: HTTP ${res.status}: ${await res.text()}`)
    const body = await res.json()
    const h = res.headers.get('electric-handle')
    if (handle && h !== handle) throw new Error(`raw log: handle changed ${handle} -> ${h}`)
    handle = h
    offset = res.headers.get('electric-offset')
    let upToDate = null
    for (const m of body) {
      if (m.headers && m.headers.control === 'up-to-date') upToDate = m
      else if (m.headers && m.headers.control) continue
      else strictApply(rows, m, errors)
    }
    if (upToDate) {
      const seen = BigInt(upToDate.headers.global_last_seen_lsn || 0)
      if (seen >= lsn) return { rows, errors, handle, offset, requests }
      await sleep(100) // store has not made the last write durable yet
    }
  }
}

// ------------------------------------------------------------------ crashes

const kills = Object.fromEntries(STAGES.map((st) => [st, 0]))
const slotChecks = { n: 0, maxLag: 0n }
let creationWaiters = []
const shapeCreated = () => { for (const f of creationWaiters) f(); creationWaiters = [] }
const nextCreation = (ms) => new Promise((res) => {
  creationWaiters.push(res)
  setTimeout(res, ms)
})

// The live (not zombie) child of the supervisor running `stage`.
function stagePid(stage) {
  const comm = stage.slice(0, 15) // the kernel keeps 15 characters
  for (const d of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(d)) continue
    let st
    try {
      st = readFileSync(`/proc/${d}/stat`, 'utf8')
    } catch {
      continue
    }
    const close = st.lastIndexOf(')')
    const name = st.slice(st.indexOf('(') + 1, close)
    const [state, ppid] = st.slice(close + 2).split(' ')
    if (Number(ppid) === SUP_PID && name === comm && state !== 'Z') return Number(d)
  }
  return 0
}

// The slot is never acknowledged past what store has made durable: read
// the slot first, then durable_lsn (which only grows).
async function checkSlot(admin) {
  const q = await admin.query('SELECT confirmed_flush_lsn AS l FROM pg_replication_slots WHERE slot_name = $1', [env.SLOT || 'shapesync'])
  if (!q.rows.length || !q.rows[0].l) return
  const confirmed = lsnToBig(q.rows[0].l)
  const st = JSON.parse(execFileSync('shapesync-db', ['--registry', env.SS_REGISTRY, '--dir', env.SS_DATA, 'stats', '--json'], { encoding: 'utf8' }))
  // Before store has made anything durable the slot stays where it was
  // created (SLOT_START), which replicate never acknowledges below.
  let durable = lsnToBig(st.durable_lsn)
  if (env.SLOT_START && lsnToBig(env.SLOT_START) > durable) durable = lsnToBig(env.SLOT_START)
  slotChecks.n++
  if (confirmed > durable) fail(`slot acknowledged ${q.rows[0].l} past the durable LSN ${st.durable_lsn} (slot created at ${env.SLOT_START})`)
  else if (durable - confirmed > slotChecks.maxLag) slotChecks.maxLag = durable - confirmed
}

// Kill every stage KILLS times at random moments: a while after it
// (re)started, or just after a shape's creation began (route's mark, the
// snapshot, store waiting for it). shapesync up restarts a unit (the
// pipeline; serve) with a backoff that doubles up to 30 s unless the unit
// ran for 10 s, so after QUICK kills in a row a unit is left running for
// HEALTHY_MS before its next kill, which keeps restarts quick. The
// pipeline's three stages are killed in shuffled rounds; serve's kills
// are spread over the same time.
const QUICK = 4
const HEALTHY_MS = 10500

async function waitPid(st) {
  const until = Date.now() + 60000
  for (;;) {
    const pid = stagePid(st)
    if (pid) return pid
    if (Date.now() > until) throw new Error(`${st} did not come back within 60 s`)
    await sleep(20)
  }
}

async function unitKiller(admin, stages, r, extraGap) {
  let quick = 0
  const left = () => stages.filter((st) => kills[st] < KILLS)
  while (left().length) {
    const round = left()
    for (let i = round.length - 1; i > 0; i--) {
      const j = r.int(i + 1);
      [round[i], round[j]] = [round[j], round[i]]
    }
    for (const st of round) {
      for (;;) {
        const pid = await waitPid(st)
        const seen = Date.now()
        const healthy = quick >= QUICK
        if (healthy) {
          await sleep(seen + HEALTHY_MS + r.int(300) - Date.now())
        } else {
          if (extraGap) await sleep(r.int(extraGap))
          if (r.chance(0.4)) {
            await nextCreation(1500)
            await sleep(r.int(60))
          } else {
            await sleep(50 + r.int(500))
          }
        }
        if (stagePid(st) !== pid) continue // restarted meanwhile: again
        try {
          process.kill(pid, 'SIGKILL')
        } catch {
          continue
        }
        kills[st]++
        quick = healthy ? 0 : quick + 1
        break
      }
      await checkSlot(admin)
    }
  }
}

async function killer(admin) {
  const r = rng(SEED ^ 0x5eed)
  await Promise.all([
    unitKiller(admin, STAGES.slice(0, 3), rng(r.int(2 ** 32)), 0),
    unitKiller(admin, STAGES.slice(3), rng(r.int(2 ** 32)), 6000),
  ])
}

// Handles of shapes serve removed because their creation did not finish
// (serve killed while creating them), or whose creation failed.
function cutShort() {
  const log = env.LOG ? readFileSync(env.LOG, 'utf8') : ''
  const removed = new Set()
  const failed = new Set()
  for (const m of log.matchAll(/removing shape (\S+): its creation did not finish/g)) removed.add(m[1])
  for (const m of log.matchAll(/could not create shape (\S+):/g)) failed.add(m[1])
  return { removed, failed }
}

// ------------------------------------------------------------------ main

async function main() {
  const pool = []
  for (let i = 0; i < WORKERS + 1; i++) {
    const db = new pg.Client()
    await db.connect()
    pool.push(db)
  }
  const admin = pool[WORKERS]
  // Render values as the pipeline's sessions do (lib/pgq.c, where.h).
  await admin.query(`SET DateStyle = 'ISO, DMY'; SET TimeZone = 'UTC'; SET extra_float_digits = 1; SET IntervalStyle = 'iso_8601'`)
  await admin.query(SCHEMA())

  const specs = []
  for (let i = 0; i < NSHAPES; i++) specs.push(randomShape(R))
  const start = Date.now()
  const until = start + WRITE_MS
  // With crashes, writes go on until every kill is done.
  let killing = null
  let killsDone = !CRASH
  if (CRASH) {
    killing = killer(admin).finally(() => { killsDone = true })
    killing.catch(() => {})
  }
  const writeMore = () => Date.now() < until || !killsDone
  const writers = pool.slice(0, WORKERS).map((db, w) => worker(w, db, writeMore))
  // Shapes come at random moments of the load, the last well before its
  // end; a fifth of them in one burst (route marks several at once, serve
  // snapshots them concurrently, some share a definition).
  const span = Math.floor(WRITE_MS * 0.85)
  const burst = R.int(span)
  const times = specs.map(() => (R.chance(0.2) ? burst + R.int(50) : R.int(span))).sort((a, b) => a - b)
  const creating = (async () => {
    for (let i = 0; i < specs.length; i++) {
      const wait = start + times[i] - Date.now()
      if (wait > 0) await sleep(wait)
      follow(i, specs[i])
      shapeCreated()
    }
  })()
  await Promise.all([...writers, creating])
  if (killing) {
    try {
      await killing
    } catch (e) {
      fail(e.message)
    }
    say(`kills: ${STAGES.map((st) => `${st} ${kills[st]}`).join(', ')}, in ${Date.now() - start} ms`)
  }
  const lsn = lsnToBig((await admin.query('SELECT pg_current_wal_lsn() AS l')).rows[0].l)
  say(`writes: ${stats.txns} transactions (${stats.commits} committed, ${stats.rollbacks} rolled back, ${stats.aborted} aborted by conflicts), ${stats.statements} statements, ${stats.rowsChanged} rows changed, in ${Date.now() - start} ms on ${WORKERS} connections`)
  say(`end LSN ${lsn}`)

  // Every client must get past the end LSN and equal SELECT.
  let totalRows = 0
  const checkUntil = Date.now() + WAIT_MS
  for (const c of clients) {
    const want = await expected(admin, c.spec)
    const cols = c.spec.columns || TABLES[c.spec.table].cols
    totalRows += want.size
    let raw
    try {
      raw = await rawReplay(c.spec, lsn)
    } catch (e) {
      fail(`shape ${c.idx} (${c.desc}): ${e.message}`)
      continue
    }
    c.raw = raw
    if (raw.errors.length) fail(`shape ${c.idx} (${c.desc}) raw log: ${raw.errors.length} strict errors: ${raw.errors.slice(0, 5).join('; ')}`)
    const d = diff(raw.rows, want, cols)
    if (d) fail(`shape ${c.idx} (${c.desc}) raw log vs SELECT: ${d}`)
    // The client is past the raw log's end (or on another handle after a
    // legitimate 409, which the raw log then follows too) and up to date.
    for (;;) {
      const s = c.stream
      const past = s.shapeHandle === raw.handle && s.isUpToDate &&
        offsetCmp(s.lastOffset, raw.offset) >= 0
      if (past && !diff(mapOf(c), want, cols)) break
      if (Date.now() > checkUntil) {
        fail(`shape ${c.idx} (${c.desc}): client not converged: handle ${s.shapeHandle} (raw ${raw.handle}), offset ${s.lastOffset} (raw ${raw.offset}), up-to-date ${s.isUpToDate}: ${diff(mapOf(c), want, cols)}; errors ${c.errors.slice(0, 3)}`)
        break
      }
      await sleep(50)
    }
    const ds = diff(c.rows, want, cols)
    if (ds) fail(`shape ${c.idx} (${c.desc}) strict client view vs SELECT: ${ds}`)
    if (c.strictErrors.length) fail(`shape ${c.idx} (${c.desc}) client stream: ${c.strictErrors.length} strict errors: ${c.strictErrors.slice(0, 5).join('; ')}`)
    if (!CRASH) {
      if (c.conflicts.length) fail(`shape ${c.idx} (${c.desc}): ${c.conflicts.length} 409s: ${JSON.stringify(c.conflicts.slice(0, 3))}`)
      if (c.errors.length) fail(`shape ${c.idx} (${c.desc}): client errors: ${c.errors.slice(0, 3).join('; ')}`)
      if (c.netErrors || c.status5xx) fail(`shape ${c.idx} (${c.desc}): ${c.netErrors} network errors, ${c.status5xx} 5xx`)
    }
  }

  // 409s are legitimate only for shapes whose creation was cut short.
  const conflicts = clients.flatMap((c) => c.conflicts.map((x) => ({ ...x, c })))
  const legit = { removed: 0, failed: 0 }
  let cut = { removed: new Set(), failed: new Set() }
  if (CRASH) {
    cut = cutShort()
    await checkSlot(admin)
    for (const x of conflicts) {
      if (x.had && cut.removed.has(x.had)) legit.removed++
      else if (x.had && cut.failed.has(x.had)) legit.failed++
      else fail(`shape ${x.c.idx} (${x.c.desc}): 409 for handle ${x.had} at offset ${x.offset} (new ${x.got}), not a shape whose creation was cut short`)
    }
  }

  const handles = new Set(clients.map((c) => c.raw && c.raw.handle).filter(Boolean))
  const perTable = Object.keys(TABLES).map((t) => `${t} ${clients.filter((c) => c.spec.table === t).length}`).join(', ')
  say(`shapes: ${clients.length} clients (${perTable}), ${handles.size} distinct shapes, ${clients.filter((c) => c.spec.replica === 'full').length} with replica=full, ${clients.filter((c) => c.spec.sse).length} live by SSE, ${totalRows} rows at the end`)
  say(`raw log requests: ${clients.reduce((a, c) => a + (c.raw ? c.raw.requests : 0), 0)}`)
  say(`client: ${conflicts.length} 409s (${legit.removed} for shapes serve removed because a kill cut their creation short, ${legit.failed} for shapes whose creation failed), ${clients.reduce((a, c) => a + c.refetches, 0)} must-refetch, ${clients.reduce((a, c) => a + c.netErrors, 0)} network errors, ${clients.reduce((a, c) => a + c.status5xx, 0)} 5xx responses`)
  if (CRASH) {
    say(`serve removed ${cut.removed.size} half-created shapes, ${cut.failed.size} creations failed`)
    say(`slot checks: ${slotChecks.n}, confirmed_flush_lsn never past durable_lsn (largest lag ${slotChecks.maxLag} bytes)`)
  }
  if (env.RESULT_FILE) {
    writeFileSync(env.RESULT_FILE, JSON.stringify({
      seed: SEED, ...stats, shapes: clients.length, distinct: handles.size, rows: totalRows,
      conflicts: conflicts.length, legit409: legit, kills, failures: failures.length,
    }) + '\n')
  }
  for (const c of clients) c.ac.abort()
  for (const db of pool) await db.end()
  if (failures.length) {
    say(`${failures.length} failures (SEED=${SEED})`)
    process.exit(1)
  }
  say('every client and every raw log equal SELECT')
  process.exit(0)
}

function mapOf(c) {
  const m = new Map()
  for (const [k, v] of c.shape.currentValue) m.set(k, v)
  return m
}

main().catch((e) => {
  console.log(`# FAIL: ${e && e.stack || e}`)
  process.exit(1)
})
