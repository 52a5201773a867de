// examples/todo/server.mjs — the todo app's own server: the built app
// (dist/), its write endpoint and the shapes, on one origin.
//   GET  /v1/shape?...   passed on to shapesync-serve (SHAPE_URL) as it
//                        is, answer streamed back with its headers; one
//                        line per request on stdout ("shape <query>"),
//                        so what reaches serve can be seen
//   POST /api/items      [{id, title, status, priority}] inserted
//   PATCH /api/items     [{id, title?, status?, priority?}] updated
//                        both answer {"txid": N}, N the PostgreSQL
//                        transaction id of the write, which TanStack DB
//                        waits to see in the shape
//   GET  anything else   a file of dist/ (index.html for /)
// Environment: DATABASE_URL (the PostgreSQL serve follows), SHAPE_URL
// (serve, default http://127.0.0.1:3000), PORT (default 5180), HOST
// (default 127.0.0.1).
import http from 'node:http'
import { readFile } from 'node:fs/promises'
import { extname, join, normalize } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'

const dist = fileURLToPath(new URL('./dist/', import.meta.url))
const shapeUrl = process.env.SHAPE_URL || 'http://127.0.0.1:3000'
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 4 })
const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' }
const columns = ['title', 'status', 'priority']

function json(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}

async function body(req) {
  let s = ''
  for await (const c of req) s += c
  const rows = JSON.parse(s)
  if (!Array.isArray(rows)) throw new Error('expected an array of rows')
  return rows
}

// rows in one transaction; its id, as the shape's messages carry it.
async function write(rows, one) {
  const c = await pool.connect()
  try {
    await c.query('BEGIN')
    for (const r of rows) await one(c, r)
    const { rows: [t] } = await c.query('SELECT pg_current_xact_id()::xid::text AS txid')
    await c.query('COMMIT')
    return Number(t.txid)
  } catch (e) {
    await c.query('ROLLBACK').catch(() => {})
    throw e
  } finally {
    c.release()
  }
}

const insert = (c, r) =>
  c.query('INSERT INTO items (id, title, status, priority) VALUES ($1, $2, $3, $4)', [
    r.id, r.title, r.status ?? 'todo', r.priority ?? 0,
  ])

function update(c, r) {
  const set = columns.filter((k) => k in r)
  if (!set.length) return
  return c.query(
    `UPDATE items SET ${set.map((k, i) => `${k} = $${i + 2}`).join(', ')}, updated_at = now() WHERE id = $1`,
    [r.id, ...set.map((k) => r[k])]
  )
}

// Pass a shape request on to serve, streaming the answer (live requests
// wait there), and give up on it when the browser does.
function shape(req, res) {
  const url = new URL(req.url, shapeUrl)
  console.log(`shape ${url.search}`)
  const headers = { ...req.headers, host: url.host }
  const up = http.request(url, { method: req.method, headers }, (ur) => {
    res.writeHead(ur.statusCode, ur.headers)
    ur.pipe(res)
  })
  up.on('error', (e) => {
    if (!res.headersSent) json(res, 502, { message: `serve: ${e.message}` })
    else res.destroy()
  })
  res.on('close', () => up.destroy())
  up.end()
}

async function file(req, res) {
  const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname))
  const f = join(dist, path === '/' ? 'index.html' : path)
  if (!f.startsWith(dist)) return json(res, 404, { message: 'not found' })
  try {
    const data = await readFile(f)
    res.writeHead(200, { 'content-type': types[extname(f)] || 'application/octet-stream' })
    res.end(data)
  } catch {
    json(res, 404, { message: 'not found' })
  }
}

const server = http.createServer(async (req, res) => {
  try {
    if (req.url.startsWith('/v1/shape')) return shape(req, res)
    if (req.url === '/api/items' && req.method === 'POST') return json(res, 200, { txid: await write(await body(req), insert) })
    if (req.url === '/api/items' && req.method === 'PATCH') return json(res, 200, { txid: await write(await body(req), update) })
    if (req.method === 'GET') return file(req, res)
    json(res, 405, { message: 'method not allowed' })
  } catch (e) {
    json(res, 400, { message: e.message })
  }
})
server.listen(Number(process.env.PORT || 5180), process.env.HOST || '127.0.0.1', () => {
  const a = server.address()
  console.log(`todo: listening on http://${a.address}:${a.port}`)
})
// Live requests would hold close() up: end them, then the pool.
process.on('SIGTERM', () => {
  server.close(() => pool.end().then(() => process.exit(0)))
  server.closeAllConnections()
})
