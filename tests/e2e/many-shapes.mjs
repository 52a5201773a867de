// tests/e2e/many-shapes.mjs — one page in Chromium that follows N shapes
// at once (items where id = 1..N), each with the Shape API's own loop
// (offset=-1, the log up to up-to-date, then live long-polls), as a page
// with many useShape calls does. It runs twice:
//   1. straight to serve over HTTP/1.1 (SERVE_URL): Chromium opens at
//      most six connections to one host, so six long-polls reach serve
//      and the other N - 6 wait in the browser: serve's
//      shapesync_serve_waiting_requests (METRICS_URL) stays at 6 while
//      the page has N requests outstanding: those shapes stall;
//   2. through nginx with deploy/nginx/shapesync-http2.conf (H2_URL,
//      HTTPS with a self-signed certificate whose key is trusted by its
//      SPKI hash, H2_SPKI): one HTTP/2 connection, all N long-polls wait
//      at serve, and a write to every row reaches every shape.
// The protocol of every answer is read from Chromium (DevTools
// Network.responseReceived). Screenshots: OUTDIR/many-*.png.
//
// Usage: node many-shapes.mjs N OUTDIR
//        (SERVE_URL, H2_URL, H2_SPKI, METRICS_URL, DATABASE_URL set)
import assert from 'node:assert/strict'
import http from 'node:http'
import pg from 'pg'
import { launch, until } from './browser.mjs'

const [n, outdir] = [Number(process.argv[2]), process.argv[3]]
const { SERVE_URL, H2_URL, H2_SPKI, METRICS_URL, DATABASE_URL } = process.env

const page_html = `<!doctype html>
<html><head><meta charset="utf-8"><title>many shapes</title>
<style>body{font:13px system-ui;margin:1em} td{padding:0 .6em}</style></head>
<body><h1 style="font-size:1.1em">shapes: <span id="base"></span></h1>
<table><thead><tr><th>shape</th><th>title</th><th>live answers</th><th>waiting</th></tr></thead><tbody id="rows"></tbody></table>
<script>
const p = new URLSearchParams(location.search)
const base = p.get('base'), n = Number(p.get('n'))
document.getElementById('base').textContent = base
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
window.shapes = Array.from({ length: n }, (_, i) => ({ id: i + 1, offset: '-1', handle: null, cursor: null, upToDate: false, lives: 0, title: null, pending: false, errors: 0 }))
const tbody = document.getElementById('rows')
for (const s of shapes) {
  const tr = document.createElement('tr')
  tr.innerHTML = '<td>' + s.id + '</td><td></td><td></td><td></td>'
  tbody.appendChild(tr)
  s.tr = tr
}
function render(s) {
  const c = s.tr.children
  c[1].textContent = s.title ?? ''
  c[2].textContent = String(s.lives)
  c[3].textContent = s.pending && s.upToDate ? 'live' : ''
}
async function follow(s) {
  for (;;) {
    const q = new URLSearchParams({ table: 'items', where: 'id = ' + s.id, offset: s.offset })
    if (s.handle) q.set('handle', s.handle)
    const live = s.upToDate
    if (live) {
      q.set('live', 'true')
      if (s.cursor) q.set('cursor', s.cursor)
    }
    s.pending = true
    render(s)
    let r
    try {
      r = await fetch(base + '/v1/shape?' + q)
    } catch (e) {
      s.errors++
      s.pending = false
      await sleep(500)
      continue
    }
    s.pending = false
    if (r.status === 409) {
      Object.assign(s, { offset: '-1', handle: null, cursor: null, upToDate: false })
      await r.text()
      continue
    }
    if (!r.ok) {
      s.errors++
      await r.text()
      await sleep(500)
      continue
    }
    s.handle = r.headers.get('electric-handle') || s.handle
    s.offset = r.headers.get('electric-offset') || s.offset
    s.cursor = r.headers.get('electric-cursor') || s.cursor
    const msgs = r.status === 204 ? [] : await r.json()
    for (const m of msgs) {
      if (m.headers && m.headers.control === 'up-to-date') s.upToDate = true
      else if (m.value && m.value.title !== undefined) s.title = m.value.title
    }
    if (live) s.lives++
    render(s)
  }
}
shapes.forEach(follow)
</script></body></html>`

// The page comes from an origin of its own, so that its shapes are
// cross-origin for both runs and share no connection with it.
const origin = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
  res.end(page_html)
})
await new Promise((r) => origin.listen(0, '127.0.0.1', r))
const pageUrl = `http://127.0.0.1:${origin.address().port}/`

async function waiting() {
  const t = await (await fetch(`${METRICS_URL}/metrics`)).text()
  return Number(/^shapesync_serve_waiting_requests (\d+)$/m.exec(t)[1])
}
const state = (page) =>
  page.evaluate(() => shapes.map((s) => ({ id: s.id, upToDate: s.upToDate, pending: s.pending, lives: s.lives, title: s.title, errors: s.errors })))

async function writeAll(tag) {
  const c = new pg.Client({ connectionString: DATABASE_URL })
  await c.connect()
  await c.query(`UPDATE items SET title = '${tag} ' || id WHERE id <= $1`, [n])
  await c.end()
}

// Follow the n shapes from base in a fresh page; resolves once every
// shape has a request outstanding (with `live`: is up to date, so that
// request is a long-poll) and serve's count of waiting requests has
// settled at `want`.
async function run(name, base, want, live) {
  const ctx = await browser.newContext({ viewport: { width: 700, height: 900 } })
  const page = await ctx.newPage()
  const protocols = new Set()
  const cdp = await ctx.newCDPSession(page)
  await cdp.send('Network.enable')
  cdp.on('Network.responseReceived', (e) => {
    if (e.response.url.includes('/v1/shape')) protocols.add(e.response.protocol)
  })
  await page.goto(`${pageUrl}?base=${encodeURIComponent(base)}&n=${n}`)
  let last
  const settled = await until(async () => {
    const s = await state(page)
    last = { waiting: await waiting(), shapes: s }
    return s.every((x) => (x.upToDate || !live) && x.pending) && last.waiting === want
  })
  await page.screenshot({ path: `${outdir}/many-${name}.png`, fullPage: true })
  assert.ok(settled, `${name}: want all ${n} shapes live with ${want} requests waiting at serve; serve has ${last.waiting}, the page ${JSON.stringify(last.shapes.filter((x) => !(x.upToDate && x.pending)))}`)
  return { ctx, page, protocols }
}

const browser = await launch([`--ignore-certificate-errors-spki-list=${H2_SPKI}`])
try {
  // 1. HTTP/1.1 straight to serve: 6 of n long-polls reach serve.
  // Some shapes do not even get their snapshot or catch-up through:
  // those requests queue behind the six long-polls too.
  const h1 = await run('http1', SERVE_URL, 6, false)
  // It stays so: a few more looks at serve's count, never more than 6.
  for (let i = 0; i < 10; i++) {
    const w = await waiting()
    assert.ok(w <= 6, `http1: ${w} requests waiting at serve, more than 6`)
    await new Promise((r) => setTimeout(r, 100))
  }
  assert.deepEqual([...h1.protocols], ['http/1.1'])
  const s1 = await state(h1.page)
  const behind = s1.filter((x) => !x.upToDate).map((x) => x.id)
  console.log(`ok: HTTP/1.1 to serve: ${n} requests outstanding in the page, 6 long-polls at serve, ${n - 6} stalled in the browser (shapes not even up to date: ${behind.join(' ') || 'none'})`)
  await h1.ctx.close()
  // Answer whatever the closed page left waiting at serve.
  await writeAll('between')
  assert.ok(await until(async () => (await waiting()) === 0), 'the closed page\'s long-polls ended')

  // 2. HTTP/2 through nginx: all n reach serve, and every write arrives.
  const h2 = await run('http2', H2_URL, n, true)
  assert.deepEqual([...h2.protocols], ['h2'])
  const before = await state(h2.page)
  await writeAll('changed')
  let last
  const all = await until(async () => {
    last = await state(h2.page)
    return last.every((s, i) => s.title === `changed ${s.id}` && s.lives > before[i].lives)
  })
  await h2.page.screenshot({ path: `${outdir}/many-http2-changed.png`, fullPage: true })
  assert.ok(all, `http2: not every shape got its write: ${JSON.stringify(last.filter((s) => s.title !== `changed ${s.id}`))}`)
  assert.ok(await until(async () => (await waiting()) === n), `http2: the ${n} shapes are live again`)
  assert.deepEqual(last.filter((s) => s.errors), [], 'no failed requests')
  console.log(`ok: HTTP/2 through nginx: ${n} long-polls at serve, a write to each of the ${n} rows reached its shape`)
  await h2.ctx.close()
} finally {
  await browser.close()
  origin.close()
}
