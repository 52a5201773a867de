// tests/e2e/statuspage.mjs — serve's operator's page in Chromium, checked
// against /metrics. The page at METRICS_URL/?every=250 must show exactly
// the values /metrics has (read here with a parser of this test's own),
// and follow them live: a first shape request (shapes 1, bytes served),
// a live request waiting (1 client waiting), a write that answers it
// (0 waiting, more bytes), and a stage that stops beating (SIGSTOP to
// ROUTE_PID: route down, health "waiting"; SIGCONT: up again).
// A screenshot is written to OUTDIR/statuspage-*.png at each step, and
// OUTDIR/statuspage-failed.png when a check fails.
//
// Usage: node statuspage.mjs OUTDIR ROUTE_PID
//        (METRICS_URL, SERVE_URL, DATABASE_URL in the environment)
import assert from 'node:assert/strict'
import pg from 'pg'
import { launch, until } from './browser.mjs'

const [outdir, routePid] = process.argv.slice(2)
const { METRICS_URL, SERVE_URL, DATABASE_URL } = process.env

// /metrics as the page must show it: name -> text of the value.
async function expected() {
  const text = await (await fetch(`${METRICS_URL}/metrics`)).text()
  const v = {}
  const lines = text.split('\n').filter((l) => l && !l.startsWith('#'))
  const get = (k) => {
    const l = lines.find((x) => x.startsWith(k + ' '))
    return l === undefined ? '-' : l.slice(k.length + 1)
  }
  v.shapes = get('electric_shapes_total_shapes_count')
  v.active = get('electric_shapes_active_shapes_count')
  v.waiting = get('shapesync_serve_waiting_requests')
  v.bytes = get('shapesync_serve_body_bytes')
  v.flush_lag = get('electric_postgres_replication_slot_confirmed_flush_lsn_lag')
  v.retained_wal = get('electric_postgres_replication_slot_retained_wal_size')
  const lag = 'electric_postgres_replication_transaction_received_receive_lag'
  const n = get(lag + '_count')
  v.transactions = n
  v.receive_lag_ms = n === '-' ? '-' : n === '0' ? '0' : String(Math.round(Number(get(lag + '_sum')) / Number(n)))
  for (const l of lines) {
    let m = /^shapesync_health_status\{status="(\w+)"\} 1$/.exec(l)
    if (m) v.health = m[1]
    m = /^shapesync_stage_up\{stage="(\w+)"\} ([01])$/.exec(l)
    if (m) v[`stage_up:${m[1]}`] = m[2] === '1' ? 'yes' : 'no'
    m = /^shapesync_stage_rss_bytes\{stage="(\w+)"\} \d+$/.exec(l)
    if (m && !v[`stage_up:${m[1]}`]) v[`stage_up:${m[1]}`] = '-' // serve: no heartbeat of its own
    m = /^electric_plug_serve_shape_requests_count\{status="(\d+)"\} (\d+)$/.exec(l)
    if (m) v[`requests:${m[1]}`] = m[2]
  }
  return v
}

// What the page shows: data-metric -> text (heartbeat ages and memory
// change every second: only their form is checked, in shown()).
async function shown(page) {
  const v = await page.evaluate(() => {
    const o = {}
    for (const e of document.querySelectorAll('[data-metric]')) o[e.dataset.metric] = e.textContent
    return o
  })
  for (const k of Object.keys(v)) {
    if (k.startsWith('stage_age:') || k.startsWith('stage_rss:')) {
      assert.match(v[k], k === 'stage_age:serve' ? /^-$/ : /^\d+$/, `${k} shows '${v[k]}'`)
      delete v[k]
    }
  }
  return v
}

let page, step = 0
// The page and /metrics agree (the page rescrapes every 250 ms, so wait
// for it to catch up), and `want` holds of what both show.
async function agree(what, want = {}) {
  let last
  const ok = await until(async () => {
    const [s, e] = [await shown(page), await expected()]
    last = { shown: s, metrics: e }
    try {
      assert.deepEqual(s, e)
      for (const [k, x] of Object.entries(want)) assert.equal(s[k], typeof x === 'function' ? x(s[k]) : x)
      return true
    } catch {
      return false
    }
  })
  await page.screenshot({ path: `${outdir}/statuspage-${++step}.png`, fullPage: true })
  if (!ok) {
    assert.deepEqual(last.shown, last.metrics, `${what}: the page differs from /metrics`)
    for (const [k, x] of Object.entries(want))
      assert.equal(last.shown[k], typeof x === 'function' ? x(last.shown[k]) : x, `${what}: ${k}`)
  }
  console.log(`ok: ${what}: ${JSON.stringify(last.shown)}`)
  return last.shown
}

const browser = await launch()
try {
  page = await browser.newPage({ viewport: { width: 900, height: 1000 } })
  const errors = []
  page.on('pageerror', (e) => errors.push(e.message))
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()))
  const r = await page.goto(`${METRICS_URL}/?every=250`)
  assert.equal(r.status(), 200)
  assert.equal(await page.title(), 'shapesync')

  let s = await agree('at the start, every stage active', {
    health: 'active', shapes: '0', waiting: '0', bytes: '0',
    'stage_up:replicate': 'yes', 'stage_up:route': 'yes', 'stage_up:store': 'yes',
  })
  const scrapes = Number(await page.getAttribute('#state', 'data-scrapes'))

  // A first request: one shape, its bytes served.
  const first = await fetch(`${SERVE_URL}/v1/shape?table=items&offset=-1`)
  assert.equal(first.status, 200)
  const body = await first.text()
  const handle = first.headers.get('electric-handle')
  let offset = first.headers.get('electric-offset')
  s = await agree('after a first request', { shapes: '1', 'requests:200': '1', bytes: (v) => (Number(v) >= body.length ? v : 'more') })
  // Catch up, then wait live.
  for (let i = 0; i < 20; i++) {
    const res = await fetch(`${SERVE_URL}/v1/shape?table=items&handle=${handle}&offset=${offset}`)
    offset = res.headers.get('electric-offset')
    if ((await res.text()).includes('up-to-date')) break
  }
  const live = fetch(`${SERVE_URL}/v1/shape?table=items&handle=${handle}&offset=${offset}&live=true`)
  s = await agree('a live request waits', { waiting: '1' })
  const bytesBefore = Number(s.bytes)

  // A write answers it.
  const c = new pg.Client({ connectionString: DATABASE_URL })
  await c.connect()
  await c.query("INSERT INTO items VALUES (100, 'from the status page test')")
  await c.end()
  const answered = await live
  assert.equal(answered.status, 200)
  assert.match(await answered.text(), /from the status page test/)
  s = await agree('the write answered it', { waiting: '0', bytes: (v) => (Number(v) > bytesBefore ? v : 'more') })

  // A stage that stops beating: route down, health waiting; then back.
  process.kill(Number(routePid), 'SIGSTOP')
  try {
    await agree('route stopped', { 'stage_up:route': 'no', health: 'waiting' })
  } finally {
    process.kill(Number(routePid), 'SIGCONT')
  }
  await agree('route again', { 'stage_up:route': 'yes', health: 'active' })
  const later = Number(await page.getAttribute('#state', 'data-scrapes'))
  assert.ok(later > scrapes, `the page scraped again (${scrapes} then ${later})`)
  assert.deepEqual(errors, [], 'no errors in the page')
} catch (e) {
  if (page) await page.screenshot({ path: `${outdir}/statuspage-failed.png`, fullPage: true }).catch(() => {})
  throw e
} finally {
  await browser.close()
}
