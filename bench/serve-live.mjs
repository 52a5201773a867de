// bench/serve-live.mjs — live clients for bench/serve-live.sh, on raw
// sockets (node's net module, no dependencies).
//
//   node serve-live.mjs idle URL PATH COUNT
//       open COUNT connections, each sending one live request (PATH),
//       print "ready" once all are sent, then hold them until stdin ends.
//   node serve-live.mjs latency URL TABLE HANDLE OFFSET COUNT ROUNDS
//       COUNT clients follow the shape live; each round runs one INSERT
//       through psql and times, for every client, commit -> response.
//       Prints p50 and p99 in ms over all samples.
import net from 'node:net'
import { execFileSync } from 'node:child_process'

const [mode, url] = process.argv.slice(2, 4)
const { hostname, port } = new URL(url)

function request(sock, path) {
  sock.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\nConnection: keep-alive\r\n\r\n`)
}

if (mode === 'idle') {
  const [path, count] = [process.argv[4], Number(process.argv[5])]
  let connected = 0
  const socks = []
  for (let i = 0; i < count; i++) {
    const s = net.connect({ host: hostname, port: Number(port) }, () => {
      request(s, path)
      if (++connected === count) console.log('ready')
    })
    s.on('error', (e) => { console.error(`socket ${i}: ${e.message}`); process.exit(1) })
    s.on('data', () => {})
    socks.push(s)
  }
  process.stdin.on('end', () => { for (const s of socks) s.destroy(); process.exit(0) })
  process.stdin.resume()
} else if (mode === 'latency') {
  const [table, handle, offset0, count, rounds] =
    [process.argv[4], process.argv[5], process.argv[6], Number(process.argv[7]), Number(process.argv[8])]
  const samples = []
  let offset = offset0
  const clients = []
  for (let i = 0; i < count; i++) {
    const c = { sock: net.connect({ host: hostname, port: Number(port) }), buf: '', done: null }
    c.sock.setNoDelay(true)
    c.sock.on('data', (d) => {
      c.buf += d.toString('latin1')
      const he = c.buf.indexOf('\r\n\r\n')
      if (he < 0) return
      const m = /content-length: (\d+)/i.exec(c.buf.slice(0, he))
      const len = m ? Number(m[1]) : 0
      if (c.buf.length < he + 4 + len) return
      const head = c.buf.slice(0, he)
      c.buf = c.buf.slice(he + 4 + len)
      const off = /electric-offset: (\S+)/i.exec(head)[1]
      c.done({ t: process.hrtime.bigint(), off })
    })
    c.sock.on('error', (e) => { console.error(e.message); process.exit(1) })
    clients.push(c)
  }
  const path = (off) => `/v1/shape?table=${table}&handle=${handle}&offset=${off}&live=true`
  for (let r = 0; r < rounds; r++) {
    const waits = clients.map((c) => new Promise((res) => { c.done = res }))
    for (const c of clients) request(c.sock, path(offset))
    await new Promise((res) => setTimeout(res, 300)) // all waiting
    const t0 = process.hrtime.bigint()
    execFileSync('psql', ['-X', '-q', '-c', `INSERT INTO ${table} (v) VALUES (${r})`])
    const t1 = process.hrtime.bigint()
    const got = await Promise.all(waits)
    // The commit happened between t0 and t1; count from its end (t1),
    // which leans towards lower numbers by at most psql's exit time.
    for (const g of got) samples.push(Number(g.t - t1) / 1e6)
    offset = got[0].off
  }
  samples.sort((a, b) => a - b)
  const q = (p) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))]
  console.log(`samples ${samples.length} p50 ${q(0.5).toFixed(1)} p99 ${q(0.99).toFixed(1)} max ${samples[samples.length - 1].toFixed(1)}`)
  for (const c of clients) c.sock.destroy()
}
