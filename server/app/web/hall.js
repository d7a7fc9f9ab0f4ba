// The opening hall page: a client of protocol/docs/hall-protocol.md. No framework, no build step.
// State = the last snapshot with every later event applied in seq order; the page is re-rendered
// from that state. Served by tenderd at /hall/{tender_id} (routes_web.cpp).
(function () {
  'use strict';

  // ---- labels ----------------------------------------------------------------------------------
  const DICT = {
    zh: {
      app_title: '不见面开标大厅', lang_other: 'English',
      conn_connecting: '连接中', conn_open: '已连接', conn_closed: '已断开，正在重连', conn_idle: '未连接',
      phase_waiting: '等待开标', phase_sealed: '已截标', phase_listed: '名单已公布',
      phase_decrypting: '解密中', phase_decrypted: '解密结束', phase_drawing: '抽取中',
      phase_drawn: '已抽取', phase_announced: '已唱标（确认中）', phase_recorded: '开标记录已发布',
      phase_failed: '流标', phase_unknown: '—',
      role_host: '主持人', role_supervisor: '监督人', role_bidder: '投标人', role_custodian: '密钥托管人',
      role_public: '公众（只读）',
      cd_deadline: '距投标截止', cd_opening: '距开标', cd_window: '距解密截止', cd_confirm: '距确认截止',
      cd_none: '', cd_passed: '时间已到',
      deadline_at: '投标截止', opening_at: '开标时间', window: '解密时间窗', confirm_closes_at: '确认截止',
      server_time: '服务器时间',
      token_label: '令牌', token_use: '使用令牌', token_clear: '以公众身份查看',
      attendance: '签到', bidders: '投标人与解密', remedies: '补救（备份文件、托管份额）',
      draw: '抽取', announcement: '唱标', confirmations: '确认', objections: '异议与答复',
      help: '求助', outages: '平台故障', record: '开标记录', events: '事件',
      none: '暂无', org: '投标人', signed_in_at: '签到时间', lot: '标段', guarantee: '保证金',
      status: '状态', attempts: '次数', via: '方式', cause: '原因', side: '责任方', treatment: '处理',
      shares: '托管份额', confirmed: '确认', message: '说明', title: '项目', project_code: '项目编号',
      st_waiting: '等待', st_decrypting: '解密中', st_done: '已解密', st_failed: '失败',
      g_valid: '有效', g_invalid: '无效', g_none: '无', g_cash: '现金', g_pending: '待核验',
      via_bidder: '投标人密钥', via_backup: '备份文件', via_escrow: '托管恢复',
      cause_no_attempt: '未提交密钥', cause_wrong_key: '密钥错误', cause_bad_file: '文件无法解密或校验失败',
      cause_escrow_incomplete: '托管份额不足', cause_platform_outage: '平台故障',
      cause_file_unavailable: '平台存储的文件无法读取', cause_decryption_incomplete: '平台解密未完成',
      side_bidder: '投标人原因', side_platform: '平台原因',
      tr_revoked: '视为撤销投标', tr_withdrawn: '视为撤回',
      yes: '是', no: '否', pending: '待确认',
      host_commitment: '主持人承诺', host_nonce: '主持人随机数', representative: '投标人代表',
      representative_nonce: '代表随机数', drawn_value: '抽取结果', seed: '种子',
      ceiling_price: '最高限价', draw_value: '下浮率', record_digest: '记录摘要',
      confirmed_list: '已确认', silent_list: '未确认（视为无异议）',
      paused: '主持人已暂停', suspended: '监督人已暂停开标', failed_banner: '流标',
      recorded_banner: '开标记录已发布', not_public: '投标人名单尚未公布，公布后自动显示。',
      reason: '理由', answer: '答复', raised_at: '提出时间', text: '内容', from: '开始', to: '结束',
      seconds: '秒', detected_by: '检测节点', record_json: '开标记录（JSON）', record_html: '开标记录（打印版）',
      log_index: '日志序号', backup_uploaded: '已上传备份文件', share_submitted: '已提交托管份额',
      size: '大小', custodian: '托管人', window_closed: '解密时间窗已关闭',
      host_controls: '主持人操作', supervisor_controls: '监督人操作', bidder_controls: '投标人操作',
      a_commit_host: '提交主持人承诺', a_check_guarantees: '核验保证金', a_publish_list: '公布投标人名单',
      a_open_window: '开启解密', a_extend_window: '延长解密时间', a_reveal_host: '公开主持人随机数',
      a_draw: '抽取参数', a_announce: '唱标', a_finish: '完成并发布开标记录', a_pause: '暂停',
      a_resume: '恢复', a_answer: '答复异议', a_suspend: '暂停开标（监督）', a_unsuspend: '恢复开标（监督）',
      a_object: '提出异议', nonce_ph: '主持人随机数（十六进制，留空则用本机保存的）',
      reason_ph: '理由', seconds_ph: '秒数', objection_id_ph: '异议编号', text_ph: '内容',
      lot_ph: '标段（可选）', act_sent: '已发送：', act_ok: '已完成：', act_err: '失败：',
      phase_label: '阶段', time_label: '时间', kind_label: '事件', viewer: '身份',
      seals: '封存', count: '数量', root: '根哈希', min_bids: '最少有效投标数', valid: '有效投标',
      help_from: '求助方', drawn_at: '抽取', draw_inputs: '抽取输入', redacted: '（不可见）',
      signed_in_count: '已签到', names_secret: '（名单公布前不公开签到单位）'
    },
    en: {
      app_title: 'Remote bid opening hall', lang_other: '中文',
      conn_connecting: 'connecting', conn_open: 'connected', conn_closed: 'disconnected, reconnecting',
      conn_idle: 'not connected',
      phase_waiting: 'waiting', phase_sealed: 'sealed', phase_listed: 'list published',
      phase_decrypting: 'decrypting', phase_decrypted: 'decryption over', phase_drawing: 'drawing',
      phase_drawn: 'drawn', phase_announced: 'announced (confirming)', phase_recorded: 'recorded',
      phase_failed: 'failed', phase_unknown: '—',
      role_host: 'host', role_supervisor: 'supervisor', role_bidder: 'bidder', role_custodian: 'custodian',
      role_public: 'public (read-only)',
      cd_deadline: 'until the deadline', cd_opening: 'until the opening', cd_window: 'until the window closes',
      cd_confirm: 'until confirmation closes', cd_none: '', cd_passed: 'time is up',
      deadline_at: 'deadline', opening_at: 'opening', window: 'decryption window',
      confirm_closes_at: 'confirmation closes', server_time: 'server time',
      token_label: 'Token', token_use: 'Use token', token_clear: 'View as public',
      attendance: 'Attendance', bidders: 'Bidders and decryption',
      remedies: 'Remedies (backup files, escrow shares)', draw: 'Draw', announcement: 'Announcement',
      confirmations: 'Confirmations', objections: 'Objections and answers', help: 'Help requests',
      outages: 'Platform outages', record: 'Opening record', events: 'Events',
      none: 'none yet', org: 'bidder', signed_in_at: 'signed in', lot: 'lot', guarantee: 'guarantee',
      status: 'status', attempts: 'attempts', via: 'via', cause: 'cause', side: 'side',
      treatment: 'treatment', shares: 'escrow shares', confirmed: 'confirmed', message: 'message',
      title: 'project', project_code: 'project code',
      st_waiting: 'waiting', st_decrypting: 'decrypting', st_done: 'decrypted', st_failed: 'failed',
      g_valid: 'valid', g_invalid: 'invalid', g_none: 'none', g_cash: 'cash', g_pending: 'pending',
      via_bidder: 'bidder key', via_backup: 'backup file', via_escrow: 'escrow',
      cause_no_attempt: 'no key submitted', cause_wrong_key: 'wrong key',
      cause_bad_file: 'file does not decrypt or verify', cause_escrow_incomplete: 'too few escrow shares',
      cause_platform_outage: 'platform outage', side_bidder: 'bidder', side_platform: 'platform',
      cause_file_unavailable: 'stored file unavailable on the platform',
      cause_decryption_incomplete: 'decryption did not finish on the platform',
      tr_revoked: 'deemed revoked', tr_withdrawn: 'deemed withdrawn',
      yes: 'yes', no: 'no', pending: 'pending',
      host_commitment: 'host commitment', host_nonce: 'host nonce', representative: 'representative',
      representative_nonce: 'representative nonce', drawn_value: 'drawn value', seed: 'seed',
      ceiling_price: 'ceiling price', draw_value: 'discount', record_digest: 'record digest',
      confirmed_list: 'confirmed', silent_list: 'silent (no objection)',
      paused: 'paused by the host', suspended: 'suspended by the supervisor', failed_banner: 'the opening failed',
      recorded_banner: 'the opening record is published',
      not_public: 'The bidder list is not public yet; the hall appears once it is.',
      reason: 'reason', answer: 'answer', raised_at: 'raised', text: 'text', from: 'from', to: 'to',
      seconds: 'seconds', detected_by: 'detected by', record_json: 'opening record (JSON)',
      record_html: 'opening record (printable)', log_index: 'log index',
      backup_uploaded: 'backup file uploaded', share_submitted: 'escrow share submitted', size: 'size',
      custodian: 'custodian', window_closed: 'decryption window closed',
      host_controls: 'Host controls', supervisor_controls: 'Supervisor controls',
      bidder_controls: 'Bidder controls',
      a_commit_host: 'Commit host nonce', a_check_guarantees: 'Check guarantees',
      a_publish_list: 'Publish bidder list', a_open_window: 'Open decryption window',
      a_extend_window: 'Extend window', a_reveal_host: 'Reveal host nonce', a_draw: 'Draw parameters',
      a_announce: 'Announce', a_finish: 'Finish and publish record', a_pause: 'Pause', a_resume: 'Resume',
      a_answer: 'Answer objection', a_suspend: 'Suspend (supervisor)', a_unsuspend: 'Unsuspend (supervisor)',
      a_object: 'Raise objection', nonce_ph: 'host nonce (hex; empty: the one saved here)',
      reason_ph: 'reason', seconds_ph: 'seconds', objection_id_ph: 'objection id', text_ph: 'text',
      lot_ph: 'lot (optional)', act_sent: 'sent: ', act_ok: 'done: ', act_err: 'failed: ',
      phase_label: 'phase', time_label: 'time', kind_label: 'event', viewer: 'viewer',
      seals: 'Seals', count: 'count', root: 'root', min_bids: 'minimum valid bids', valid: 'valid bids',
      help_from: 'from', drawn_at: 'drawn', draw_inputs: 'draw inputs', redacted: '(not visible)',
      signed_in_count: 'signed in', names_secret: '(who signed in is secret until the list is published)'
    }
  };
  let lang = 'zh';
  try { if (localStorage.getItem('hall-lang') === 'en') lang = 'en'; } catch (e) { /* no storage */ }
  const t = (k) => (DICT[lang][k] !== undefined ? DICT[lang][k] : k);

  // ---- helpers ---------------------------------------------------------------------------------
  const $ = (id) => document.getElementById(id);
  const esc = (v) => String(v === null || v === undefined ? '' : v).replace(/[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  // RFC 3339 with any number of fraction digits (the server sends microseconds).
  function parseTime(s) {
    if (!s) return NaN;
    const m = /^(.*T\d\d:\d\d:\d\d)(\.\d+)?(.*)$/.exec(s);
    if (!m) return Date.parse(s);
    const frac = m[2] ? m[2].slice(0, 4).padEnd(4, '0') : '';
    return Date.parse(m[1] + frac + (m[3] || 'Z'));
  }
  function fmtTime(s) {
    const ms = typeof s === 'number' ? s : parseTime(s);
    if (isNaN(ms)) return s ? esc(s) : '—';
    const d = new Date(ms);
    return esc(d.toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-GB', {
      timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false
    }) + (lang === 'zh' ? '（北京时间）' : ' (UTC+8)'));
  }
  // Money in fen (integer, or a string of digits) as ¥ with two decimals; a decimal string is yuan.
  function fmtMoney(v) {
    if (v === null || v === undefined || v === '') return '—';
    let fen;
    if (typeof v === 'number' && Number.isFinite(v)) fen = BigInt(Math.round(v));
    else if (typeof v === 'string' && /^-?\d+$/.test(v)) fen = BigInt(v);
    else if (typeof v === 'string' && /^-?\d+\.\d{1,2}$/.test(v)) {
      const neg = v.startsWith('-');
      const [a, b] = v.replace('-', '').split('.');
      fen = BigInt(a) * 100n + BigInt(b.padEnd(2, '0'));
      if (neg) fen = -fen;
    } else return esc(v);
    const neg = fen < 0n;
    if (neg) fen = -fen;
    const yuan = (fen / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    const cents = (fen % 100n).toString().padStart(2, '0');
    return (neg ? '-' : '') + '¥' + yuan + '.' + cents;
  }
  function fmtField(field, v) {
    if (v === null || v === undefined) return '—';
    switch (field && field.type) {
      case 'money': return fmtMoney(v);
      case 'days': return esc(v) + (lang === 'zh' ? ' 天' : ' days');
      default: return esc(typeof v === 'object' ? JSON.stringify(v) : v);
    }
  }
  const label = (prefix, v) => (v === null || v === undefined || v === '' ? '—' : esc(t(prefix + v)));
  function table(headers, rows, testid) {
    if (!rows.length) return '<p class="muted">' + esc(t('none')) + '</p>';
    return '<table' + (testid ? ' data-testid="' + testid + '"' : '') + '><thead><tr>' +
      headers.map((h) => '<th>' + esc(t(h)) + '</th>').join('') + '</tr></thead><tbody>' +
      rows.join('') + '</tbody></table>';
  }
  const short = (h) => (h ? '<code title="' + esc(h) + '">' + esc(String(h).slice(0, 16)) + '…</code>' : '—');

  // ---- state -----------------------------------------------------------------------------------
  const tenderId = decodeURIComponent(location.pathname.replace(/\/+$/, '').split('/').pop() || '');
  const S = {
    conn: 'idle',        // idle | connecting | open | closed
    viewer: null,        // welcome.viewer
    offset: 0,           // server clock - local clock (ms)
    seq: null,           // last applied seq (null: no snapshot yet)
    hall: null,          // §7 snapshot with events applied
    events: [],          // the last events, newest first (for the log)
    remedies: [],        // backup_uploaded / share_submitted events seen
    seals: null,
    notPublic: false,
    failure: null,
    confirmation: null,  // confirmation_closed data
    listMeta: null,      // list_published min_bids and per-lot counts
    fatal: null
  };
  window.hallState = S; // read by tests/browser

  function names() {
    const m = {};
    if (!S.hall) return m;
    for (const a of S.hall.attendance || []) m[a.org_id] = a.name;
    for (const b of S.hall.bidders || []) if (b.name) m[b.org_id] = b.name;
    return m;
  }
  const orgName = (id) => { const n = names()[id]; return n ? esc(n) : '<code>' + esc(id) + '</code>'; };

  function emptyHall() {
    return { tender: { id: tenderId, lots: [] }, phase: null, paused: null, suspended: null, times: {},
      attendance: [], bidders: [], draw: {}, announcement: null, record_digest: null, objections: [],
      help: [], outages: [], record: null, escrow: null };
  }
  function bidderRow(lot, org) {
    const h = S.hall;
    let b = h.bidders.find((x) => x.lot === lot && x.org_id === org);
    if (!b) {
      b = { lot: lot, org_id: org, name: null, guarantee: null, listed: false, status: 'waiting', attempts: 0,
        via: null, cause: null, side: null, treatment: null, message: null, help: false, shares: 0,
        confirmed: null, escrow_r: null, summary: null };
      h.bidders.push(b);
    }
    return b;
  }

  // Applies one event (§6) to the state.
  function apply(ev) {
    const h = S.hall;
    const d = ev.data || {};
    switch (ev.kind) {
      case 'opened': h.phase = d.phase || 'waiting'; break;
      case 'signed_in':
        // The host before the list: a sign-in without who (hall-protocol.md §6); count it.
        if (!d.org_id) {
          h.attendance_total = (h.attendance_total !== undefined ? h.attendance_total : h.attendance.length) + 1;
          break;
        }
        if (!h.attendance.some((a) => a.org_id === d.org_id)) {
          h.attendance.push({ org_id: d.org_id, name: d.name, signed_in_at: d.signed_in_at });
        }
        break;
      case 'host_committed': h.draw.host_commitment = d.commitment; break;
      case 'bids_sealed': h.phase = 'sealed'; S.seals = d.lots || []; break;
      case 'guarantees_checked':
        for (const r of d.results || []) bidderRow(r.lot, r.org_id).guarantee = r.guarantee;
        break;
      case 'list_published':
        h.phase = 'listed';
        S.listMeta = { min_bids: d.min_bids, lots: (d.lots || []).map((l) => ({ lot: l.lot, valid: l.valid })) };
        // Who signed in is public now: a page that had only the count takes a fresh snapshot.
        if (h.attendance_total !== undefined) S.resnapshot = true;
        for (const l of d.lots || []) {
          for (const x of l.bidders || []) {
            const b = bidderRow(l.lot, x.org_id);
            b.name = x.name; b.guarantee = x.guarantee; b.escrow_r = x.escrow_r; b.listed = true;
          }
        }
        break;
      case 'failed': h.phase = 'failed'; S.failure = d; break;
      case 'window_opened':
        h.phase = 'decrypting';
        h.times.window_opens_at = d.window_opens_at; h.times.window_closes_at = d.window_closes_at;
        break;
      case 'decryption_status': {
        const b = bidderRow(d.lot, d.org_id);
        for (const k of ['status', 'attempts', 'via', 'cause', 'side', 'treatment', 'message']) {
          if (k in d) b[k] = d[k];
        }
        break;
      }
      case 'help_requested':
        h.help.push({ help_id: d.help_id, lot: d.lot, org_id: d.org_id, text: d.text, at: ev.at });
        bidderRow(d.lot, d.org_id).help = true;
        break;
      case 'backup_uploaded':
      case 'share_submitted':
        S.remedies.push({ kind: ev.kind, at: ev.at, data: d });
        if (ev.kind === 'share_submitted') bidderRow(d.lot, d.org_id).shares = d.shares;
        break;
      case 'outage_recorded': h.outages.push({ from: d.from, to: d.to, seconds: d.seconds, detected_by: d.detected_by }); break;
      case 'window_extended': h.times.window_closes_at = d.window_closes_at; break;
      case 'window_closed': h.phase = 'decrypted'; break;
      case 'host_revealed': h.draw.host_nonce = d.nonce; if (d.commitment) h.draw.host_commitment = d.commitment; break;
      case 'representative_drawn':
        h.phase = 'drawing'; h.draw.representative = d.representative; h.draw.representative_draw = d.draw;
        break;
      case 'representative_revealed': h.draw.representative_nonce = d.nonce; break;
      case 'parameters_drawn': h.phase = 'drawn'; h.draw.draws = d.draws || []; break;
      case 'announced':
        h.phase = 'announced'; h.announcement = d; h.record_digest = d.record_digest;
        h.times.confirm_closes_at = d.confirm_closes_at;
        for (const l of d.lots || []) {
          for (const r of l.rows || []) {
            const b = bidderRow(l.lot, r.org_id);
            if (r.summary !== undefined) b.summary = r.summary;
            if (b.confirmed === null || b.confirmed === undefined) b.confirmed = false;
          }
        }
        break;
      case 'confirmed':
        for (const b of h.bidders) if (b.org_id === d.org_id) b.confirmed = true;
        break;
      case 'confirmation_closed': S.confirmation = d; break;
      case 'objection_raised':
        h.objections.push({ objection_id: d.objection_id, org_id: d.org_id, lot: d.lot, text: d.text,
          answer: null, raised_at: ev.at, answered_at: null });
        break;
      case 'objection_answered': {
        const o = h.objections.find((x) => x.objection_id === d.objection_id);
        if (o) { o.answer = d.text; o.answered_at = ev.at; }
        break;
      }
      case 'paused': h.paused = { reason: d.reason, at: ev.at }; break;
      case 'resumed': h.paused = null; break;
      case 'suspended': h.suspended = { reason: d.reason, at: ev.at }; break;
      case 'unsuspended': h.suspended = null; break;
      case 'recorded':
        h.phase = 'recorded';
        h.record = { record_digest: d.record_digest, log_index: d.log_index, url: d.url };
        break;
      default: break; // redacted, or a kind this page does not know: the seq still counts
    }
  }

  // ---- the connection --------------------------------------------------------------------------
  let ws = null;
  let token = null;
  let retry = 0;
  let retryTimer = null;
  let pingTimer = null;
  let actCounter = 0;
  const pending = {};

  function readFragmentToken() {
    const m = /(?:^|[#&])token=([^&]*)/.exec(location.hash);
    return m ? decodeURIComponent(m[1]) : null;
  }

  function connect() {
    clearTimeout(retryTimer);
    if (ws) { ws.onclose = null; ws.onmessage = null; try { ws.close(); } catch (e) { /* closed */ } }
    S.conn = 'connecting';
    render();
    const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws/halls/' +
      encodeURIComponent(tenderId);
    const sock = new WebSocket(url);
    ws = sock;
    sock.onopen = () => {
      sock.send(JSON.stringify({ type: 'hello', token: token, after: S.seq }));
    };
    sock.onmessage = (m) => { if (ws === sock) onMessage(sock, m.data); };
    sock.onclose = () => { if (ws === sock) lost(); };
    sock.onerror = () => { /* onclose follows */ };
  }

  function lost() {
    ws = null;
    clearInterval(pingTimer);
    S.conn = 'closed';
    for (const id of Object.keys(pending)) delete pending[id];
    render();
    const delay = Math.min(10000, 300 * Math.pow(2, retry++));
    retryTimer = setTimeout(connect, S.notPublic ? Math.max(delay, 5000) : delay);
  }

  // Drops what the page holds and joins again for a new snapshot (after the list: who signed in
  // is public now).
  function freshSnapshot() {
    S.resnapshot = false; S.seq = null; S.hall = null; S.events = [];
    resync();
  }

  // Closes the socket and resumes from the last applied seq.
  function resync() {
    if (ws) { const s = ws; ws = null; s.onclose = null; try { s.close(); } catch (e) { /* closed */ } }
    clearInterval(pingTimer);
    S.conn = 'closed';
    retryTimer = setTimeout(connect, 0);
  }

  function onMessage(sock, text) {
    let m;
    try { m = JSON.parse(text); } catch (e) { return; }
    switch (m.type) {
      case 'welcome':
        S.conn = 'open'; retry = 0; S.viewer = m.viewer; S.notPublic = false; S.fatal = null;
        if (m.server_time) S.offset = parseTime(m.server_time) - Date.now();
        clearInterval(pingTimer);
        pingTimer = setInterval(() => { if (ws === sock) sock.send('{"type":"ping"}'); }, 20000);
        break;
      case 'snapshot':
        S.hall = Object.assign(emptyHall(), m.hall || {});
        for (const k of ['times', 'draw']) if (!S.hall[k]) S.hall[k] = {};
        for (const k of ['attendance', 'bidders', 'objections', 'help', 'outages']) if (!S.hall[k]) S.hall[k] = [];
        if (S.hall.times.server_time) S.offset = parseTime(S.hall.times.server_time) - Date.now();
        S.seq = m.seq;
        break;
      case 'event':
        if (S.seq === null || !S.hall) { resync(); return; }
        if (m.seq <= S.seq) return;            // already applied (a replay overlap)
        if (m.seq !== S.seq + 1) { resync(); return; } // a gap: resume from the last seq
        apply(m);
        // The fresh snapshot waits for the answers to this page's acts still in flight (the
        // host's publish_list among them): closing the socket now would lose them.
        if (S.resnapshot && !Object.keys(pending).length) { freshSnapshot(); return; }
        S.seq = m.seq;
        S.events.unshift(m);
        if (S.events.length > 200) S.events.length = 200;
        break;
      case 'ack': {
        const what = pending[m.id]; delete pending[m.id];
        actStatus('ok', what || m.id, m.result);
        if (what === 'commit_host' && m.result !== undefined) saveNonce();
        if (S.resnapshot && !Object.keys(pending).length) { freshSnapshot(); render(); return; }
        break;
      }
      case 'error': {
        const code = m.error && m.error.code;
        if (m.id) {
          const what = pending[m.id]; delete pending[m.id];
          actStatus('err', what || m.id, m.error);
          if (S.resnapshot && !Object.keys(pending).length) { freshSnapshot(); render(); return; }
          break;
        }
        if (code === 'hall.not_public_yet') { S.notPublic = true; }
        else if (code === 'hall.bad_cursor') { S.seq = null; S.hall = null; S.events = []; S.remedies = []; }
        else { S.fatal = m.error; }
        break;
      }
      default: break;
    }
    render();
  }

  function act(action, params) {
    if (!ws || S.conn !== 'open') { actStatus('err', action, { code: 'websocket.closed', message: t('conn_closed') }); return; }
    const id = 'web-' + Date.now().toString(36) + '-' + (++actCounter);
    pending[id] = action;
    ws.send(JSON.stringify(Object.assign({ type: 'act', id: id, action: action }, params || {})));
    actStatus('sent', action);
  }
  let lastAct = null; // redrawn in the other language on the toggle
  function actStatus(kind, action, detail) {
    lastAct = [kind, action, detail];
    const el = $('act-status');
    const word = kind === 'ok' ? t('act_ok') : kind === 'err' ? t('act_err') : t('act_sent');
    el.className = 'small ' + (kind === 'ok' ? 'act-ok' : kind === 'err' ? 'act-err' : '');
    el.dataset.state = kind;
    el.dataset.action = action;
    el.textContent = word + (DICT[lang]['a_' + action] || action) +
      (detail && detail.code ? ' (' + detail.code + (detail.message ? ': ' + detail.message : '') + ')' : '');
  }

  // The host's draw nonce: generated here, kept in localStorage until the reveal.
  let nonceDraft = null;
  const nonceKey = () => 'hall-host-nonce:' + tenderId;
  function saveNonce() { if (nonceDraft) { try { localStorage.setItem(nonceKey(), nonceDraft); } catch (e) { /* none */ } } }
  async function commitHost() {
    const raw = new Uint8Array(32);
    crypto.getRandomValues(raw);
    const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    nonceDraft = hex(raw);
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', raw));
    saveNonce();
    act('commit_host', { commitment: hex(digest) });
  }

  // ---- rendering -------------------------------------------------------------------------------
  let renderQueued = false;
  function render() {
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(() => { renderQueued = false; draw(); });
  }

  function countdown() {
    const h = S.hall;
    const now = Date.now() + S.offset;
    $('clock').textContent = t('server_time') + ' ' + fmtTime(now).replace(/&[a-z#0-9]+;/g, '');
    if (!h || !h.tender) { $('countdown').textContent = ''; $('countdown-label').textContent = ''; return; }
    let key = 'cd_none', target = null;
    switch (h.phase) {
      case 'waiting': key = 'cd_deadline'; target = h.tender.deadline_at; break;
      case 'sealed': case 'listed': key = 'cd_opening'; target = h.tender.opening_at; break;
      case 'decrypting': key = 'cd_window'; target = h.times.window_closes_at; break;
      case 'announced': key = 'cd_confirm'; target = h.times.confirm_closes_at; break;
      default: break;
    }
    $('countdown-label').textContent = t(key);
    const ms = parseTime(target) - now;
    const el = $('countdown');
    if (!target || isNaN(ms)) { el.textContent = '—'; el.dataset.remaining = ''; return; }
    el.dataset.remaining = String(Math.max(0, Math.round(ms / 1000)));
    if (ms <= 0) { el.textContent = t('cd_passed'); return; }
    const s = Math.floor(ms / 1000);
    const dd = Math.floor(s / 86400), hh = Math.floor((s % 86400) / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
    const p = (n) => String(n).padStart(2, '0');
    el.textContent = (dd ? dd + (lang === 'zh' ? '天 ' : 'd ') : '') + p(hh) + ':' + p(mm) + ':' + p(ss);
  }

  function lotsOf(h) { return (h.tender && h.tender.lots) || []; }
  function lotSpec(h, lot) { return lotsOf(h).find((l) => (l.lot !== undefined ? l.lot : l.lot_no) === lot) || {}; }

  function draw() {
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
    document.title = t('app_title');
    for (const el of document.querySelectorAll('[data-t]')) el.textContent = t(el.dataset.t);
    $('lang').textContent = t('lang_other');
    const conn = $('conn');
    conn.className = 'badge conn-' + S.conn;
    conn.dataset.state = S.conn;
    conn.textContent = t('conn_' + S.conn);
    const h = S.hall;
    const phase = h && h.phase ? h.phase : 'unknown';
    $('phase').textContent = t('phase_' + phase);
    $('phase').dataset.phase = phase;
    const role = S.viewer ? S.viewer.role : null;
    $('role').textContent = role ? t('role_' + role) : '';
    $('role').dataset.role = role || '';
    document.body.dataset.seq = S.seq === null ? '' : String(S.seq);
    document.body.dataset.phase = phase;
    countdown();
    drawBanners();
    if (h) {
      $('title').textContent = h.tender.title || t('app_title');
      $('subtitle').textContent = [h.tender.project_code, h.tender.id].filter(Boolean).join(' · ');
      const tm = [];
      if (h.tender.deadline_at) tm.push(t('deadline_at') + ' ' + fmtTime(h.tender.deadline_at));
      if (h.tender.opening_at) tm.push(t('opening_at') + ' ' + fmtTime(h.tender.opening_at));
      if (h.times.window_opens_at) tm.push(t('window') + ' ' + fmtTime(h.times.window_opens_at) + ' – ' + fmtTime(h.times.window_closes_at));
      if (h.times.confirm_closes_at) tm.push(t('confirm_closes_at') + ' ' + fmtTime(h.times.confirm_closes_at));
      $('times').innerHTML = tm.join('<br>');
    } else {
      $('subtitle').textContent = tenderId;
    }
    drawControls(role);
    if (!h) {
      for (const id of ['attendance', 'bidders', 'remedies', 'draw', 'announcement', 'confirmations', 'objections', 'help', 'outages', 'record']) {
        $(id).innerHTML = '<p class="muted">' + esc(t('none')) + '</p>';
      }
      $('events').innerHTML = '';
      return;
    }
    drawAttendance(h); drawBidders(h); drawRemedies(h); drawDraw(h); drawAnnouncement(h);
    drawConfirmations(h); drawObjections(h); drawHelp(h); drawOutages(h); drawRecord(h); drawEvents();
  }

  function drawBanners() {
    const h = S.hall;
    const out = [];
    if (S.notPublic) out.push('<div class="banner info" data-testid="banner-not-public">' + esc(t('not_public')) + '</div>');
    if (S.fatal) out.push('<div class="banner failed" data-testid="banner-error">' + esc(S.fatal.code) + ': ' + esc(S.fatal.message) + '</div>');
    if (h && h.suspended) out.push('<div class="banner suspended" data-testid="banner-suspended">' + esc(t('suspended')) + ' — ' + esc(t('reason')) + ': ' + esc(h.suspended.reason) + '</div>');
    if (h && h.paused) out.push('<div class="banner paused" data-testid="banner-paused">' + esc(t('paused')) + ' — ' + esc(t('reason')) + ': ' + esc(h.paused.reason) + '</div>');
    if (h && h.phase === 'failed') out.push('<div class="banner failed" data-testid="banner-failed">' + esc(t('failed_banner')) + (S.failure && S.failure.reason ? ' — ' + esc(S.failure.reason) : '') + '</div>');
    if (h && h.phase === 'recorded') out.push('<div class="banner recorded" data-testid="banner-recorded">' + esc(t('recorded_banner')) + '</div>');
    $('banners').innerHTML = out.join('');
  }

  function drawAttendance(h) {
    const rows = (h.attendance || []).map((a) => '<tr data-org="' + esc(a.org_id) + '"><td>' + esc(a.name || a.org_id) +
      '</td><td>' + fmtTime(a.signed_in_at) + '</td></tr>');
    // The host before the list gets how many signed in, not who (attendance_total).
    const count = h.attendance_total !== undefined
      ? '<p data-testid="attendance-count">' + esc(t('signed_in_count')) + ' <b>' + esc(h.attendance_total) + '</b> ' +
        esc(t('names_secret')) + '</p>'
      : '';
    $('attendance').innerHTML = count + (count && !rows.length ? '' : table(['org', 'signed_in_at'], rows, 'attendance-table'));
  }

  function drawBidders(h) {
    const list = (h.bidders || []).slice().sort((a, b) => (a.lot - b.lot) || String(a.name || a.org_id).localeCompare(String(b.name || b.org_id)));
    const rows = list.map((b) => '<tr data-org="' + esc(b.org_id) + '" data-lot="' + esc(b.lot) + '" data-status="' + esc(b.status || '') + '">' +
      '<td>' + esc(b.lot) + '</td><td>' + esc(b.name || b.org_id) + '</td><td>' + label('g_', b.guarantee) + '</td>' +
      '<td class="st-' + esc(b.status || 'waiting') + '" data-testid="status">' + label('st_', b.status || 'waiting') + '</td>' +
      '<td class="num">' + esc(b.attempts || 0) + '</td><td>' + label('via_', b.via) + '</td>' +
      '<td data-testid="cause">' + label('cause_', b.cause) + '</td><td>' + label('side_', b.side) + '</td>' +
      '<td data-testid="treatment">' + label('tr_', b.treatment) + '</td>' +
      '<td class="num">' + (h.escrow ? esc(b.shares || 0) + '/' + esc(h.escrow.threshold) : '—') + '</td>' +
      '<td>' + esc(b.message || '') + '</td></tr>');
    let meta = '';
    if (S.seals && S.seals.length) {
      meta += '<p class="small">' + esc(t('seals')) + ': ' + S.seals.map((s) => esc(t('lot')) + ' ' + esc(s.lot) + ' — ' +
        esc(t('count')) + ' ' + esc(s.count) + ', ' + esc(t('root')) + ' ' + short(s.root)).join('; ') + '</p>';
    }
    if (S.listMeta) {
      meta += '<p class="small">' + esc(t('min_bids')) + ': ' + esc(S.listMeta.min_bids) + '; ' +
        S.listMeta.lots.map((l) => esc(t('lot')) + ' ' + esc(l.lot) + ' ' + esc(t('valid')) + ' ' + esc(l.valid)).join('; ') + '</p>';
    }
    $('bidders').innerHTML = meta + table(['lot', 'org', 'guarantee', 'status', 'attempts', 'via', 'cause', 'side', 'treatment', 'shares', 'message'], rows, 'bidders-table');
  }

  function drawRemedies(h) {
    const rows = S.remedies.map((r) => '<tr><td>' + fmtTime(r.at) + '</td><td>' + esc(t(r.kind)) + '</td><td>' + esc(r.data.lot) +
      '</td><td>' + orgName(r.data.org_id) + '</td><td>' +
      (r.kind === 'backup_uploaded' ? esc(t('size')) + ' ' + esc(r.data.size)
        : esc(t('custodian')) + ' ' + esc(r.data.custodian) + ', ' + esc(r.data.shares) + '/' + esc(r.data.threshold)) + '</td></tr>');
    const viaRows = (h.bidders || []).filter((b) => b.via === 'backup' || b.via === 'escrow').map((b) =>
      '<tr><td>—</td><td>' + label('via_', b.via) + '</td><td>' + esc(b.lot) + '</td><td>' + esc(b.name || b.org_id) + '</td><td>' + label('st_', b.status) + '</td></tr>');
    $('remedies').innerHTML = table(['time_label', 'kind_label', 'lot', 'org', 'message'], rows.concat(viaRows), 'remedies-table');
  }

  function drawDraw(h) {
    const d = h.draw || {};
    const kv = [['host_commitment', short(d.host_commitment)], ['host_nonce', short(d.host_nonce)],
      ['representative', d.representative ? orgName(d.representative) : '—'],
      ['representative_nonce', short(d.representative_nonce)]];
    let html = '<table data-testid="draw-table"><tbody>' + kv.map(([k, v]) => '<tr><th>' + esc(t(k)) + '</th><td data-field="' + k + '">' + v + '</td></tr>').join('') + '</tbody></table>';
    const draws = d.draws || [];
    if (draws.length) {
      html += table(['lot', 'drawn_value', 'seed'], draws.map((x) => '<tr data-lot="' + esc(x.lot) + '"><td>' + esc(x.lot) +
        '</td><td data-testid="drawn-value">' + esc(x.value) + '</td><td>' + short(x.draw && x.draw.seed) +
        ' <details><summary>' + esc(t('draw_inputs')) + '</summary><pre class="mono">' + esc(JSON.stringify(x.draw, null, 1)) + '</pre></details></td></tr>'), 'draws-table');
    }
    $('draw').innerHTML = html;
  }

  // Summary keys the sealing tool adds by itself (crypto/src/sealed_bid.cpp): not bid content.
  const SEALER_KEYS = ['machine_fingerprint', 'tool_version'];
  function drawAnnouncement(h) {
    const a = h.announcement;
    if (!a) { $('announcement').innerHTML = '<p class="muted">' + esc(t('none')) + '</p>'; return; }
    let html = '';
    for (const l of a.lots || []) {
      const spec = lotSpec(h, l.lot);
      const fields = spec.summary_fields || [];
      const keys = fields.map((f) => f.key);
      // Keys the tender did not declare get a column too, except the sealer's own metadata.
      for (const r of l.rows || []) for (const k of Object.keys(r.summary || {})) if (!keys.includes(k) && !SEALER_KEYS.includes(k)) { keys.push(k); fields.push({ key: k, label: k, type: 'text' }); }
      html += '<h3>' + esc(t('lot')) + ' ' + esc(l.lot) + (spec.title ? ' · ' + esc(spec.title) : '') + '</h3>';
      html += '<p class="small">' + esc(t('ceiling_price')) + ': ' + fmtMoney(l.ceiling_price) +
        (l.draw_value !== null && l.draw_value !== undefined ? '; ' + esc(t('draw_value')) + ': ' + esc(l.draw_value) : '') + '</p>';
      html += '<table data-testid="announcement-table" data-lot="' + esc(l.lot) + '"><thead><tr><th>' + esc(t('org')) + '</th><th>' + esc(t('status')) + '</th>' +
        fields.map((f) => '<th>' + esc(f.label || f.key) + '</th>').join('') + '<th>' + esc(t('cause')) + '</th></tr></thead><tbody>' +
        (l.rows || []).map((r) => '<tr data-org="' + esc(r.org_id) + '"><td>' + esc(r.name || r.org_id) + '</td><td class="st-' + esc(r.status) + '">' + label('st_', r.status) + '</td>' +
          fields.map((f) => '<td class="num" data-key="' + esc(f.key) + '">' + (r.summary ? fmtField(f, r.summary[f.key]) : '—') + '</td>').join('') +
          '<td>' + label('cause_', r.cause) + '</td></tr>').join('') + '</tbody></table>';
    }
    html += '<p class="small">' + esc(t('record_digest')) + ': <code data-testid="record-digest">' + esc(a.record_digest) + '</code></p>';
    $('announcement').innerHTML = html;
  }

  function drawConfirmations(h) {
    if (!h.announcement) { $('confirmations').innerHTML = '<p class="muted">' + esc(t('none')) + '</p>'; return; }
    const seen = {};
    const rows = [];
    for (const b of h.bidders || []) {
      if (!b.listed && b.confirmed === null) continue;
      if (seen[b.org_id]) continue;
      seen[b.org_id] = true;
      const state = b.confirmed ? 'yes' : (S.confirmation ? 'no' : 'pending');
      rows.push('<tr data-org="' + esc(b.org_id) + '" data-confirmed="' + state + '"><td>' + esc(b.name || b.org_id) + '</td><td>' + esc(t(state)) + '</td></tr>');
    }
    let html = table(['org', 'confirmed'], rows, 'confirmations-table');
    if (S.confirmation) {
      html += '<p class="small">' + esc(t('silent_list')) + ': ' + ((S.confirmation.silent || []).map(orgName).join(', ') || '—') + '</p>';
    }
    $('confirmations').innerHTML = html;
  }

  function drawObjections(h) {
    const rows = (h.objections || []).map((o) => '<tr data-objection="' + esc(o.objection_id) + '"><td><code>' + esc(o.objection_id) + '</code></td><td>' + orgName(o.org_id) +
      '</td><td>' + esc(o.lot === null || o.lot === undefined ? '—' : o.lot) + '</td><td>' + esc(o.text) + '</td><td data-testid="answer">' + esc(o.answer || '—') + '</td><td>' + fmtTime(o.raised_at) + '</td></tr>');
    $('objections').innerHTML = table(['objection_id_ph', 'org', 'lot', 'text', 'answer', 'raised_at'], rows, 'objections-table');
  }

  function drawHelp(h) {
    const rows = (h.help || []).map((x) => '<tr><td>' + fmtTime(x.at) + '</td><td>' + esc(x.lot) + '</td><td>' + orgName(x.org_id) + '</td><td>' + esc(x.text) + '</td></tr>');
    $('help').innerHTML = table(['time_label', 'lot', 'help_from', 'text'], rows, 'help-table');
  }

  function drawOutages(h) {
    const rows = (h.outages || []).map((o) => '<tr><td>' + fmtTime(o.from) + '</td><td>' + fmtTime(o.to) + '</td><td class="num">' + esc(o.seconds) + '</td></tr>');
    $('outages').innerHTML = table(['from', 'to', 'seconds'], rows, 'outages-table');
  }

  function drawRecord(h) {
    const r = h.record;
    if (!r) { $('record').innerHTML = '<p class="muted">' + esc(t('none')) + '</p>'; return; }
    const base = '/api/v1/tenders/' + encodeURIComponent(tenderId) + '/opening-record';
    const url = r.url && /^\/[^/]/.test(r.url) ? r.url : base;
    $('record').innerHTML = '<p><a data-testid="record-link" href="' + esc(url) + '">' + esc(t('record_json')) + '</a> · <a href="' + esc(base + '.html') + '">' + esc(t('record_html')) + '</a></p>' +
      '<p class="small">' + esc(t('record_digest')) + ': <code>' + esc(r.record_digest) + '</code>; ' + esc(t('log_index')) + ': ' + esc(r.log_index) + '</p>';
  }

  function drawEvents() {
    $('events').innerHTML = S.events.slice(0, 100).map((e) => '<li value="' + esc(e.seq) + '" data-kind="' + esc(e.kind) + '">' +
      (e.at ? fmtTime(e.at) + ' ' : '') + '<code>' + esc(e.kind) + '</code>' + (e.kind === 'redacted' ? ' ' + esc(t('redacted')) : '') + '</li>').join('');
  }

  // ---- controls --------------------------------------------------------------------------------
  const HOST_STEPS = [
    ['commit_host', ['waiting'], null], ['check_guarantees', ['sealed'], null], ['publish_list', ['sealed'], null],
    ['open_window', ['listed'], null], ['extend_window', ['decrypting'], 'extend'], ['reveal_host', ['decrypted'], 'nonce'],
    ['draw', ['drawing'], null], ['announce', ['drawn', 'decrypted'], null], ['finish', ['announced'], null],
    ['pause', null, 'reason'], ['resume', null, 'reason'],
    ['answer', ['listed', 'decrypting', 'decrypted', 'drawing', 'drawn', 'announced'], 'answer']
  ];
  let controlsFor = null;
  function drawControls(role) {
    const phase = S.hall ? S.hall.phase : null;
    const key = role + '|' + lang;
    if (controlsFor !== key) {
      controlsFor = key;
      $('host-box').hidden = role !== 'host';
      $('super-box').hidden = role !== 'supervisor';
      $('bidder-box').hidden = role !== 'bidder';
      $('host-box').innerHTML = role === 'host' ? '<h2>' + esc(t('host_controls')) + '</h2>' + HOST_STEPS.map(([a, , input]) => {
        const btn = '<button type="submit" class="primary" data-action="' + a + '">' + esc(t('a_' + a)) + '</button>';
        switch (input) {
          case 'extend': return '<form data-action="' + a + '"><input type="number" name="seconds" min="1" max="3600" placeholder="' + esc(t('seconds_ph')) + '"><input type="text" name="reason" placeholder="' + esc(t('reason_ph')) + '">' + btn + '</form>';
          case 'nonce': return '<form data-action="' + a + '"><input type="text" name="nonce" placeholder="' + esc(t('nonce_ph')) + '">' + btn + '</form>';
          case 'reason': return '<form data-action="' + a + '"><input type="text" name="reason" placeholder="' + esc(t('reason_ph')) + '">' + btn + '</form>';
          case 'answer': return '<form data-action="' + a + '"><input type="text" name="objection_id" placeholder="' + esc(t('objection_id_ph')) + '"><input type="text" name="text" placeholder="' + esc(t('text_ph')) + '">' + btn + '</form>';
          default: return '<form data-action="' + a + '">' + btn + '</form>';
        }
      }).join('') : '';
      $('super-box').innerHTML = role === 'supervisor' ? '<h2>' + esc(t('supervisor_controls')) + '</h2>' +
        ['suspend', 'unsuspend'].map((a) => '<form data-action="' + a + '"><input type="text" name="reason" placeholder="' + esc(t('reason_ph')) + '"><button type="submit" class="primary" data-action="' + a + '">' + esc(t('a_' + a)) + '</button></form>').join('') : '';
      $('bidder-box').innerHTML = role === 'bidder' ? '<h2>' + esc(t('bidder_controls')) + '</h2>' +
        '<form data-action="object"><input type="number" name="lot" min="1" placeholder="' + esc(t('lot_ph')) + '"><input type="text" name="text" placeholder="' + esc(t('text_ph')) + '"><button type="submit" class="primary" data-action="object">' + esc(t('a_object')) + '</button></form>' : '';
    }
    if (role === 'host') {
      for (const [a, phases] of HOST_STEPS) {
        const b = document.querySelector('#host-box button[data-action="' + a + '"]');
        if (!b) continue;
        let ok = !phases || phases.includes(phase);
        if (a === 'pause') ok = !!phase && !['waiting', 'failed', 'recorded'].includes(phase) && !(S.hall && S.hall.paused);
        if (a === 'resume') ok = !!(S.hall && S.hall.paused);
        if (a === 'commit_host') ok = ok && !(S.hall && S.hall.draw && S.hall.draw.host_commitment);
        // While paused or suspended only pause/resume and answers are accepted (§3).
        if (S.hall && (S.hall.paused || S.hall.suspended) && !['pause', 'resume', 'answer'].includes(a)) ok = false;
        b.disabled = !ok || S.conn !== 'open';
      }
    }
  }

  document.addEventListener('submit', (e) => {
    const form = e.target;
    if (!form.dataset || !form.dataset.action) return;
    e.preventDefault();
    const a = form.dataset.action;
    const val = (n) => (form.elements[n] ? form.elements[n].value.trim() : '');
    switch (a) {
      case 'commit_host': commitHost(); break;
      case 'extend_window': act(a, { seconds: Number(val('seconds')), reason: val('reason') }); break;
      case 'reveal_host': {
        let n = val('nonce');
        if (!n) { try { n = localStorage.getItem(nonceKey()) || ''; } catch (err) { n = ''; } }
        act(a, { nonce: n });
        break;
      }
      case 'pause': case 'resume': case 'suspend': case 'unsuspend': act(a, { reason: val('reason') }); break;
      case 'answer': {
        // Objection ids are integers on the wire (objection_raised); a non-number goes as typed
        // and the server says why it is refused.
        const id = val('objection_id');
        act(a, { objection_id: /^\d{1,15}$/.test(id) ? Number(id) : id, text: val('text') });
        break;
      }
      case 'object': {
        const p = { text: val('text') };
        if (val('lot')) p.lot = Number(val('lot'));
        act(a, p);
        break;
      }
      default: act(a, {}); break;
    }
  });

  $('lang').addEventListener('click', () => {
    lang = lang === 'zh' ? 'en' : 'zh';
    try { localStorage.setItem('hall-lang', lang); } catch (e) { /* no storage */ }
    controlsFor = null;
    if (lastAct) actStatus(...lastAct);
    render();
  });
  $('token-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const v = $('token').value.trim();
    useToken(v || null);
  });
  $('token-clear').addEventListener('click', () => { $('token').value = ''; useToken(null); });
  function useToken(v) {
    token = v;
    // A different viewer sees a different hall: start again from a snapshot.
    S.seq = null; S.hall = null; S.events = []; S.remedies = []; S.seals = null; S.listMeta = null;
    S.failure = null; S.confirmation = null; S.viewer = null; controlsFor = null; retry = 0;
    connect();
  }
  window.addEventListener('hashchange', () => { const v = readFragmentToken(); if (v !== token) useToken(v); });

  token = readFragmentToken();
  setInterval(countdown, 1000);
  connect();
})();
