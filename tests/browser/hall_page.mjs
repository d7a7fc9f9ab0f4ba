// Browser test of the hall web page (server/app/web), run by tests/e2e/hall_browser_test.cpp.
//
//   node tests/browser/hall_page.mjs --url http://127.0.0.1:PORT/hall/t-... --out DIR
//
// The page is loaded from the real tenderd. Its WebSocket to /ws/halls/{id} is answered by a
// scripted hall (Playwright's routeWebSocket) that follows protocol/docs/hall-protocol.md: the
// script walks a whole opening step by step, checks what the page shows at each step and saves a
// screenshot per step (DIR/NN-step.png). It also checks the host controls (each click must send
// the right `act` and the page must report the ack), gap detection (an event with a skipped seq
// makes the page resume with `after` = its last seq), a dropped socket (resume without losing or
// repeating anything), the English toggle (persisted across a reload) and the public viewer
// before the list is published. Exit code 0 when every check passed.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { arg, chromium } from './common.mjs';

const pageUrl = arg('url');
const outDir = arg('out', 'browser-screenshots');
const browserPath = arg('chromium', process.env.CHROMIUM || '/usr/bin/chromium');
if (!pageUrl) { console.error('usage: hall_page.mjs --url URL [--out DIR]'); process.exit(2); }
fs.mkdirSync(outDir, { recursive: true });
const tenderId = decodeURIComponent(new URL(pageUrl).pathname.split('/').pop());

let failures = 0;
function check(cond, what) {
  if (cond) { console.log('ok   ' + what); return; }
  failures++;
  console.log('FAIL ' + what);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- the scripted hall ---------------------------------------------------------------------------
const t0 = Date.now();
const iso = (ms) => new Date(ms).toISOString().replace('Z', '123Z'); // microseconds, as the server
const host = { user_id: 'u-host', org_id: 'o-center', role: 'host' };
const orgs = [
  { org_id: 'o-a', name: '甲建设集团有限公司' },
  { org_id: 'o-b', name: '乙工程有限公司' },
  { org_id: 'o-c', name: '丙建筑股份有限公司' }
];
const tender = {
  id: tenderId, title: '第三中学体育馆', project_code: 'P-2026-HALL', key_policy: 'bidder_or_escrow',
  rule_pack: 'engineering', deadline_at: iso(t0 + 3600e3), opening_at: iso(t0 + 3600e3),
  lots: [{ lot: 1, title: '主体工程', ceiling_price: 1250000000,
    summary_fields: [{ key: 'price', label: '投标报价', type: 'money' }, { key: 'duration', label: '工期', type: 'days' }],
    discount_candidates: ['0.05', '0.08'] }]
};

class Hall {
  constructor() {
    this.events = [];       // every event, seq = index + 1
    this.sockets = new Set();
    this.hellos = [];       // every hello received
    this.acts = [];         // every act received
    this.onAct = null;      // (act) => {result, events} | {error}
    this.publish({ kind: 'opened', data: { phase: 'waiting' } });
  }
  snapshot() {
    return { tender, phase: 'waiting', paused: null, suspended: null,
      times: { server_time: iso(Date.now()), window_opens_at: null, window_closes_at: null, confirm_closes_at: null },
      attendance: [], bidders: [], draw: { host_commitment: null, host_nonce: null, representative: null, representative_nonce: null, draws: [] },
      announcement: null, record_digest: null, objections: [], help: [], outages: [], record: null,
      escrow: { threshold: 2, custodians: [{ id: 'c1', org_id: 'o-k1' }, { id: 'c2', org_id: 'o-k2' }, { id: 'c3', org_id: 'o-k3' }] } };
  }
  message(seq) {
    const e = this.events[seq - 1];
    return JSON.stringify({ type: 'event', seq, kind: e.kind, at: e.at, actor: e.actor || null, data: e.data });
  }
  publish(e, opts = {}) {
    e.at = iso(Date.now());
    this.events.push(e);
    const seq = this.events.length;
    if (!opts.hold) for (const s of this.sockets) s.send(this.message(seq));
    return seq;
  }
  attach(ws) {
    let joined = false;
    ws.onMessage((text) => {
      const m = JSON.parse(text);
      if (m.type === 'hello') {
        this.hellos.push(m);
        joined = true;
        ws.send(JSON.stringify({ type: 'welcome', tender_id: tenderId, viewer: host, head: this.events.length,
          server_time: iso(Date.now()) }));
        // The snapshot of a fresh join covers only the first event; the rest follow as events.
        const from = m.after === null ? 1 : m.after;
        if (m.after === null) ws.send(JSON.stringify({ type: 'snapshot', seq: 1, hall: this.snapshot() }));
        for (let s = from + 1; s <= this.events.length; s++) ws.send(this.message(s));
        this.sockets.add(ws);
        return;
      }
      if (!joined) return;
      if (m.type === 'ping') { ws.send('{"type":"pong"}'); return; }
      if (m.type === 'act') {
        this.acts.push(m);
        const r = this.onAct ? this.onAct(m) : { error: { code: 'hall.forbidden', message: 'not scripted' } };
        if (r.error) { ws.send(JSON.stringify({ type: 'error', id: m.id, error: r.error })); return; }
        let seq = null;
        for (const e of r.events || []) seq = this.publish(e);
        ws.send(JSON.stringify({ type: 'ack', id: m.id, seq, result: r.result || {} }));
      }
    });
    ws.onClose(() => this.sockets.delete(ws));
  }
  drop() { for (const s of [...this.sockets]) { this.sockets.delete(s); s.close({ code: 1001, reason: 'going away' }); } }
}

// ---- helpers on the page -----------------------------------------------------------------------
let step = 0;
async function shot(page, name) {
  step++;
  const file = path.join(outDir, String(step).padStart(2, '0') + '-' + name + '.png');
  await page.screenshot({ path: file, fullPage: true });
}
async function seqIs(page, seq, what) {
  try {
    await page.waitForFunction((s) => document.body.dataset.seq === String(s), seq, { timeout: 10000 });
    check(true, what + ': page at seq ' + seq);
  } catch (e) {
    check(false, what + ': page at seq ' + seq + ' (it is at ' + await page.evaluate(() => document.body.dataset.seq) + ')');
  }
}
const text = (page, sel) => page.locator(sel).innerText();
async function has(page, sel, needle, what) {
  let got = '';
  try {
    await page.waitForFunction(([s, n]) => { const el = document.querySelector(s); return el && el.innerText.includes(n); }, [sel, needle], { timeout: 5000 });
    check(true, what);
  } catch (e) {
    got = await page.evaluate((s) => { const el = document.querySelector(s); return el ? el.innerText : '(missing)'; }, sel);
    check(false, what + ' — expected "' + needle + '" in ' + sel + ', got: ' + got.slice(0, 300));
  }
}
async function lacks(page, sel, what) {
  check(await page.locator(sel).count() === 0, what);
}
async function click(page, hall, action) {
  const before = hall.acts.length;
  await page.locator('#host-box button[data-action="' + action + '"]').click();
  await page.waitForFunction((a) => { const el = document.getElementById('act-status'); return el.dataset.action === a && el.dataset.state !== 'sent'; }, action, { timeout: 5000 })
    .catch(() => {});
  check(hall.acts.length === before + 1 && hall.acts[before].action === action, 'host clicked ' + action + ': one act sent');
  const state = await page.evaluate(() => document.getElementById('act-status').dataset.state);
  check(state === 'ok', 'host ' + action + ': the page shows the ack (state ' + state + ')');
  return hall.acts[before];
}
async function statusOf(page, org) {
  return page.evaluate((o) => { const r = document.querySelector('#bidders tr[data-org="' + o + '"]'); return r ? r.dataset.status : null; }, org);
}

// ---- the run -------------------------------------------------------------------------------------
const launchArgs = ['--disable-gpu', '--disable-dev-shm-usage'];
if (typeof process.getuid === 'function' && process.getuid() === 0) launchArgs.push('--no-sandbox');
const browser = await chromium.launch({ executablePath: browserPath, headless: true, args: launchArgs });
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  const hall = new Hall();
  await context.routeWebSocket((u) => u.pathname === '/ws/halls/' + tenderId, (ws) => hall.attach(ws));
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));

  // 1. waiting: the host joins with a token in the fragment.
  const response = await page.goto(pageUrl + '#token=host-token');
  check(response.status() === 200, 'GET /hall/{id} answers 200');
  check((response.headers()['content-type'] || '').startsWith('text/html'), 'the page is text/html');
  await seqIs(page, 1, 'joined');
  check(hall.hellos.length === 1 && hall.hellos[0].token === 'host-token' && hall.hellos[0].after === null,
    'hello carries the fragment token and no cursor');
  await has(page, '#conn', '已连接', 'connection state shown (zh)');
  await has(page, '#phase', '等待开标', 'phase waiting (zh)');
  await has(page, '#role', '主持人', 'viewer role host');
  await has(page, '#countdown-label', '距投标截止', 'countdown to the deadline');
  check(/^\d\d:\d\d:\d\d$/.test(await text(page, '#countdown')), 'countdown shows hh:mm:ss');
  const remaining = Number(await page.evaluate(() => document.getElementById('countdown').dataset.remaining));
  check(remaining > 3500 && remaining <= 3600, 'countdown uses the deadline and the server clock (' + remaining + ' s)');
  await has(page, '#title', '第三中学体育馆', 'tender title');
  check(await page.locator('#host-box').isVisible(), 'host controls shown to the host');
  await shot(page, 'waiting');

  // 2. commit_host: the page makes the nonce and sends its SHA-256.
  let commitment = null;
  hall.onAct = (m) => {
    switch (m.action) {
      case 'commit_host': commitment = m.commitment; return { events: [{ kind: 'host_committed', data: { commitment: m.commitment } }] };
      case 'check_guarantees': return { result: { results: [] }, events: [{ kind: 'guarantees_checked', data: { results: orgs.map((o) => ({ lot: 1, org_id: o.org_id, guarantee: o.org_id === 'o-c' ? 'cash' : 'valid' })) } }] };
      case 'publish_list': return { result: { failed: false, lots: [{ lot: 1, valid: 3 }] }, events: [{ kind: 'list_published', data: { min_bids: 3, lots: [{ lot: 1, valid: 3, failed: false, bidders: orgs.map((o) => ({ org_id: o.org_id, name: o.name, guarantee: o.org_id === 'o-c' ? 'cash' : 'valid', escrow_r: 'AA==' })) }] } }] };
      case 'open_window': return { events: [{ kind: 'window_opened', data: { window_opens_at: iso(Date.now()), window_closes_at: iso(Date.now() + 1800e3), seconds: 1800 } }] };
      default: return { error: { code: 'hall.wrong_phase', message: 'not now' } };
    }
  };
  const commitAct = await click(page, hall, 'commit_host');
  check(/^[0-9a-f]{64}$/.test(commitAct.commitment || ''), 'commit_host carries a hex SHA-256');
  await seqIs(page, 2, 'host committed');
  await has(page, '#draw', commitment.slice(0, 16), 'draw shows the host commitment');
  check(await page.locator('#host-box button[data-action="commit_host"]').isDisabled(), 'commit_host disabled once committed');

  // 3. attendance (签到).
  for (const o of orgs) hall.publish({ kind: 'signed_in', data: { org_id: o.org_id, name: o.name, signed_in_at: iso(Date.now()) } });
  await seqIs(page, 5, 'signed in');
  check(await page.locator('#attendance tbody tr').count() === 3, 'attendance lists three bidders');
  await has(page, '#attendance', '乙工程有限公司', 'attendance shows names');
  await shot(page, 'attendance');

  // 4. sealed, guarantees, list.
  hall.publish({ kind: 'bids_sealed', data: { lots: [{ lot: 1, count: 3, root: 'ab'.repeat(32) }] } });
  await seqIs(page, 6, 'sealed');
  await has(page, '#phase', '已截标', 'phase sealed');
  await has(page, '#countdown-label', '距开标', 'countdown to the opening');
  await click(page, hall, 'check_guarantees');
  await seqIs(page, 7, 'guarantees checked');
  await click(page, hall, 'publish_list');
  await seqIs(page, 8, 'list published');
  await has(page, '#phase', '名单已公布', 'phase listed');
  check(await page.locator('#bidders tbody tr').count() === 3, 'bidder list has three rows');
  await has(page, '#bidders', '现金', 'guarantee kinds shown');
  await shot(page, 'listed');

  // 5. the window: decryption statuses, remedies, help, outage, pause.
  await click(page, hall, 'open_window');
  await seqIs(page, 9, 'window opened');
  await has(page, '#phase', '解密中', 'phase decrypting');
  await has(page, '#countdown-label', '距解密截止', 'countdown to the window close');
  const ds = (org, status, extra = {}) => hall.publish({ kind: 'decryption_status', data: Object.assign({ lot: 1, org_id: org, status, attempts: 1, via: null, cause: null, side: null, treatment: null, message: null }, extra) });
  ds('o-a', 'decrypting');
  await seqIs(page, 10, 'A decrypting');
  check(await statusOf(page, 'o-a') === 'decrypting', 'A shows decrypting');
  await has(page, '#bidders tr[data-org="o-a"]', '解密中', 'A label 解密中');
  ds('o-a', 'done', { via: 'bidder' });
  ds('o-b', 'failed', { cause: 'wrong_key', side: 'bidder', message: 'the key does not open the file' });
  await seqIs(page, 12, 'A done, B failed');
  await has(page, '#bidders tr[data-org="o-a"]', '已解密', 'A label 已解密');
  await has(page, '#bidders tr[data-org="o-b"]', '密钥错误', 'B cause wrong key');
  await has(page, '#bidders tr[data-org="o-b"]', '失败', 'B label 失败');
  await has(page, '#bidders tr[data-org="o-c"]', '等待', 'C label 等待');
  await shot(page, 'decrypting');
  hall.publish({ kind: 'backup_uploaded', data: { lot: 1, org_id: 'o-b', size: 4096 } });
  ds('o-b', 'decrypting', { attempts: 2 });
  ds('o-b', 'done', { attempts: 2, via: 'backup' });
  hall.publish({ kind: 'share_submitted', data: { lot: 1, org_id: 'o-c', custodian: 'c1', shares: 1, threshold: 2 } });
  hall.publish({ kind: 'help_requested', data: { help_id: 'h-1', lot: 1, org_id: 'o-c', text: '证书读取失败，请协助' } });
  hall.publish({ kind: 'outage_recorded', data: { from: iso(Date.now() - 40e3), to: iso(Date.now() - 10e3), seconds: 30, detected_by: 'node-1' } });
  hall.publish({ kind: 'paused', data: { reason: '网络检查' } });
  await seqIs(page, 19, 'remedies, help, outage, pause');
  await has(page, '#remedies', '已上传备份文件', 'backup upload in remedies');
  await has(page, '#remedies', '已提交托管份额', 'escrow share in remedies');
  await has(page, '#bidders tr[data-org="o-b"]', '备份文件', 'B done via the backup');
  await has(page, '#bidders tr[data-org="o-c"]', '1/2', 'C escrow shares 1/2');
  await has(page, '#help', '证书读取失败', 'help request shown to the host');
  check(await page.locator('#outages tbody tr').count() === 1, 'outage listed');
  await has(page, '[data-testid="banner-paused"]', '网络检查', 'pause banner with its reason');
  check(await page.locator('#host-box button[data-action="extend_window"]').isDisabled(), 'host steps disabled while paused');
  check(await page.locator('#host-box button[data-action="resume"]').isEnabled(), 'resume enabled while paused');
  await shot(page, 'paused');
  hall.publish({ kind: 'resumed', data: { reason: '已恢复' } });
  await seqIs(page, 20, 'resumed');
  await lacks(page, '[data-testid="banner-paused"]', 'pause banner gone after resume');

  // 6. a gap: seq 22 arrives before 21; the page must resume from 20 and get both, once.
  const hellosBefore = hall.hellos.length;
  hall.publish({ kind: 'window_extended', data: { window_closes_at: iso(Date.now() + 2400e3), seconds: 600, reason: '平台故障补时' } }, { hold: true });
  hall.publish({ kind: 'objection_raised', data: { objection_id: 7, org_id: 'o-b', lot: 1, text: '对解密时间有异议' } });
  await seqIs(page, 22, 'after the gap');
  check(hall.hellos.length === hellosBefore + 1 && hall.hellos[hellosBefore].after === 20,
    'a gap makes the page resume with after = 20 (got ' + JSON.stringify(hall.hellos.slice(hellosBefore).map((h) => h.after)) + ')');
  check(await page.evaluate(() => window.hallState.events.filter((e) => e.seq === 21).length) === 1, 'the missed event applied once');
  await has(page, '#objections', '对解密时间有异议', 'objection shown');

  // 7. the window closes.
  ds('o-c', 'failed', { attempts: 0, cause: 'no_attempt', side: 'bidder', treatment: 'revoked' });
  hall.publish({ kind: 'window_closed', data: { done: 2, failed: 1 } });
  await seqIs(page, 24, 'window closed');
  await has(page, '#phase', '解密结束', 'phase decrypted');
  await has(page, '#bidders tr[data-org="o-c"]', '视为撤销投标', 'C treatment revoked');
  await has(page, '#bidders tr[data-org="o-c"]', '未提交密钥', 'C cause no attempt');
  await shot(page, 'window-closed');

  // 8. the draw: reveal with the nonce the page kept, representative, parameters.
  hall.onAct = (m) => {
    switch (m.action) {
      case 'reveal_host': {
        const ok = createHash('sha256').update(Buffer.from(m.nonce, 'hex')).digest('hex') === commitment;
        if (!ok) return { error: { code: 'hall.commitment_mismatch', message: 'nonce does not match' } };
        return { result: { representative: 'o-a' }, events: [{ kind: 'host_revealed', data: { nonce: m.nonce, commitment } },
          { kind: 'representative_drawn', data: { representative: 'o-a', draw: { seed: 'cd'.repeat(32), selected: ['o-a'] } } }] };
      }
      case 'draw': return { events: [{ kind: 'parameters_drawn', data: { draws: [{ lot: 1, value: '0.05', draw: { algorithm: 'x', seed: 'ef'.repeat(32), candidates: ['0.05', '0.08'], selected: ['0.05'] } }] } }] };
      case 'answer': return { events: [{ kind: 'objection_answered', data: { objection_id: m.objection_id, text: m.text } }] };
      case 'announce': return { result: { record_digest: '12'.repeat(32) }, events: [{ kind: 'announced', data: {
        lots: [{ lot: 1, ceiling_price: 1250000000, draw_value: '0.05', rows: [
          { org_id: 'o-a', name: orgs[0].name, status: 'done', summary: { price: 1180000000, duration: 365 }, cause: null },
          { org_id: 'o-b', name: orgs[1].name, status: 'done', summary: { price: '1199999999', duration: 400 }, cause: null },
          { org_id: 'o-c', name: orgs[2].name, status: 'failed', summary: null, cause: 'no_attempt' }] }],
        record_digest: '12'.repeat(32), confirm_closes_at: iso(Date.now() + 1800e3) } }] };
      case 'finish': return { events: [{ kind: 'recorded', data: { record_digest: '12'.repeat(32), digest: '34'.repeat(32), log_index: 77, url: '/api/v1/tenders/' + tenderId + '/opening-record' } }] };
      default: return { error: { code: 'hall.wrong_phase', message: 'not now' } };
    }
  };
  const reveal = await click(page, hall, 'reveal_host');
  check(createHash('sha256').update(Buffer.from(reveal.nonce || '', 'hex')).digest('hex') === commitment,
    'reveal_host sends the nonce the page committed to');
  await seqIs(page, 26, 'host revealed, representative drawn');
  await has(page, '#phase', '抽取中', 'phase drawing');
  await has(page, '#draw', '甲建设集团有限公司', 'representative shown by name');
  hall.publish({ kind: 'representative_revealed', data: { org_id: 'o-a', nonce: '56'.repeat(32) } });
  await seqIs(page, 27, 'representative revealed');
  await click(page, hall, 'draw');
  await seqIs(page, 28, 'parameters drawn');
  await has(page, '#draw [data-testid="drawn-value"]', '0.05', 'drawn value shown');
  await has(page, '#phase', '已抽取', 'phase drawn');
  await page.fill('#host-box form[data-action="answer"] input[name="objection_id"]', '7');
  await page.fill('#host-box form[data-action="answer"] input[name="text"]', '解密时间已按平台故障补足');
  const ans = await click(page, hall, 'answer');
  check(ans.objection_id === 7 && ans.text === '解密时间已按平台故障补足', 'answer carries the objection id (an integer) and text');
  await seqIs(page, 29, 'objection answered');
  await has(page, '#objections', '已按平台故障补足', 'answer shown');
  await shot(page, 'drawn');

  // 9. the announcement (唱标) and confirmations.
  await click(page, hall, 'announce');
  await seqIs(page, 30, 'announced');
  await has(page, '#phase', '已唱标', 'phase announced');
  await has(page, '#countdown-label', '距确认截止', 'countdown to the confirmation close');
  await has(page, '#announcement', '投标报价', 'summary field label from the lot');
  await has(page, '#announcement tr[data-org="o-a"]', '¥11,800,000.00', 'price from fen as ¥ (number)');
  await has(page, '#announcement tr[data-org="o-b"]', '¥11,999,999.99', 'price from fen as ¥ (string)');
  await has(page, '#announcement tr[data-org="o-a"]', '365 天', 'duration in days');
  await has(page, '#announcement', '¥12,500,000.00', 'ceiling price');
  await has(page, '#announcement tr[data-org="o-c"]', '未提交密钥', 'failed bid shows its cause');
  hall.publish({ kind: 'confirmed', data: { org_id: 'o-a', confirmed_at: iso(Date.now()) } });
  hall.publish({ kind: 'confirmed', data: { org_id: 'o-b', confirmed_at: iso(Date.now()) } });
  await seqIs(page, 32, 'confirmed');
  check(await page.locator('#confirmations tr[data-confirmed="yes"]').count() === 2, 'two confirmations shown');
  check(await page.locator('#confirmations tr[data-confirmed="pending"]').count() === 1, 'one pending');
  await shot(page, 'announced');

  // 10. English, persisted across a reload (which also rejoins from a snapshot).
  await page.locator('#lang').click();
  await has(page, '#phase', 'announced', 'English phase');
  await has(page, '#bidders tr[data-org="o-c"]', 'deemed revoked', 'English treatment');
  await has(page, '#bidders tr[data-org="o-a"]', 'decrypted', 'English status');
  await has(page, '#announcement tr[data-org="o-a"]', '¥11,800,000.00', 'price unchanged in English');
  await has(page, '#lang', '中文', 'toggle offers Chinese');
  await shot(page, 'english');
  const hellosReload = hall.hellos.length;
  await page.reload();
  await seqIs(page, 32, 'reloaded');
  check(hall.hellos[hellosReload] && hall.hellos[hellosReload].after === null, 'a reload joins from a snapshot');
  await has(page, '#phase', 'announced', 'English kept after the reload');
  await has(page, '#announcement tr[data-org="o-b"]', '¥11,999,999.99', 'state rebuilt after the reload');
  await page.locator('#lang').click();
  await has(page, '#phase', '已唱标', 'back to Chinese');

  // 11. the socket drops: the page shows it, resumes with after = 32 and misses nothing.
  const hellosDrop = hall.hellos.length;
  hall.drop();
  hall.publish({ kind: 'suspended', data: { reason: '收到投诉' } });
  await page.waitForFunction(() => document.getElementById('conn').dataset.state === 'open' && document.body.dataset.seq === '33', null, { timeout: 10000 }).catch(() => {});
  check(hall.hellos.length > hellosDrop && hall.hellos[hall.hellos.length - 1].after === 32, 'reconnect resumes with after = 32');
  await seqIs(page, 33, 'after the reconnect');
  await has(page, '[data-testid="banner-suspended"]', '收到投诉', 'suspension banner');
  await shot(page, 'suspended');
  hall.publish({ kind: 'unsuspended', data: { reason: '投诉已处理' } });
  await seqIs(page, 34, 'unsuspended');
  await lacks(page, '[data-testid="banner-suspended"]', 'suspension banner gone');

  // 12. the record.
  hall.publish({ kind: 'confirmation_closed', data: { confirmed: ['o-a', 'o-b'], silent: ['o-c'] } });
  await seqIs(page, 35, 'confirmation closed');
  check(await page.locator('#confirmations tr[data-confirmed="no"]').count() === 1, 'silent bidder shown');
  await click(page, hall, 'finish');
  await seqIs(page, 36, 'recorded');
  await has(page, '#phase', '开标记录已发布', 'phase recorded');
  check(await page.locator('[data-testid="record-link"]').getAttribute('href') === '/api/v1/tenders/' + tenderId + '/opening-record', 'record link');
  check(await page.locator('[data-testid="banner-recorded"]').count() === 1, 'recorded banner');
  await shot(page, 'recorded');
  check(pageErrors.length === 0, 'no script errors on the page' + (pageErrors.length ? ': ' + pageErrors.join('; ') : ''));

  // 13. the public before the list: the page says so.
  const pub = await browser.newContext({ locale: 'zh-CN' });
  await pub.routeWebSocket((u) => u.pathname === '/ws/halls/' + tenderId, (ws) => {
    ws.onMessage((m) => {
      const msg = JSON.parse(m);
      if (msg.type !== 'hello') return;
      ws.send(JSON.stringify({ type: 'error', id: null, error: { code: 'hall.not_public_yet', message: 'the bidder list is not published yet' } }));
      ws.close({ code: 1008, reason: 'not public yet' });
    });
  });
  const ppage = await pub.newPage();
  await ppage.goto(pageUrl);
  await has(ppage, '[data-testid="banner-not-public"]', '尚未公布', 'public viewer told the list is not public yet');
  check(!(await ppage.locator('#host-box').isVisible()), 'no host controls without a token');
  await shot(ppage, 'public-not-yet');
  await pub.close();
} catch (e) {
  failures++;
  console.log('FAIL exception: ' + (e && e.stack ? e.stack : e));
} finally {
  await browser.close();
}
console.log(failures === 0 ? 'hall page: all checks passed' : 'hall page: ' + failures + ' check(s) failed');
process.exit(failures === 0 ? 0 : 1);
