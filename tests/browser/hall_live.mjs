// Browser test of the hall page against the REAL hall, run by tests/e2e/hall_browser_live_test.cpp
// (which plays the bidders on SDK sessions and moves the database clock; see its header).
//
//   node tests/browser/hall_live.mjs --url http://127.0.0.1:PORT/hall/t-... --token HOST_TOKEN \
//        --out DIR --plan '{"orgs":[...],"prices":{org:"¥..."},"ceiling","backup","wrong","absent","objector"}'
//
// Chromium opens the page as the host (token in the URL fragment) and takes every host step by
// clicking the page's own controls; a second context watches as the public. The script waits on
// what the page shows (timeouts are upper bounds only), checks the texts of every step and saves
// DIR/NN-step.png per step. It prints "@@ <mark>" when the test may move the clock. A check that
// fails is reported and counted; a wait that times out ends the run. Exit code 0 when every check
// passed.
import fs from 'node:fs';
import path from 'node:path';

import { arg, chromium } from './common.mjs';

const pageUrl = arg('url');
const token = arg('token');
const outDir = arg('out', 'browser-screenshots-live');
const plan = JSON.parse(arg('plan', '{}'));
const browserPath = arg('chromium', process.env.CHROMIUM || '/usr/bin/chromium');
if (!pageUrl || !token || !plan.orgs) {
  console.error('usage: hall_live.mjs --url URL --token TOKEN --plan JSON [--out DIR]');
  process.exit(2);
}
fs.mkdirSync(outDir, { recursive: true });
const tenderId = decodeURIComponent(new URL(pageUrl).pathname.split('/').pop());
const orgs = plan.orgs;
const signedIn = orgs.filter((o) => o !== plan.absent);
const done = orgs.filter((o) => o !== plan.absent && o !== plan.wrong);
const nameOf = (o) => o + ' bidder'; // the organisations' names in tests/support/e2e/world.cpp

const PAGE_STEP = 30000;   // something the page itself does (a click's answer)
const HALL_STEP = 90000;   // something the SDK bidders or the clock do

let failures = 0;
function check(cond, what) {
  if (cond) { console.log('ok   ' + what); return; }
  failures++;
  console.log('FAIL ' + what);
}
function mark(name) { console.log('@@ ' + name); }

let step = 0;
async function shot(page, name) {
  step++;
  const file = path.join(outDir, String(step).padStart(2, '0') + '-' + name + '.png');
  await page.screenshot({ path: file, fullPage: true });
  console.log('shot ' + file);
}

// Waits until `fn(arg)` holds on the page; a timeout ends the run with what the page shows.
async function until(page, what, fn, fnArg, timeout = PAGE_STEP) {
  try {
    await page.waitForFunction(fn, fnArg, { timeout, polling: 100 });
    console.log('ok   ' + what);
  } catch (e) {
    const phase = await page.evaluate(() => document.body.dataset.phase + ' seq ' + document.body.dataset.seq).catch(() => '?');
    const status = await page.evaluate(() => document.getElementById('act-status').textContent).catch(() => '?');
    const grid = await textOf(page, '#bidders').catch(() => '?');
    await page.screenshot({ path: path.join(outDir, 'failed.png'), fullPage: true }).catch(() => {});
    throw new Error('timed out waiting: ' + what + ' (page phase ' + phase + ', last action: ' + status +
      ')\nthe grid shows:\n' + grid + '\nscreenshot: ' + path.join(outDir, 'failed.png'));
  }
}
const untilPhase = (page, phase, timeout) => until(page, 'phase ' + phase,
  (p) => document.body.dataset.phase === p, phase, timeout);
const untilCount = (page, sel, n, what, timeout) => until(page, what + ' (' + n + ')',
  ([s, k]) => document.querySelectorAll(s).length === k, [sel, n], timeout);
const untilText = (page, sel, needle, what, timeout) => until(page, what,
  ([s, n]) => { const el = document.querySelector(s); return !!el && el.innerText.includes(n); }, [sel, needle], timeout);
const textOf = (page, sel) => page.evaluate((s) => { const el = document.querySelector(s); return el ? el.innerText : '(missing)'; }, sel);
async function has(page, sel, needle, what) {
  const got = await textOf(page, sel);
  check(got.includes(needle), what + (got.includes(needle) ? '' : ' — expected "' + needle + '" in ' + sel + ', got: ' + got.slice(0, 300)));
}
async function lacks(page, sel, needle, what) {
  const got = await textOf(page, sel);
  check(!got.includes(needle), what + (got.includes(needle) ? ' — "' + needle + '" found in ' + sel : ''));
}
const row = (o) => '#bidders tr[data-org="' + o + '"]';

// Clicks a host control (it must be enabled for the phase) and waits for the server's answer.
async function click(page, action) {
  await page.evaluate(() => { const el = document.getElementById('act-status'); el.dataset.action = ''; el.dataset.state = ''; });
  await page.locator('#host-box button[data-action="' + action + '"]').click({ timeout: PAGE_STEP });
  await until(page, 'host ' + action + ' answered', (a) => {
    const el = document.getElementById('act-status');
    return el.dataset.action === a && (el.dataset.state === 'ok' || el.dataset.state === 'err');
  }, action);
  const state = await page.evaluate(() => document.getElementById('act-status').dataset.state);
  const text = await textOf(page, '#act-status');
  if (state !== 'ok') throw new Error('host ' + action + ' refused: ' + text);
  check(true, 'host ' + action + ' acknowledged (' + text + ')');
}

// No decrypted summary anywhere on `page` before the announcement.
async function noSummaries(page, who) {
  const body = await page.evaluate(() => document.body.innerText);
  const seen = done.filter((o) => body.includes(plan.prices[o]));
  check(seen.length === 0, who + ' sees no bid price before the announcement' + (seen.length ? ' (saw ' + seen.join(', ') + ')' : ''));
}

// ---- the run -------------------------------------------------------------------------------------
const launchArgs = ['--disable-gpu', '--disable-dev-shm-usage'];
if (typeof process.getuid === 'function' && process.getuid() === 0) launchArgs.push('--no-sandbox');
const browser = await chromium.launch({ executablePath: browserPath, headless: true, args: launchArgs });
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') console.log('page console: ' + m.text()); });

  // 1. The host opens the hall before the deadline.
  const response = await page.goto(pageUrl + '#token=' + encodeURIComponent(token));
  check(response.status() === 200, 'GET /hall/{id} answers 200');
  await until(page, 'connected', () => document.getElementById('conn').dataset.state === 'open');
  await untilPhase(page, 'waiting');
  await has(page, '#phase', '等待开标', 'phase 等待开标');
  await has(page, '#role', '主持人', 'the viewer is the host');
  await has(page, '#title', '开标 ', 'the tender title');
  await has(page, '#subtitle', tenderId, 'the tender id');
  await has(page, '#countdown-label', '距投标截止', 'countdown to the deadline');
  check(/^\d\d:\d\d:\d\d$/.test(await textOf(page, '#countdown')), 'the countdown shows hh:mm:ss');
  check(await page.locator('#host-box').isVisible(), 'host controls shown');
  check(await page.locator('#attendance tbody tr').count() === 0, 'nobody signed in yet');
  await shot(page, 'waiting');

  // 2. The host commits to a draw nonce; the SDK bidders sign in when they see it.
  await click(page, 'commit_host');
  await until(page, 'the host commitment is shown',
    () => !!document.querySelector('#draw td[data-field="host_commitment"] code'));
  check(await page.locator('#host-box button[data-action="commit_host"]').isDisabled(), 'commit_host disabled once committed');
  check(await page.evaluate((id) => /^[0-9a-f]{64}$/.test(localStorage.getItem('hall-host-nonce:' + id) || ''), tenderId),
    'the page keeps the host nonce in localStorage');
  // Before the list the host counts the sign-ins and never learns who signed in (SPEC §13).
  await until(page, 'the host counts the sign-ins (' + signedIn.length + ')', (k) => {
    const el = document.querySelector('[data-testid="attendance-count"] b');
    return !!el && el.textContent === String(k);
  }, signedIn.length, HALL_STEP);
  for (const o of signedIn) await lacks(page, '#attendance', nameOf(o), 'the host does not see who signed in: ' + o);
  await shot(page, 'signed-in');
  mark('signed-in');

  // 3. The deadline seals the bids; the host checks guarantees and publishes the list.
  await untilPhase(page, 'sealed', HALL_STEP);
  await has(page, '#phase', '已截标', 'phase 已截标');
  await untilText(page, '#bidders', '数量 ' + orgs.length, 'the seal counts every bid');
  await click(page, 'check_guarantees');
  await click(page, 'publish_list');
  await untilPhase(page, 'listed');
  await has(page, '#phase', '名单已公布', 'phase 名单已公布');
  await untilCount(page, '#bidders tbody tr', orgs.length, 'every bidder listed');
  // Once the list is published the page takes a fresh snapshot: who signed in is public now.
  await untilCount(page, '#attendance tbody tr', signedIn.length, 'attendance of the signed-in bidders', HALL_STEP);
  for (const o of signedIn) await has(page, '#attendance tr[data-org="' + o + '"]', nameOf(o), 'attendance shows ' + o);
  check(await page.locator('#attendance tr[data-org="' + plan.absent + '"]').count() === 0, 'the absent bidder is not in the attendance');
  await has(page, '#bidders', '有效投标 ' + orgs.length, 'the list counts the valid bids');
  await has(page, row(plan.absent), '现金', 'cash bonds shown as the guarantee');
  await shot(page, 'listed');

  // The public may watch now: read-only, no controls.
  const pub = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  const ppage = await pub.newPage();
  ppage.on('pageerror', (e) => pageErrors.push('public: ' + String(e)));
  await ppage.goto(pageUrl);
  await until(ppage, 'the public joined', () => document.getElementById('role').dataset.role === 'public');
  await has(ppage, '#role', '公众（只读）', 'the public is read-only');
  await untilPhase(ppage, 'listed');
  await untilCount(ppage, '#bidders tbody tr', orgs.length, 'the public sees the list');
  check(!(await ppage.locator('#host-box').isVisible()), 'no host controls for the public');
  check(await ppage.locator('button[data-action]').count() === 0, 'no action buttons for the public');
  await shot(ppage, 'public-listed');

  // 4. The window: the SDK bidders decrypt; the grid follows live.
  await click(page, 'open_window');
  await untilPhase(page, 'decrypting');
  await has(page, '#countdown-label', '距解密截止', 'countdown to the window close');
  await untilCount(page, '#bidders tbody tr[data-status="done"]', done.length, 'bids decrypted', HALL_STEP);
  await until(page, 'the wrong key failed', (r) => { const el = document.querySelector(r); return !!el && el.dataset.status === 'failed'; }, row(plan.wrong), HALL_STEP);
  await has(page, row(plan.wrong), '失败', 'wrong key: 失败');
  await has(page, row(plan.wrong), '密钥错误', 'wrong key: cause 密钥错误');
  await has(page, row(plan.absent), '等待', 'no attempt yet: 等待');
  await has(page, row(plan.backup), '备份文件', 'the backup bid is done via its backup file');
  for (const o of done) await has(page, row(o), '已解密', o + ' 已解密');
  await untilText(page, '#remedies', '已上传备份文件', 'the backup upload is among the remedies', HALL_STEP);
  await untilText(page, '#help', '主文件损坏', 'the help request is shown to the host', HALL_STEP);
  await noSummaries(page, 'the host');
  await shot(page, 'decrypting');
  mark('decrypting');

  // 5. The window closes on the clock: the silent bidder fails with its cause.
  await untilPhase(page, 'decrypted', HALL_STEP);
  await has(page, '#phase', '解密结束', 'phase 解密结束');
  await until(page, 'the absent bidder failed', (r) => { const el = document.querySelector(r); return !!el && el.dataset.status === 'failed'; }, row(plan.absent), HALL_STEP);
  await has(page, row(plan.absent), '未提交密钥', 'no attempt: cause 未提交密钥');
  await has(page, row(plan.absent), '投标人原因', 'no attempt: bidder side');
  await has(page, row(plan.absent), '视为撤销投标', 'no attempt: deemed revoked');
  await has(page, row(plan.wrong), '密钥错误', 'wrong key: the cause stays');
  await untilCount(page, '#objections tbody tr', 1, 'the objection is shown', HALL_STEP);
  await has(page, '#objections', '请复核备用文件', 'the objection text');
  await shot(page, 'window-closed');

  // 6. The draw: the host reveals the nonce the page kept; the representative reveals; the draw.
  await click(page, 'reveal_host');
  await untilPhase(page, 'drawing');
  await has(page, '#phase', '抽取中', 'phase 抽取中');
  const rep = await textOf(page, '#draw td[data-field="representative"]');
  check(signedIn.some((o) => rep.includes(nameOf(o))), 'the representative is a signed-in bidder (' + rep + ')');
  await until(page, 'the host nonce is shown', () => !!document.querySelector('#draw td[data-field="host_nonce"] code'));
  await until(page, 'the representative revealed', () => !!document.querySelector('#draw td[data-field="representative_nonce"] code'), null, HALL_STEP);
  await click(page, 'draw');
  await untilPhase(page, 'drawn');
  await has(page, '#phase', '已抽取', 'phase 已抽取');
  const drawn = (await textOf(page, '#draw [data-testid="drawn-value"]')).trim();
  check(['0.05', '0.08', '0.10'].includes(drawn), 'the drawn discount is a declared candidate (' + drawn + ')');
  const objectionId = await page.locator('#objections tbody tr').first().getAttribute('data-objection');
  await page.fill('#host-box form[data-action="answer"] input[name="objection_id"]', objectionId);
  await page.fill('#host-box form[data-action="answer"] input[name="text"]', '已复核：备用文件与封存承诺一致');
  await click(page, 'answer');
  await untilText(page, '#objections [data-testid="answer"]', '备用文件与封存承诺一致', 'the answer is shown');
  await has(page, '#announcement', '暂无', 'no announcement yet');
  await noSummaries(page, 'the host');
  await noSummaries(ppage, 'the public');
  await shot(page, 'drawn');

  // 7. The announcement (唱标): prices in ¥, the ceiling, the causes of the failed bids.
  await click(page, 'announce');
  await untilPhase(page, 'announced');
  await has(page, '#phase', '已唱标', 'phase 已唱标');
  await has(page, '#countdown-label', '距确认截止', 'countdown to the confirmation close');
  await has(page, '#announcement', '投标报价', 'the summary field label');
  await has(page, '#announcement', plan.ceiling, 'the ceiling price in ¥');
  await has(page, '#announcement', drawn, 'the drawn discount restated');
  for (const o of done) await has(page, '#announcement tr[data-org="' + o + '"]', plan.prices[o], o + ' price ' + plan.prices[o]);
  await has(page, '#announcement tr[data-org="' + plan.absent + '"]', '未提交密钥', 'the absent bid is announced with its cause');
  await has(page, '#announcement tr[data-org="' + plan.wrong + '"]', '密钥错误', 'the wrong-key bid is announced with its cause');
  const heads = await page.locator('[data-testid="announcement-table"] th').allTextContents();
  check(!heads.includes('tool_version') && !heads.includes('machine_fingerprint'),
    "no column for the sealer's own metadata (" + heads.join(', ') + ')');
  await lacks(page, '#announcement tr[data-org="' + plan.wrong + '"]', plan.prices[plan.wrong], 'no price for the wrong-key bid');
  const digest = (await textOf(page, '[data-testid="record-digest"]')).trim();
  check(/^[0-9a-f]{64}$/.test(digest), 'the record digest is shown');
  await shot(page, 'announced');
  await untilPhase(ppage, 'announced');
  for (const o of done) await has(ppage, '#announcement tr[data-org="' + o + '"]', plan.prices[o], 'the public sees ' + o + "'s price");
  await shot(ppage, 'public-announced');

  // 8. Confirmations: every signed-in bidder signs the digest; the absent one stays silent.
  await untilCount(page, '#confirmations tr[data-confirmed="yes"]', signedIn.length, 'confirmations', HALL_STEP);
  await has(page, '#confirmations tr[data-org="' + plan.absent + '"]', '待确认', 'the absent bidder is pending');
  await shot(page, 'confirmed');
  mark('confirmed');

  // 9. Confirmations close on the clock; the signed record is published.
  await untilPhase(page, 'recorded', HALL_STEP);
  await has(page, '#phase', '开标记录已发布', 'phase 开标记录已发布');
  check(await page.locator('[data-testid="banner-recorded"]').count() === 1, 'the recorded banner');
  await has(page, '#confirmations', nameOf(plan.absent), 'the silent bidder is named');
  check(await page.locator('#confirmations tr[data-confirmed="no"]').count() === 1, 'one silent bidder');
  const href = await page.locator('[data-testid="record-link"]').getAttribute('href');
  check(href === '/api/v1/tenders/' + tenderId + '/opening-record', 'the record link (' + href + ')');
  const rec = await page.request.get(new URL(href, pageUrl).toString());
  check(rec.status() === 200, 'the record link answers 200');
  const recText = await rec.text();
  check(recText.includes(tenderId) && recText.includes(digest), 'the record names the tender and the announced digest');
  await has(page, '#record', digest.slice(0, 16), 'the record section shows the digest');
  await shot(page, 'recorded');

  // 10. English, once.
  await page.locator('#lang').click();
  await untilText(page, '#phase', 'recorded', 'phase in English');
  await has(page, 'main', 'Announcement', 'section titles in English');
  await has(page, row(plan.absent), 'no key submitted', 'the cause in English');
  await has(page, row(plan.backup), 'backup file', 'the remedy in English');
  await has(page, '#lang', '中文', 'the toggle offers Chinese back');
  await has(page, '#act-status', 'Announce', "the last action's status in English too");
  check(await page.locator('#host-box button[data-action="answer"]').isDisabled(), 'no answers once recorded');
  await shot(page, 'english');

  check(pageErrors.length === 0, 'no script errors on the pages' + (pageErrors.length ? ': ' + pageErrors.join('; ') : ''));
  check(await page.locator('[data-testid="banner-error"]').count() === 0, 'no error banner');
  await pub.close();
} catch (e) {
  failures++;
  console.log('FAIL ' + (e && e.stack ? e.stack : e));
} finally {
  await browser.close();
}
console.log(failures === 0 ? 'hall live: all checks passed' : 'hall live: ' + failures + ' check(s) failed');
process.exit(failures === 0 ? 0 : 1);
