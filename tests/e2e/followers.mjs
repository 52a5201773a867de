// tests/e2e/followers.mjs — many applications following one shape live,
// in one process: each CLIENT is the official client's ShapeStream,
// started from offset -1 or resumed from a state resume.mjs saved (its
// handle, offset and rows), applying every change message to its rows.
//
// Each client writes, when its stream is up to date (at most every 300
// ms, and always after the last change), DIR/NAME (the rows as follow.mjs
// writes them: "id|column=value,..." sorted by id), DIR/NAME.refetch
// (must-refetch messages seen), DIR/NAME.msgs (change messages received)
// and DIR/NAME.bad: the messages that cannot be right for a client that
// gets every change once, in order (an insert of a key it holds, an
// update or delete of a key it does not), each a line; a duplicate or a
// gap shows there even when the rows end right. Runs until SIGTERM.
//
// Usage: node followers.mjs DIR TABLE CLIENT...   (SERVE_URL set)
//   CLIENT is NAME (from -1) or NAME=STATE (resume from STATE)
import { existsSync, readFileSync, writeFileSync, renameSync, appendFileSync } from 'node:fs'
import { ShapeStream, isChangeMessage, isControlMessage } from '@electric-sql/client'

const [dir, table, ...clients] = process.argv.slice(2)

function atomic(path, text) {
  writeFileSync(`${path}.tmp`, text)
  renameSync(`${path}.tmp`, path)
}

function line(row) {
  const cols = Object.keys(row).filter((k) => k !== 'id').sort()
  return `${row.id}|${cols.map((k) => `${k}=${row[k]}`).join(',')}`
}

function follow(spec) {
  const [name, statePath] = spec.split('=')
  const out = `${dir}/${name}`
  let rows = new Map()
  const opts = {
    url: `${process.env.SERVE_URL}/v1/shape`,
    params: { table },
    onError: (e) => {
      console.error(`followers: ${name}: ${e.status ?? ''} ${e.message}`)
      return {}
    },
  }
  if (statePath && existsSync(statePath)) {
    const st = JSON.parse(readFileSync(statePath, 'utf8'))
    opts.handle = st.handle
    opts.offset = st.offset
    rows = new Map(Object.entries(st.rows))
  }
  const stream = new ShapeStream(opts)
  let refetches = 0
  let msgs = 0
  let timer = null
  let last = 0

  function bad(what) {
    appendFileSync(`${out}.bad`, `${what}\n`)
  }

  function save() {
    timer = null
    last = Date.now()
    const text = [...rows.values()]
      .sort((a, b) => Number(a.id) - Number(b.id))
      .map(line)
      .join('\n')
    atomic(out, rows.size ? `${text}\n` : '')
    writeFileSync(`${out}.refetch`, `${refetches}\n`)
    writeFileSync(`${out}.msgs`, `${msgs}\n`)
  }

  writeFileSync(`${out}.bad`, '')
  stream.subscribe((batch) => {
    for (const m of batch) {
      if (isChangeMessage(m)) {
        msgs++
        const op = m.headers.operation
        const had = rows.has(m.key)
        if (op === 'insert') {
          if (had) bad(`insert of a key held: ${m.key} at ${m.offset}`)
          rows.set(m.key, { ...m.value })
        } else if (op === 'update') {
          if (!had) bad(`update of a key not held: ${m.key} at ${m.offset}`)
          rows.set(m.key, { ...rows.get(m.key), ...m.value })
        } else if (op === 'delete') {
          if (!had) bad(`delete of a key not held: ${m.key} at ${m.offset}`)
          rows.delete(m.key)
        }
      } else if (isControlMessage(m) && m.headers.control === 'must-refetch') {
        refetches++
        rows = new Map()
      }
    }
    if (!stream.isUpToDate || timer) return
    // Writing 1,000 rows for each of many clients at every change would
    // be the test's bottleneck: at most every 300 ms, the last always.
    timer = setTimeout(save, Math.max(0, 300 - (Date.now() - last)))
  })
}

for (const c of clients) follow(c)
process.on('SIGTERM', () => process.exit(0))
