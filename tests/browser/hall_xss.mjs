// The hall page shows what people typed as text, never as markup (issue 15 §6). Run by
// tests/e2e/hall_browser_test.cpp:
//
//   node tests/browser/hall_xss.mjs --url http://127.0.0.1:PORT/hall/t-...
//
// The page comes from the real tenderd (with its Content-Security-Policy). Its WebSocket is
// answered by a scripted hall whose every free-text field carries HTML/JS payloads: the tender's
// title, project code, lot title and summary labels, organisation names (sign-in, list,
// announcement), decryption messages, help requests, objections and answers, pause and suspension
// reasons, the failure reason, announced summary values, an error message, and unknown event kinds.
// The checks: no payload ran (window.__xss stays unset, no injected element exists), each payload
// text is visible literally, and the server's answer carries the CSP and nosniff headers.
// Exit code 0 when every check passed.

import { arg, chromium } from './common.mjs';

const pageUrl = arg('url');
const browserPath = arg('chromium', process.env.CHROMIUM || '/usr/bin/chromium');
if (!pageUrl) { console.error('usage: hall_xss.mjs --url URL'); process.exit(2); }
const tenderId = decodeURIComponent(new URL(pageUrl).pathname.split('/').pop());

let failures = 0;
function check(cond, what) {
  console.log((cond ? 'ok   ' : 'FAIL ') + what);
  if (!cond) failures++;
}

// Each payload would set window.__xss (or add a marked element) if it ran as markup. `n` tells
// them apart in the report.
const payloads = [];
function p(where) {
  const n = payloads.length;
  const forms = [
    `<img src=x data-xss=${n} onerror="window.__xss=(window.__xss||[]).concat('${where}')">`,
    `"><svg data-xss=${n} onload="window.__xss=(window.__xss||[]).concat('${where}')"></svg>`,
    `'><script data-xss=${n}>window.__xss=(window.__xss||[]).concat('${where}')</script>`,
    `</td></tr></table><iframe data-xss=${n} srcdoc="<script>parent.__xss=1</script>"></iframe>`
  ];
  const text = where + ' ' + forms[n % forms.length];
  payloads.push({ where, text });
  return text;
}

const t0 = Date.now();
const iso = (ms) => new Date(ms).toISOString().replace('Z', '123Z');
const host = { user_id: 'u-host', org_id: 'o-center', role: 'host' };
const orgA = { org_id: 'o-a', name: p('org name (sign-in)') };
const orgB = { org_id: 'o-b', name: p('org name (list)') };
const tender = {
  id: tenderId, title: p('tender title'), project_code: p('project code'), key_policy: 'bidder_only',
  rule_pack: 'engineering', deadline_at: iso(t0 - 60e3), opening_at: iso(t0 - 30e3),
  lots: [{ lot: 1, title: p('lot title'), ceiling_price: 100000000,
    summary_fields: [{ key: 'price', label: p('summary label'), type: 'money' },
      { key: 'manager', label: 'manager', type: 'text' }, { key: 'duration', label: 'days', type: 'days' }],
    discount_candidates: ['0.05'] }]
};
const snapshot = {
  tender, phase: 'waiting', paused: null, suspended: null,
  times: { server_time: iso(Date.now()), window_opens_at: null, window_closes_at: null, confirm_closes_at: null },
  attendance: [], bidders: [], draw: { host_commitment: null, host_nonce: null, representative: null, representative_nonce: null, draws: [] },
  announcement: null, record_digest: null, objections: [], help: [], outages: [], record: null, escrow: null
};
const ev = (kind, data) => ({ kind, data });
const events = [
  ev('opened', { phase: 'waiting' }),
  ev('signed_in', { org_id: orgA.org_id, name: orgA.name, signed_in_at: iso(t0) }),
  ev('bids_sealed', { lots: [{ lot: 1, count: 2, root: p('seal root') }] }),
  ev('list_published', { min_bids: 2, lots: [{ lot: 1, valid: 2, failed: false, bidders: [
    { org_id: orgA.org_id, name: orgA.name, guarantee: 'valid', escrow_r: null },
    { org_id: orgB.org_id, name: orgB.name, guarantee: 'valid', escrow_r: null }] }] }),
  ev('window_opened', { window_opens_at: iso(t0), window_closes_at: iso(t0 + 1800e3), seconds: 1800 }),
  ev('decryption_status', { lot: 1, org_id: orgA.org_id, status: 'failed', attempts: 1, via: 'bidder',
    cause: 'wrong_key', side: 'bidder', treatment: null, message: p('decryption message') }),
  ev('help_requested', { help_id: 1, lot: 1, org_id: orgB.org_id, text: p('help text') }),
  ev('paused', { reason: p('pause reason') }),
  ev('suspended', { reason: p('suspension reason') }),
  ev('objection_raised', { objection_id: 7, org_id: orgB.org_id, lot: 1, text: p('objection text') }),
  ev('objection_answered', { objection_id: 7, text: p('objection answer') }),
  ev('window_closed', { done: 1, failed: 1 }),
  ev('announced', { lots: [{ lot: 1, ceiling_price: 100000000, draw_value: p('draw value'), rows: [
    { org_id: orgA.org_id, name: orgA.name, status: 'failed', summary: null, cause: 'wrong_key' },
    { org_id: orgB.org_id, name: orgB.name, status: 'done', cause: null,
      summary: { price: p('summary money value'), manager: p('summary text value'), duration: p('summary days value'),
        [p('undeclared summary key')]: p('undeclared summary value') } }] }],
    record_digest: p('record digest'), confirm_closes_at: iso(t0 + 600e3) }),
  ev(p('unknown event kind'), { text: p('unknown event data') }),
  ev('failed', { reason: p('failure reason') })
];

const launchArgs = ['--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];
if (typeof process.getuid === 'function' && process.getuid() === 0) launchArgs.push('--no-sandbox');
const browser = await chromium.launch({ executablePath: browserPath, headless: true, args: launchArgs });
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  await context.routeWebSocket((u) => u.pathname === '/ws/halls/' + tenderId, (ws) => {
    ws.onMessage((text) => {
      const m = JSON.parse(text);
      if (m.type === 'hello') {
        ws.send(JSON.stringify({ type: 'welcome', tender_id: tenderId, viewer: host, head: events.length, server_time: iso(Date.now()) }));
        ws.send(JSON.stringify({ type: 'snapshot', seq: 1, hall: snapshot }));
        events.slice(1).forEach((e, i) => ws.send(JSON.stringify({ type: 'event', seq: i + 2, kind: e.kind, at: iso(Date.now()), actor: host, data: e.data })));
      } else if (m.type === 'act') {
        ws.send(JSON.stringify({ type: 'error', id: m.id, error: { code: 'hall.forbidden', message: p('error message') } }));
      }
    });
  });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  const response = await page.goto(pageUrl + '#token=host-token');
  check(response.status() === 200, 'GET /hall/{id} answers 200');
  const headers = response.headers();
  check((headers['content-security-policy'] || '').includes("default-src 'none'"), 'the page carries the Content-Security-Policy');
  check(headers['x-content-type-options'] === 'nosniff', 'the page carries X-Content-Type-Options: nosniff');
  await page.waitForFunction((n) => document.body.dataset.seq === String(n), events.length, { timeout: 15000 })
    .then(() => check(true, 'every event applied'), () => check(false, 'every event applied'));
  // An act whose error message carries a payload too (the page shows act errors).
  await page.evaluate(() => {
    const b = document.querySelector('#host-box button[data-action="pause"]');
    if (b) { b.disabled = false; b.click(); }
  });
  await page.waitForFunction(() => { const el = document.getElementById('act-status'); return el && el.dataset.state === 'err'; }, null, { timeout: 5000 })
    .then(() => check(true, 'the refused act is shown'), () => check(false, 'the refused act is shown'));
  // Switch language and back: every section is drawn again from the same data.
  await page.locator('#lang').click();
  await page.locator('#lang').click();
  await page.waitForTimeout(200); // let any injected image fail to load (the check is on state, below)
  const state = await page.evaluate(() => ({
    xss: window.__xss || null,
    injected: document.querySelectorAll('[data-xss], iframe[srcdoc], img[onerror], [onload]').length,
    text: document.body.innerText
  }));
  check(state.xss === null, 'no payload ran (window.__xss: ' + JSON.stringify(state.xss) + ')');
  check(state.injected === 0, 'no element was injected (' + state.injected + ' found)');
  const shown = ['tender title', 'org name (sign-in)', 'org name (list)', 'decryption message', 'help text',
    'pause reason', 'suspension reason', 'objection text', 'objection answer', 'summary text value', 'summary label'];
  for (const where of shown) {
    const pl = payloads.find((x) => x.where === where);
    check(state.text.includes(pl.text), 'shown as text: ' + where);
  }
  check(pageErrors.length === 0, 'no page errors' + (pageErrors.length ? ': ' + pageErrors.join(' | ') : ''));
} finally {
  await browser.close();
}
if (failures) { console.log(failures + ' check(s) failed'); process.exit(1); }
console.log('hall xss: all checks passed');
