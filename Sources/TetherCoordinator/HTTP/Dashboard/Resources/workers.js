// --- Tiles and header ----------------------------------------------------------------------------
function tile(label, value, sub, cls) {
  return `<div class="tile ${cls || ''}"><div class="label">${esc(label)}</div><div class="value">${value}</div>` +
    `<div class="sub">${sub || '&nbsp;'}</div></div>`;
}
function renderTiles(st) {
  const co = st.coordinator, ca = st.capacity, qu = st.queue;
  const ready = st.workers.filter(wk => wk.status === 'ready').length;
  const pct = ca.total ? Math.round(100 * ca.inFlight / ca.total) : 0;
  const waiting = st.functions.filter(fs => fs.queued > 0).length;
  $('tiles').innerHTML =
    tile('Workers connected', num(st.workers.length), `${num(ready)} ready · ${num(st.workers.length - ready)} paused`, st.workers.length ? '' : 'warn') +
    tile('Capacity in use', num(ca.inFlight), bar(ca.inFlight, ca.total) + `${pct}% of ${num(ca.total)}`, pct >= 90 ? 'warn' : '') +
    tile('Free slots', num(ca.available), 'on ready workers') +
    tile('Queued', num(qu.depth), waiting ? `${waiting} function${waiting === 1 ? '' : 's'} waiting` : 'nothing waiting', qu.depth > 0 && ca.available === 0 ? 'warn' : '') +
    tile('Oldest queued', qu.depth ? dur(qu.oldestAgeMs) : '–', 'backlog age', qu.oldestAgeMs > 60000 ? 'bad' : qu.oldestAgeMs > 10000 ? 'warn' : '') +
    tile('Active runs', num(co.activeRuns), 'not ended yet') +
    tile('Coordinator', co.healthy ? 'healthy' : 'store failed', `${esc(co.durability)} · up ${dur(Date.now() - ms(co.startedAt))}`, co.healthy ? '' : 'bad');
  $('cap-now').textContent = `${num(ca.inFlight)} of ${num(ca.total)} slots in use`;
  $('queue-now').textContent = `${num(qu.depth)} queued`;
}

// --- Functions: live queues joined with their definitions ------------------------------------
let definitions = new Map(), definitionsAt = 0;
async function loadDefinitions() {
  definitionsAt = Date.now();
  try {
    const fl = await api('/v1/functions');
    definitions = new Map(fl.functions.map(fn => [fn.id, fn]));
    fillFunctionFilter();
  } catch (_) {}
}
const triggerText = fn => (fn.triggers || []).map(tg => tg.event ?? ('cron ' + tg.cron)).join(', ');
function renderFunctions(st) {
  if (st.functions.some(fs => !definitions.has(fs.id)) && Date.now() - definitionsAt > 3000) loadDefinitions();
  const rows = [...st.functions].sort((a, b) => b.queued - a.queued || b.running - a.running || a.id.localeCompare(b.id));
  const maxQueued = Math.max(1, ...rows.map(fs => fs.queued));
  $('fn-count').textContent = `${rows.length} function${rows.length === 1 ? '' : 's'}`;
  $('functions').innerHTML =
    '<thead><tr><th>Function</th><th>Trigger</th><th class="num">Workers</th><th>Queued</th><th class="num">Running</th><th class="num">Backlog age</th></tr></thead><tbody>' +
    (rows.map(fs => {
      const fn = definitions.get(fs.id);
      const name = fn && fn.name && fn.name !== fn.slug ? `<div class="muted">${esc(fn.name)}</div>` : '';
      const age = fs.queued ? fs.oldestQueuedAgeMs : 0;
      const extra = [fs.keyCount ? `${num(fs.keyCount)} keys` : '', fs.debouncing ? `${num(fs.debouncing)} debouncing` : '',
        fs.batched ? `${num(fs.batched)} batched` : ''].filter(Boolean).join(' · ');
      return `<tr class="click" data-function="${esc(fs.id)}"><td><span class="mono">${esc(fs.id)}</span>${name}</td>` +
        `<td class="muted">${esc(fn ? triggerText(fn) : '')}</td><td class="num">${fn ? num(fn.workers.length) : '–'}</td>` +
        `<td>${bar(fs.queued, maxQueued)}${num(fs.queued)}${extra ? ` <span class="muted">(${esc(extra)})</span>` : ''}</td>` +
        `<td class="num">${num(fs.running)}</td><td class="num ${age > 60000 ? 'bad' : age > 10000 ? 'warn' : ''}">${age ? dur(age) : '–'}</td></tr>`;
    }).join('') || '<tr class="empty"><td colspan="6">No functions registered yet</td></tr>') + '</tbody>';
}
$('functions').addEventListener('click', e => {
  const tr = e.target.closest('tr[data-function]');
  if (tr) { $('runs-function').value = tr.dataset.function; refreshRuns(); $('runs').scrollIntoView({behavior: 'smooth'}); }
});

// --- Worker groups (app and version) ---------------------------------------------------------------
function renderGroups(st) {
  const groups = new Map();
  for (const wk of st.workers) {
    const k = wk.app + '\u0000' + wk.appVersion;
    const g = groups.get(k) || {app: wk.app, version: wk.appVersion, n: 0, paused: 0, capacity: 0, inFlight: 0};
    g.n++; if (wk.status !== 'ready') g.paused++;
    g.capacity += wk.capacity; g.inFlight += wk.inFlight;
    groups.set(k, g);
  }
  const rows = [...groups.values()].sort((a, b) => a.app.localeCompare(b.app) || b.version.localeCompare(a.version, undefined, {numeric: true}));
  $('groups').innerHTML =
    '<thead><tr><th>App</th><th>Version</th><th class="num">Workers</th><th>In flight / capacity</th></tr></thead><tbody>' +
    (rows.map(g => `<tr class="click" data-filter="${esc(g.app + (g.version ? ' ' + g.version : ''))}"><td>${esc(g.app)}</td>` +
      `<td>${g.version ? esc(g.version) : '<span class="muted">none</span>'}</td>` +
      `<td class="num">${num(g.n)}${g.paused ? ` <span class="warn">(${num(g.paused)} paused)</span>` : ''}</td>` +
      `<td>${bar(g.inFlight, g.capacity)}${num(g.inFlight)} / ${num(g.capacity)}</td></tr>`).join('') ||
      '<tr class="empty"><td colspan="4">No workers connected</td></tr>') + '</tbody>';
}
$('groups').addEventListener('click', e => {
  const tr = e.target.closest('tr[data-filter]');
  if (tr) { $('wk-filter').value = tr.dataset.filter; table.page = 0; renderWorkers(); }
});

// --- Workers table -------------------------------------------------------------------------------
const PAGE = 50;
const table = {sort: 'instance', asc: true, page: 0};
const COLUMNS = [
  {id: 'instance', label: 'Instance', get: wk => wk.instanceId},
  {id: 'app', label: 'App', get: wk => wk.app},
  {id: 'version', label: 'Version', get: wk => wk.appVersion},
  {id: 'status', label: 'Status', get: wk => wk.status},
  {id: 'capacity', label: 'Capacity', get: wk => wk.capacity, num: true},
  {id: 'inflight', label: 'In flight', get: wk => wk.capacity ? wk.inFlight / wk.capacity : wk.inFlight},
  {id: 'heartbeat', label: 'Heartbeat', get: wk => -ms(wk.lastHeartbeatAt), num: true},
  {id: 'connected', label: 'Connected', get: wk => -ms(wk.connectedAt), num: true},
];
let lastWorkers = [];
function renderWorkers(workers) {
  if (workers) lastWorkers = workers;
  const terms = $('wk-filter').value.toLowerCase().split(/\s+/).filter(Boolean);
  const rows = terms.length ? lastWorkers.filter(wk => {
    const text = `${wk.instanceId} ${wk.app} ${wk.appVersion} ${wk.status}`.toLowerCase();
    return terms.every(t => text.includes(t));
  }) : [...lastWorkers];
  const col = COLUMNS.find(c => c.id === table.sort) || COLUMNS[0];
  const dir = table.asc ? 1 : -1;
  rows.sort((a, b) => {
    const x = col.get(a), y = col.get(b);
    const c = typeof x === 'number' ? x - y : String(x).localeCompare(String(y), undefined, {numeric: true});
    return c * dir || a.instanceId.localeCompare(b.instanceId);
  });
  const pages = Math.max(1, Math.ceil(rows.length / PAGE));
  table.page = Math.min(table.page, pages - 1);
  const from = table.page * PAGE, shown = rows.slice(from, from + PAGE);
  const now = Date.now();
  const head = COLUMNS.map(c => `<th class="sortable${c.num ? ' num' : ''}${c.id === table.sort ? ' sorted' + (table.asc ? ' asc' : '') : ''}" data-sort="${c.id}">${c.label}</th>`).join('');
  $('workers').innerHTML = `<thead><tr>${head}</tr></thead><tbody>` + (shown.map(wk => {
    const hb = now - ms(wk.lastHeartbeatAt);
    return `<tr><td class="mono" title="${esc(wk.connectionId)}">${esc(wk.instanceId)}</td><td>${esc(wk.app)}</td>` +
      `<td>${wk.appVersion ? esc(wk.appVersion) : '<span class="muted">–</span>'}</td><td>${badge(wk.status)}</td>` +
      `<td class="num">${num(wk.capacity)}</td><td>${bar(wk.inFlight, wk.capacity)}${num(wk.inFlight)}</td>` +
      `<td class="num ${hb > 15000 ? 'bad' : hb > 6000 ? 'warn' : ''}">${ago(wk.lastHeartbeatAt)}</td>` +
      `<td class="num muted">${dur(now - ms(wk.connectedAt))}</td></tr>`;
  }).join('') || `<tr class="empty"><td colspan="${COLUMNS.length}">${lastWorkers.length ? 'No worker matches the filter' : 'No workers connected'}</td></tr>`) + '</tbody>';
  $('wk-count').textContent = terms.length ? `${num(rows.length)} of ${num(lastWorkers.length)}` : `${num(lastWorkers.length)} connected`;
  $('wk-page').textContent = rows.length ? `${num(from + 1)}–${num(from + shown.length)} of ${num(rows.length)}` : '';
  $('wk-prev').disabled = table.page === 0;
  $('wk-next').disabled = table.page >= pages - 1;
}
$('workers').addEventListener('click', e => {
  const th = e.target.closest('th[data-sort]');
  if (!th) return;
  if (table.sort === th.dataset.sort) table.asc = !table.asc; else { table.sort = th.dataset.sort; table.asc = true; }
  renderWorkers();
});
$('wk-filter').addEventListener('input', () => { table.page = 0; renderWorkers(); });
$('wk-prev').addEventListener('click', () => { table.page--; renderWorkers(); });
$('wk-next').addEventListener('click', () => { table.page++; renderWorkers(); });
