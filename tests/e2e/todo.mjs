// tests/e2e/todo.mjs — examples/todo in Chromium: two pages of the app;
// an item added in page A (through the TanStack DB collection and the
// app's endpoint) appears in page B in both lists (useShape and the
// collection), and one ticked in B turns done in A; then B is reloaded
// and must resume: its rows come back without any request for the
// snapshot (offset=-1) reaching serve, and it stays live (a row written
// after the reload arrives). What reaches serve is the app server's
// stdout, ACCESS ("shape <query>" lines).
// Screenshots: OUTDIR/todo-*.png at each step, todo-failed-*.png on failure.
//
// Usage: node todo.mjs APP_URL ACCESS OUTDIR   (DATABASE_URL set)
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import pg from 'pg'
import { launch, until } from './browser.mjs'

const [app, access, outdir] = process.argv.slice(2)
const shapeLines = () => readFileSync(access, 'utf8').split('\n').filter((l) => l.startsWith('shape '))

// Titles of one list of a page, in order, with their status.
const list = (page, testid) =>
  page.$$eval(`[data-testid="${testid}"]`, (els) => els.map((e) => `${e.dataset.status}:${e.querySelector('.title').textContent}`))

async function both(page, want, what) {
  let last
  const ok = await until(async () => {
    last = [await list(page, 'shape-item'), await list(page, 'tsdb-item')]
    return JSON.stringify(last[0]) === JSON.stringify(want) && JSON.stringify(last[1]) === JSON.stringify(want)
  })
  assert.ok(ok, `${what}: useShape shows ${JSON.stringify(last[0])}, the collection ${JSON.stringify(last[1])}, want ${JSON.stringify(want)}`)
}

const browser = await launch()
const pages = {}
let step = 0
const shot = async (name) => {
  step++
  for (const [k, p] of Object.entries(pages)) await p.screenshot({ path: `${outdir}/todo-${step}-${name}-${k}.png`, fullPage: true })
}
try {
  const ctx = await browser.newContext({ viewport: { width: 900, height: 700 } })
  const errors = []
  for (const k of ['A', 'B']) {
    const p = await ctx.newPage()
    p.on('pageerror', (e) => errors.push(`${k}: ${e.message}`))
    pages[k] = p
    await p.goto(app)
  }
  const { A, B } = pages
  let want = [
    'done:Start shapesync up',
    'todo:Follow the items shape with curl',
    'todo:Follow it with the TypeScript client',
    'todo:Change a row in psql and watch it arrive',
    'todo:Compose the stages by hand',
  ]
  await both(A, want, 'page A at the start')
  await both(B, want, 'page B at the start')
  await shot('start')

  // A write in A: TanStack DB insert -> POST /api/items -> PostgreSQL ->
  // shapesync -> both lists of both pages.
  await A.fill('[data-testid="new-title"]', 'Written in page A')
  await A.click('[data-testid="add"]')
  want = [...want, 'todo:Written in page A']
  await both(B, want, 'page B after the write in A')
  await both(A, want, 'page A after its write')
  await shot('added')

  // A toggle in B: the collection's update -> PATCH -> A.
  await B.click('[aria-label="done: Compose the stages by hand"]')
  want = want.map((w) => (w === 'todo:Compose the stages by hand' ? 'done:Compose the stages by hand' : w))
  await both(A, want, 'page A after the toggle in B')
  await both(B, want, 'page B after its toggle')
  await shot('toggled')

  // Reload B: nothing of the snapshot may reach serve.
  const mark = shapeLines().length
  await B.reload()
  await both(B, want, 'page B after the reload')
  const c = new pg.Client({ connectionString: process.env.DATABASE_URL })
  await c.connect()
  await c.query("INSERT INTO items (id, title) VALUES (9000000000000000, 'Written after the reload')")
  await c.end()
  want = [...want, 'todo:Written after the reload']
  await both(B, want, 'page B live after the reload')
  await both(A, want, 'page A live')
  await shot('reloaded')
  const after = shapeLines().slice(mark)
  console.log(`requests that reached serve after the reload:\n  ${after.join('\n  ')}`)
  assert.deepEqual(after.filter((l) => /[?&]offset=-1(&|$)/.test(l)), [], 'no snapshot request after the reload')
  assert.ok(after.some((l) => /[?&]live=true/.test(l)), 'a live request after the reload')
  assert.deepEqual(errors, [], 'no errors in the pages')
  console.log('ok: two pages, a write in one appears in the other, a reload resumes without the snapshot')
} catch (e) {
  step = 'failed'
  await shot('failed').catch(() => {})
  throw e
} finally {
  await browser.close()
}
