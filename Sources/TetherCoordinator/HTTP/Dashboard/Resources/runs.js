// --- Recent runs ---------------------------------------------------------------------------------
const ENDED = ['completed', 'failed', 'cancelled'];
$('runs-status').innerHTML += ['queued', 'running', 'sleeping', 'waiting', ...ENDED]
  .map(s => `<option value="${s}">${s}</option>`).join('');
function fillFunctionFilter() {
  const sel = $('runs-function'), current = sel.value;
  sel.innerHTML = '<option value="">all functions</option>' +
    [...definitions.keys()].sort().map(id => `<option value="${esc(id)}">${esc(id)}</option>`).join('');
  sel.value = current;
}
const runLink = id => `#/runs/${esc(encodeURIComponent(id))}`;
function runDuration(rn) {
  const start = ms(rn.startedAt) || ms(rn.createdAt);
  if (!start) return '–';
  return rn.endedAt ? dur(ms(rn.endedAt) - start) : `<span class="muted">${dur(Date.now() - start)} so far</span>`;
}
let runsBusy = false;
async function refreshRuns() {
  if (runsBusy || $('overview').hidden || document.hidden) return;
  runsBusy = true;
  try {
    const q = new URLSearchParams({limit: '25'});
    if ($('runs-function').value) q.set('function', $('runs-function').value);
    if ($('runs-status').value) q.set('status', $('runs-status').value);
    const rl = await api('/v1/runs?' + q);
    $('runs').innerHTML =
      '<thead><tr><th>Run</th><th>Function</th><th>Status</th><th>Created</th><th class="num">Duration</th><th>Error</th></tr></thead><tbody>' +
      (rl.runs.map(rn => `<tr><td class="mono"><a href="${runLink(rn.id)}">${esc(rn.id)}</a></td><td class="mono">${esc(rn.function)}</td>` +
        `<td>${badge(rn.status)}</td><td>${clock(rn.createdAt)}</td><td class="num">${runDuration(rn)}</td>` +
        `<td class="err-msg">${rn.error ? esc(short(rn.error.message, 90)) : ''}</td></tr>`).join('') ||
        '<tr class="empty"><td colspan="6">No runs yet: send an event with POST /v1/events</td></tr>') + '</tbody>';
  } catch (_) {} finally { runsBusy = false; }
}
$('runs-function').addEventListener('change', refreshRuns);
$('runs-status').addEventListener('change', refreshRuns);

// --- Run detail ----------------------------------------------------------------------------------
let currentRun = null, runTimer = null;
async function showRun(id) {
  $('overview').hidden = true; $('run').hidden = false;
  if (currentRun !== id) { $('run-head').innerHTML = '<p class="muted">Loading…</p>'; currentRun = id; }
  clearTimeout(runTimer);
  try {
    const rn = await api('/v1/runs/' + encodeURIComponent(id));
    if (currentRun !== id) return;
    renderRun(rn);
    if (!ENDED.includes(rn.status)) runTimer = setTimeout(() => { if (currentRun === id) showRun(id); }, 1000);
  } catch (e) {
    if (!(e instanceof Unauthorized) && currentRun === id) $('run-head').innerHTML = `<p class="error">${esc(e.message)}</p>`;
  }
}
const fact = (label, value) => `<div><span>${esc(label)}</span>${value}</div>`;
function renderRun(rn) {
  const pa = rn.parent, er = rn.error;
  $('run-head').innerHTML =
    `<div class="run-title"><h1 class="mono">${esc(rn.id)}</h1>${badge(rn.status)}<span class="mono">${esc(rn.function)}</span>` +
    `<span class="spacer"></span>${ENDED.includes(rn.status) ? '' : '<button id="cancel-run" class="danger">Cancel run</button>'}</div>` +
    `<div class="facts">${fact('App', esc(rn.app))}${fact('Created', esc(new Date(ms(rn.createdAt)).toLocaleString('en-GB')))}` +
    `${fact('Started', clock(rn.startedAt))}${fact('Ended', clock(rn.endedAt))}${fact('Duration', runDuration(rn))}` +
    `${fact('Steps', num((rn.steps || []).length))}${fact('Retries at current step', num(rn.attempt))}` +
    (pa ? fact('Invoked by', `<a class="mono" href="${runLink(pa.run)}">${esc(pa.run)}</a> step ${esc(pa.step)}`) : '') + '</div>' +
    (er ? `<p class="err-msg"><b>${esc(er.code)}</b> ${esc(er.type ? '(' + er.type + ')' : '')}: ${esc(er.message)}</p>` : '');
  const cancel = $('cancel-run');
  if (cancel) cancel.addEventListener('click', async () => {
    if (!confirm('Cancel run ' + rn.id + '?')) return;
    try { await api('/v1/runs/' + encodeURIComponent(rn.id) + '/cancel', {method: 'POST'}); } catch (e) { alert(e.message); }
    showRun(rn.id);
  });
  renderTimeline(rn);
  renderSteps(rn);
  const ev = rn.event;
  $('run-event').textContent = ev ? JSON.stringify({name: ev.name, id: ev.id, ts: ev.ts, data: ev.data}, null, 2) : '–';
  $('run-output').textContent = rn.status === 'completed' ? JSON.stringify(rn.output, null, 2) : (er ? er.message : '(not ended)');
}
const KIND = {run: 'k-run', sleep: 'k-sleep', waitForEvent: 'k-wait', invoke: 'k-invoke', sendEvent: 'k-send'};
const KIND_NAME = {run: 'step', sleep: 'sleep', waitForEvent: 'wait for event', invoke: 'invoke', sendEvent: 'send event'};
function stepEnd(sp, now) {
  const end = ms(sp.endedAt);
  if (end) return end;
  if (sp.kind === 'sleep' && ms(sp.wakeAt)) return Math.max(now, ms(sp.wakeAt));
  return now;
}
function renderTimeline(rn) {
  const svg = $('timeline'), steps = (rn.steps || []).slice(0, 400), now = Date.now();
  const t0 = ms(rn.createdAt) || ms(rn.startedAt) || now;
  let t1 = rn.endedAt ? ms(rn.endedAt) : now;
  for (const sp of steps) {
    const end = ms(sp.endedAt);
    if (end > t1) t1 = end;
    if (sp.kind === 'sleep' && !end && ms(sp.wakeAt) > t1 && ms(sp.wakeAt) - t0 < 4 * (t1 - t0) + 10000) t1 = ms(sp.wakeAt);
  }
  t1 = Math.max(t1, t0 + 10);
  const w = Math.max(500, svg.clientWidth || 900), labelW = 230, rowH = 26, top = 26;
  const h = top + Math.max(1, steps.length) * rowH + 8;
  const x = t => labelW + (Math.min(Math.max(t, t0), t1) - t0) / (t1 - t0) * (w - labelW - 60);
  let out = '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">' +
    '<rect width="6" height="6" fill="#a371f744"/><rect width="3" height="6" fill="#a371f7"/></pattern></defs>';
  const tick = niceStep((t1 - t0) / 6);
  for (let d = 0; d <= t1 - t0; d += tick) {
    const xx = x(t0 + d).toFixed(1);
    out += `<line class="grid-line" x1="${xx}" x2="${xx}" y1="${top - 6}" y2="${h}"/>` +
      `<text x="${xx}" y="14" text-anchor="${d === 0 ? 'start' : 'middle'}">+${dur(d)}</text>`;
  }
  // Steps that ran at the same time as another step (parallel steps) get a marker.
  const spans = steps.map(sp => [ms(sp.startedAt), ms(sp.startedAt) ? stepEnd(sp, now) : 0]);
  steps.forEach((sp, i) => {
    const y = top + i * rowH, [start, end] = spans[i], kind = KIND[sp.kind] || 'k-run';
    const parallel = start && spans.some(([s, e], j) => j !== i && s && s < end && start < e && steps[j].kind === 'run' && sp.kind === 'run');
    out += `<rect class="row-bg${i % 2 ? ' odd' : ''}" x="0" y="${y}" width="${w}" height="${rowH}"/>`;
    const label = (sp.id.length > 30 ? sp.id.slice(0, 29) + '…' : sp.id) + (parallel ? '  ∥' : '');
    out += `<text class="label" x="8" y="${y + 17}">${esc(label)}</text>`;
    const tip = `${sp.id} · ${KIND_NAME[sp.kind] || sp.kind} · ${sp.status} · ${sp.attempts} attempt${sp.attempts === 1 ? '' : 's'}` +
      (sp.worker ? ` · on ${sp.worker}` : '') + (start ? ` · started +${dur(start - t0)}` : '') + (ms(sp.endedAt) ? `, took ${dur(ms(sp.endedAt) - start)}` : '');
    if (!start) {
      out += `<text x="${labelW}" y="${y + 17}">${esc(sp.status)}, not started<title>${esc(tip)}</title></text>`;
      return;
    }
    const x0 = x(start), x1 = Math.max(x0 + 3, x(end)), open = !ms(sp.endedAt) ? ' open' : '';
    let shape;
    if (sp.kind === 'sendEvent') {
      shape = `<path class="k-send" d="M${x0} ${y + 5}l8 8l-8 8l-8 -8z"/>`;
    } else {
      shape = `<rect class="${kind} st-${esc(sp.status)}${open}" x="${x0.toFixed(1)}" y="${y + 6}" width="${(x1 - x0).toFixed(1)}" height="${rowH - 12}" rx="3"/>`;
      if (sp.kind === 'sleep') shape += `<rect class="k-sleep-edge" x="${x0.toFixed(1)}" y="${y + 6}" width="${(x1 - x0).toFixed(1)}" height="${rowH - 12}" rx="3"/>`;
    }
    if (sp.kind === 'invoke' && sp.childRun) shape = `<a href="${runLink(sp.childRun)}">${shape}</a>`;
    out += `<g>${shape}<title>${esc(tip)}</title></g>`;
    const after = (sp.attempts > 1 ? `×${sp.attempts} ` : '') + (sp.status === 'completed' || sp.status === 'failed' ? '' : sp.status);
    if (after) out += `<text class="attempts" x="${(Math.max(x1, x0 + 8) + 6).toFixed(1)}" y="${y + 17}">${esc(after)}</text>`;
  });
  if (!rn.endedAt) {
    const xn = x(now).toFixed(1);
    out += `<line class="now" x1="${xn}" x2="${xn}" y1="${top - 6}" y2="${h}"/>`;
  }
  if (!steps.length) out += `<text x="${labelW}" y="${top + 17}">no steps yet</text>`;
  svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
  svg.setAttribute('height', h);
  svg.innerHTML = out;
}
function stepDetail(sp) {
  if (sp.error) { const er = sp.error; return `<span class="err-msg">${esc(er.type ? er.type + ': ' : '')}${esc(short(er.message, 140))}</span>`; }
  if (sp.kind === 'sleep') return `wakes at ${clock(sp.wakeAt)}`;
  if (sp.kind === 'waitForEvent' && sp.waitFor) {
    const wf = sp.waitFor;
    return `waits for <span class="mono">${esc(wf.event)}</span>${wf.match ? ` if <span class="mono">${esc(short(wf.match, 60))}</span>` : ''}` +
      (sp.status === 'waiting' ? ` until ${clock(wf.timeoutAt)}` : '') + (sp.output != null ? ` → <span class="mono">${esc(short(sp.output, 80))}</span>` : '');
  }
  if (sp.kind === 'invoke' && sp.childRun) return `run <a class="mono" href="${runLink(sp.childRun)}">${esc(sp.childRun)}</a>` +
    (sp.output != null ? ` → <span class="mono">${esc(short(sp.output, 80))}</span>` : '');
  return sp.output != null ? `<span class="mono">${esc(short(sp.output, 140))}</span>` : '';
}
function renderSteps(rn) {
  const t0 = ms(rn.createdAt);
  $('steps').innerHTML =
    '<thead><tr><th>Step</th><th>Kind</th><th>Status</th><th class="num">Attempts</th><th>Worker</th><th class="num">Started</th><th class="num">Took</th><th>Output or error</th></tr></thead><tbody>' +
    ((rn.steps || []).map(sp => {
      const start = ms(sp.startedAt), end = ms(sp.endedAt);
      return `<tr><td class="mono">${esc(sp.id)}</td><td>${esc(KIND_NAME[sp.kind] || sp.kind)}</td><td>${badge(sp.status)}</td>` +
        `<td class="num ${sp.attempts > 1 ? 'warn' : ''}">${num(sp.attempts)}</td><td class="mono">${esc(sp.worker ?? '–')}</td>` +
        `<td class="num">${start ? '+' + dur(start - t0) : '–'}</td><td class="num">${start && end ? dur(end - start) : '–'}</td><td>${stepDetail(sp)}</td></tr>`;
    }).join('') || '<tr class="empty"><td colspan="8">No steps yet</td></tr>') + '</tbody>';
}
