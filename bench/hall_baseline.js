// The baseline of the hall fan-out benchmark (bench/hall_bench.sh, docs/BENCHMARKS.md): a Node.js
// `ws` server that speaks the part of the hall protocol the load client uses (hello → welcome +
// snapshot, ping → pong, events pushed in seq order) and broadcasts each event to every
// connection of its hall, serialized once, as tenderd's hub does. It stores nothing and checks
// nothing: it is the cost of the fan-out alone.
//
//   node bench/hall_baseline.js --port 18080 [--snapshot-bytes 2048]
//   POST /broadcast?hall=<tender_id>&count=N&bytes=B&interval_ms=I   pushes N events of about B
//        bytes to every connection of that hall (all halls when no hall), answers when sent
//   GET  /stats                          {"connections","events","peak_rss_bytes","cpu_ms"}
//   node bench/hall_baseline.js --self-test 2000   runs N Node clients against itself and prints
//        the fan-out latency (for checking the baseline without the C++ load client)
'use strict';
const http = require('node:http');
const path = require('node:path');
const { WebSocketServer, WebSocket } = require(path.join(__dirname, 'node_modules', 'ws'));

function arg(name, fallback) {
  const i = process.argv.indexOf('--' + name);
  return i > 0 ? process.argv[i + 1] : fallback;
}
const port = Number(arg('port', '0'));
const snapshotBytes = Number(arg('snapshot-bytes', '2048'));
const selfTest = Number(arg('self-test', '0'));

// Microsecond UTC time as tenderd writes it (Date has milliseconds; the rest from hrtime).
const base = { wall: Date.now(), hr: process.hrtime.bigint() };
function nowMicros() { return BigInt(base.wall) * 1000n + (process.hrtime.bigint() - base.hr) / 1000n; }
function iso(us) {
  const ms = Number(us / 1000n);
  return new Date(ms).toISOString().slice(0, 19) + '.' + String(us % 1000000n).padStart(6, '0') + 'Z';
}

const halls = new Map(); // tender_id -> {conns:Set, seq}
function hallOf(id) {
  let h = halls.get(id);
  if (!h) { h = { conns: new Set(), seq: 1 }; halls.set(id, h); }
  return h;
}
let eventsSent = 0;
let peakRss = 0;
setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss); }, 100).unref();

const server = http.createServer((req, res) => {
  const u = new URL(req.url, 'http://x');
  if (req.method === 'GET' && u.pathname === '/stats') {
    const r = process.resourceUsage();
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    let connections = 0;
    for (const h of halls.values()) connections += h.conns.size;
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ connections, events: eventsSent, peak_rss_bytes: peakRss,
      cpu_ms: Math.round((r.userCPUTime + r.systemCPUTime) / 1000) }));
    return;
  }
  if (req.method === 'POST' && u.pathname === '/broadcast') {
    const count = Number(u.searchParams.get('count') || '1');
    const bytes = Number(u.searchParams.get('bytes') || '200');
    const interval = Number(u.searchParams.get('interval_ms') || '0');
    const only = u.searchParams.get('hall');
    const targets = only ? [hallOf(only)] : [...halls.values()];
    // Events happen on a fixed schedule, i × interval after the request, and carry that time as
    // `at` — as tenderd's events carry their commit time while the injector commits on its own
    // schedule. A server still busy with the previous event sends the next one late, and the
    // lateness is part of the latency measured.
    const start = nowMicros();
    let i = 0;
    const one = () => {
      const due = start + BigInt(i * interval) * 1000n;
      for (const h of targets) {
        const seq = ++h.seq;
        const msg = JSON.stringify({ type: 'event', seq, kind: 'decryption_status', at: iso(due), actor: null,
          data: { lot: 1, org_id: 'o-bench', status: 'done', attempts: 1, via: 'bidder', cause: null, side: null,
            treatment: null, message: null, pad: 'x'.repeat(Math.max(0, bytes - 220)) } });
        for (const c of h.conns) c.send(msg);
        eventsSent++;
      }
      if (++i < count) {
        const wait = Number(start + BigInt(i * interval) * 1000n - nowMicros()) / 1000;
        setTimeout(one, Math.max(0, wait));
      } else {
        res.end('{}');
      }
    };
    one();
    return;
  }
  res.statusCode = 404;
  res.end();
});

const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
server.on('upgrade', (req, socket, head) => {
  const m = /^\/ws\/halls\/([^/?]+)$/.exec(req.url);
  if (!m) { socket.destroy(); return; }
  wss.handleUpgrade(req, socket, head, (ws) => {
    const hall = hallOf(decodeURIComponent(m[1]));
    let joined = false;
    ws.on('message', (data) => {
      let msg;
      try { msg = JSON.parse(data); } catch (e) { return; }
      if (msg.type === 'hello' && !joined) {
        joined = true;
        ws.send(JSON.stringify({ type: 'welcome', tender_id: m[1], viewer: { role: 'public', user_id: null, org_id: null },
          head: hall.seq, server_time: iso(nowMicros()) }));
        ws.send(JSON.stringify({ type: 'snapshot', seq: hall.seq, hall: { phase: 'decrypting', pad: 'x'.repeat(snapshotBytes) } }));
        hall.conns.add(ws);
      } else if (msg.type === 'ping') {
        ws.send('{"type":"pong"}');
      }
    });
    ws.on('close', () => hall.conns.delete(ws));
  });
});

server.listen(port, '127.0.0.1', async () => {
  const p = server.address().port;
  console.log('hall_baseline listening on ' + p);
  if (!selfTest) return;
  // Self-test: N clients in one hall, 20 events, latency = receipt - event `at`.
  const lat = [];
  let ready = 0;
  await new Promise((resolve) => {
    for (let i = 0; i < selfTest; i++) {
      const c = new WebSocket('ws://127.0.0.1:' + p + '/ws/halls/t-self');
      c.on('open', () => c.send(JSON.stringify({ type: 'hello', token: null, after: null })));
      c.on('message', (d) => {
        const m = JSON.parse(d);
        if (m.type === 'snapshot' && ++ready === selfTest) resolve();
        if (m.type === 'event') {
          const at = BigInt(Date.parse(m.at.slice(0, 19) + 'Z')) * 1000n + BigInt(m.at.slice(20, 26));
          lat.push(Number(nowMicros() - at) / 1000);
        }
      });
    }
  });
  await fetch('http://127.0.0.1:' + p + '/broadcast?count=20&bytes=300&interval_ms=50', { method: 'POST' });
  await new Promise((r) => setTimeout(r, 2000));
  lat.sort((a, b) => a - b);
  const q = (f) => lat[Math.min(lat.length - 1, Math.floor(f * lat.length))].toFixed(1);
  console.log(JSON.stringify({ clients: selfTest, received: lat.length, p50_ms: q(0.5), p99_ms: q(0.99),
    stats: await (await fetch('http://127.0.0.1:' + p + '/stats')).json() }));
  process.exit(0);
});
