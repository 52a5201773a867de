// tests/hostile.mjs — hostile clients with many connections, for
// t4003-serve-hostile-load.sh. Each command talks only to 127.0.0.1:PORT,
// is bounded in connections and time, and prints one summary line that the
// test compares exactly.
//
//   node hostile.mjs slow PORT N MS MAX_S
//       N connections each send a GET's request line and headers a byte
//       every MS ms. Prints "closed C answered A open O": connections the
//       server closed, ones that got any answer byte, ones still open
//       after MAX_S seconds (then dropped).
//   node hostile.mjs trickle PORT MS MAX_S
//       one POST announcing a 60000-byte body that comes a byte every MS
//       ms. Prints "closed C answered A open O" as above.
//   node hostile.mjs idle PORT N FILE MAX_S
//       opens N connections and sends nothing. Once every one is connected
//       or refused, and a second has passed, writes "open O refused R" to
//       FILE (refused: closed by the server within a second of connecting,
//       without an answer); then holds the open ones until FILE is removed
//       or MAX_S seconds pass. Prints "closed C" (closed by the server
//       while held) at the end.
//   node hostile.mjs flood PORT N
//       N concurrent GETs of N distinct new shapes (table items, where
//       id = 1000 + i). Prints one "COUNT STATUS BODY retry-after RANGE"
//       line per distinct answer, sorted; RANGE is the retry-after values'
//       min-max.
import net from 'node:net';
import http from 'node:http';
import fs from 'node:fs';

const [cmd, port, ...args] = process.argv.slice(2);
const now = () => Date.now();

function connect() {
  return net.connect({ host: '127.0.0.1', port: +port });
}

// Send `head` at once, then dribble `text` a byte every `ms` ms, on each of
// `n` connections.
function dribble(n, head, text, ms, maxS) {
  let closed = 0, answered = 0, open = 0;
  return Promise.all(Array.from({ length: n }, () => new Promise(done => {
    const s = connect();
    let i = 0, iv, got = 0, end = false;
    const fin = why => {
      if (end) return;
      end = true;
      clearInterval(iv);
      clearTimeout(to);
      if (why === 'open') open++; else closed++;
      if (got) answered++;
      s.destroy();
      done();
    };
    s.on('connect', () => {
      if (head) s.write(head);
      iv = setInterval(() => {
        if (i < text.length) s.write(text[i++]);
      }, ms);
    });
    s.on('data', d => { got += d.length; });
    s.on('close', () => fin('closed'));
    s.on('error', () => fin('closed'));
    const to = setTimeout(() => fin('open'), maxS * 1000);
  }))).then(() => console.log(`closed ${closed} answered ${answered} open ${open}`));
}

if (cmd === 'slow') {
  const [n, ms, maxS] = args.map(Number);
  await dribble(n, '', 'GET /v1/shape?table=items&offset=-1 HTTP/1.1\r\nHost: x\r\n' +
    'X-Slow: ' + 'a'.repeat(4096) + '\r\n\r\n', ms, maxS);
} else if (cmd === 'trickle') {
  const [ms, maxS] = args.map(Number);
  const head = 'POST /v1/shape?table=items&offset=-1 HTTP/1.1\r\nHost: x\r\n' +
    'Content-Type: application/json\r\nContent-Length: 60000\r\n\r\n';
  await dribble(1, head, '{"where":"' + ' '.repeat(60000), ms, maxS);
} else if (cmd === 'idle') {
  const n = +args[0], file = args[1], maxS = +args[2];
  let settled = 0, refused = 0, closedHeld = 0, reported = false;
  const socks = [];
  const stop = () => {
    for (const s of socks) s.destroy();
    console.log(`closed ${closedHeld}`);
    process.exit(0);
  };
  const report = () => {
    reported = true;
    const open = socks.filter(s => s.ss_open).length;
    fs.writeFileSync(file + '.tmp', `open ${open} refused ${refused}\n`);
    fs.renameSync(file + '.tmp', file);
    const iv = setInterval(() => { if (!fs.existsSync(file)) { clearInterval(iv); stop(); } }, 100);
  };
  const settle = () => { if (++settled === n) setTimeout(report, 1000); };
  for (let i = 0; i < n; i++) {
    const s = connect();
    let t0 = 0;
    s.on('connect', () => { t0 = now(); s.ss_open = true; settle(); });
    s.on('data', () => { s.ss_data = true; });
    s.on('error', () => {});
    // stop() prints before it destroys: every close seen here is the
    // server's (or a failed connect).
    s.on('close', () => {
      if (!s.ss_open) { settle(); return; } // never connected
      s.ss_open = false;
      if (!reported && !s.ss_data && now() - t0 < 1000) refused++;
      else closedHeld++;
    });
    socks.push(s);
  }
  setTimeout(stop, maxS * 1000);
} else if (cmd === 'flood') {
  const n = +args[0];
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const seen = new Map();
  await Promise.all(Array.from({ length: n }, (_, i) => new Promise(done => {
    const add = (key, ra) => {
      const e = seen.get(key) || { count: 0, min: Infinity, max: -Infinity };
      e.count++;
      if (ra !== undefined) { e.min = Math.min(e.min, +ra); e.max = Math.max(e.max, +ra); }
      seen.set(key, e);
      done();
    };
    const req = http.get({ host: '127.0.0.1', port: +port, agent,
      path: `/v1/shape?table=items&offset=-1&where=id%3D${1000 + i}` }, r => {
      let b = '';
      r.setEncoding('utf8');
      r.on('data', d => { if (r.statusCode !== 200) b += d; });
      r.on('end', () => add(`${r.statusCode} ${b || '-'}`, r.headers['retry-after']));
    });
    req.on('error', e => add(`error ${e.code}`));
    req.setTimeout(60000, () => req.destroy(new Error('timeout')));
  })));
  for (const [k, e] of [...seen].sort())
    console.log(`${e.count} ${k} retry-after ${e.count && e.min !== Infinity ? e.min + '-' + e.max : '-'}`);
} else {
  console.error(`hostile.mjs: unknown command '${cmd}'`);
  process.exit(2);
}
