// tests/e2e/resume.mjs — an application that keeps its copy of a shape on
// disk and resumes from where it stopped, the way an offline-first app
// does: the official client's ShapeStream started from a saved handle and
// offset, its messages applied to the saved rows.
//
// STATE (JSON: handle, offset, rows by key) is read at start when it
// exists, and written each time the stream is up to date, with OUT (the
// rows as follow.mjs writes them: "id|column=value,..." sorted by id),
// OUT.refetch (must-refetch messages seen) and OUT.msgs (change messages
// received by this run). With --once it exits after the first up-to-date
// (a catch-up request, not live); else it follows until SIGTERM.
//
// Usage: node resume.mjs [--once] STATE OUT TABLE   (SERVE_URL set)
import { existsSync, readFileSync, writeFileSync, renameSync } from 'node:fs'
import { ShapeStream, isChangeMessage, isControlMessage } from '@electric-sql/client'

const args = process.argv.slice(2)
const once = args[0] === '--once'
if (once) args.shift()
const [statePath, out, table] = args

let state = { handle: undefined, offset: '-1', rows: {} }
if (existsSync(statePath)) state = JSON.parse(readFileSync(statePath, 'utf8'))

const opts = {
  url: `${process.env.SERVE_URL}/v1/shape`,
  params: { table },
  subscribe: !once,
  onError: (e) => {
    console.error(`resume: ${e.status ?? ''} ${e.message}`)
    return {}
  },
}
if (state.handle) {
  opts.handle = state.handle
  opts.offset = state.offset
}
const stream = new ShapeStream(opts)
let refetches = 0
let msgs = 0

function atomic(path, text) {
  writeFileSync(`${path}.tmp`, text)
  renameSync(`${path}.tmp`, path)
}

function line(row) {
  const cols = Object.keys(row).filter((k) => k !== 'id').sort()
  return `${row.id}|${cols.map((k) => `${k}=${row[k]}`).join(',')}`
}

function save() {
  state.handle = stream.shapeHandle
  state.offset = stream.lastOffset
  atomic(statePath, JSON.stringify(state))
  const rows = Object.values(state.rows)
  const text = rows
    .sort((a, b) => Number(a.id) - Number(b.id))
    .map(line)
    .join('\n')
  atomic(out, rows.length ? `${text}\n` : '')
  writeFileSync(`${out}.refetch`, `${refetches}\n`)
  writeFileSync(`${out}.msgs`, `${msgs}\n`)
}

stream.subscribe((batch) => {
  for (const m of batch) {
    if (isChangeMessage(m)) {
      msgs++
      const op = m.headers.operation
      if (op === 'insert') state.rows[m.key] = { ...m.value }
      else if (op === 'update') state.rows[m.key] = { ...state.rows[m.key], ...m.value }
      else if (op === 'delete') delete state.rows[m.key]
    } else if (isControlMessage(m) && m.headers.control === 'must-refetch') {
      refetches++
      state.rows = {}
    }
  }
  if (stream.isUpToDate) {
    save()
    if (once) process.exit(0)
  }
})

process.on('SIGTERM', () => process.exit(0))
