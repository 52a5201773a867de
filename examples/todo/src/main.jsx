// examples/todo/src/main.jsx — one todo list (shapesync's demo table
// `items`) shown twice: on the left through `useShape` of
// @electric-sql/react, on the right through a TanStack DB collection
// (@tanstack/electric-db-collection) that also writes: insert and update
// go to this app's own endpoint (server.mjs), which answers with the
// PostgreSQL transaction id, and the collection waits for that txid to
// come back in the shape before it drops its optimistic state.
import { StrictMode, useState } from 'react'
import { createRoot } from 'react-dom/client'
import { useShape } from '@electric-sql/react'
import { createCollection, useLiveQuery } from '@tanstack/react-db'
import { electricCollectionOptions } from '@tanstack/electric-db-collection'

// Shapes come from this origin: server.mjs passes /v1/shape on to serve.
const shape = {
  url: new URL('/v1/shape', window.location.origin).href,
  params: { table: 'items' },
  parser: { int8: (v) => Number(v) }, // ids are bigint; small ones here
}

async function write(method, rows) {
  const r = await fetch('/api/items', {
    method,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(rows),
  })
  if (!r.ok) throw new Error(`${method} /api/items: ${r.status} ${await r.text()}`)
  return (await r.json()).txid
}

const items = createCollection(
  electricCollectionOptions({
    id: 'items',
    shapeOptions: shape,
    getKey: (row) => row.id,
    onInsert: async ({ transaction }) => ({
      txid: await write('POST', transaction.mutations.map((m) => m.modified)),
    }),
    onUpdate: async ({ transaction }) => ({
      txid: await write('PATCH', transaction.mutations.map((m) => ({ id: m.key, ...m.changes }))),
    }),
  })
)

function Row({ row, testid, onToggle }) {
  return (
    <li data-testid={testid} data-id={row.id} data-status={row.status}>
      {onToggle ? (
        <input type="checkbox" checked={row.status === 'done'} onChange={() => onToggle(row)} aria-label={`done: ${row.title}`} />
      ) : (
        <span>{row.status === 'done' ? '☑ ' : '☐ '}</span>
      )}
      <span className="title">{row.title}</span>
    </li>
  )
}

function ShapeList() {
  const { data, isLoading } = useShape(shape)
  if (isLoading) return <p>loading…</p>
  const rows = [...data].sort((a, b) => a.id - b.id)
  return (
    <ul data-testid="shape-list">
      {rows.map((row) => (
        <Row key={row.id} row={row} testid="shape-item" />
      ))}
    </ul>
  )
}

function CollectionList() {
  const { data } = useLiveQuery((q) => q.from({ item: items }).orderBy(({ item }) => item.id))
  const toggle = (row) =>
    items.update(row.id, (d) => {
      d.status = d.status === 'done' ? 'todo' : 'done'
    })
  return (
    <ul data-testid="tsdb-list">
      {data.map((row) => (
        <Row key={row.id} row={row} testid="tsdb-item" onToggle={toggle} />
      ))}
    </ul>
  )
}

function NewItem() {
  const [title, setTitle] = useState('')
  const add = (e) => {
    e.preventDefault()
    if (!title.trim()) return
    // A key of our own: Date.now() in microseconds stays a safe integer.
    items.insert({ id: Date.now() * 1000 + Math.floor(Math.random() * 1000), title: title.trim(), status: 'todo', priority: 0 })
    setTitle('')
  }
  return (
    <form onSubmit={add}>
      <input data-testid="new-title" value={title} onChange={(e) => setTitle(e.target.value)} placeholder="something to do" />
      <button data-testid="add" type="submit">Add</button>
    </form>
  )
}

function App() {
  return (
    <main style={{ font: '15px/1.5 system-ui, sans-serif', margin: '1.5em' }}>
      <h1 style={{ fontSize: '1.3em' }}>todo · shapesync</h1>
      <NewItem />
      <div style={{ display: 'flex', gap: '3em' }}>
        <section>
          <h2 style={{ fontSize: '1em' }}>useShape</h2>
          <ShapeList />
        </section>
        <section>
          <h2 style={{ fontSize: '1em' }}>TanStack DB collection</h2>
          <CollectionList />
        </section>
      </div>
    </main>
  )
}

createRoot(document.getElementById('root')).render(
  <StrictMode>
    <App />
  </StrictMode>
)
