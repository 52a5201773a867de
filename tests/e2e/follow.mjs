// tests/e2e/follow.mjs — follow one shape with the official client's Shape
// for as long as it runs, the way an application does, and let a shell test
// look at what it holds. Each time the stream is up to date it writes the
// rows to OUT (one "id|column=value,..." line per row, sorted by id; written
// to OUT.tmp, then renamed) and the number of must-refetch control messages
// seen so far to OUT.refetch. Errors are retried, as an application that
// wants to stay live would (onError returns {}), and logged to stderr.
//
// Usage: node follow.mjs OUT TABLE [WHERE]   (SERVE_URL in the environment)
import { writeFileSync, renameSync } from 'node:fs'
import { ShapeStream, Shape, isControlMessage } from '@electric-sql/client'

const [out, table, where] = process.argv.slice(2)
const params = { table }
if (where) params.where = where

const stream = new ShapeStream({
  url: `${process.env.SERVE_URL}/v1/shape`,
  params,
  onError: (e) => {
    console.error(`follow: ${e.status ?? ''} ${e.message}`)
    return {}
  },
})
const shape = new Shape(stream)
let refetches = 0

stream.subscribe((msgs) => {
  for (const m of msgs)
    if (isControlMessage(m) && m.headers.control === 'must-refetch') refetches++
})

function line(row) {
  const cols = Object.keys(row).filter((k) => k !== 'id').sort()
  return `${row.id}|${cols.map((k) => `${k}=${row[k]}`).join(',')}`
}

shape.subscribe(({ rows }) => {
  if (!stream.isUpToDate) return
  const text = [...rows]
    .sort((a, b) => Number(a.id) - Number(b.id))
    .map(line)
    .join('\n')
  writeFileSync(`${out}.tmp`, rows.length ? `${text}\n` : '')
  renameSync(`${out}.tmp`, out)
  // Renamed into place too: a reader never sees it empty, half written.
  writeFileSync(`${out}.refetch.tmp`, `${refetches}\n`)
  renameSync(`${out}.refetch.tmp`, `${out}.refetch`)
})

process.on('SIGTERM', () => process.exit(0))
