'use strict';
const $ = id => document.getElementById(id);
const ESC = {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;'};
/** Every string from the API goes through esc() before it reaches innerHTML. */
const esc = v => String(v ?? '').replace(/[&<>"'`]/g, c => ESC[c]);
const num = n => Number(n || 0).toLocaleString('en-US');
const ms = t => (t ? Date.parse(t) : 0);
function dur(v) {
  v = Math.max(0, Math.round(v || 0));
  if (v < 1000) return v + ' ms';
  const s = v / 1000;
  if (s < 60) return s.toFixed(s < 10 ? 1 : 0) + ' s';
  const m = Math.floor(s / 60);
  if (m < 60) return m + 'm ' + Math.floor(s % 60) + 's';
  const h = Math.floor(m / 60);
  if (h < 48) return h + 'h ' + (m % 60) + 'm';
  return Math.floor(h / 24) + 'd ' + (h % 24) + 'h';
}
const ago = t => (t ? dur(Date.now() - ms(t)) + ' ago' : '–');
const clock = t => (t ? new Date(ms(t)).toLocaleTimeString('en-GB', {hour12: false}) : '–');
const badge = s => `<span class="badge s-${esc(s)}">${esc(s)}</span>`;
/** A small utilisation bar (SVG: presentation attributes, no inline style). */
function bar(used, total) {
  const f = total > 0 ? Math.min(1, used / total) : 0;
  const cls = f >= 1 ? 'fg full' : f >= 0.8 ? 'fg hot' : 'fg';
  return `<svg class="bar" viewBox="0 0 100 6" preserveAspectRatio="none"><rect class="bg" width="100" height="6" rx="3"/>` +
    `<rect class="${cls}" width="${(f * 100).toFixed(1)}" height="6" rx="3"/></svg>`;
}
const short = (v, n) => { const t = typeof v === 'string' ? v : JSON.stringify(v); return t && t.length > n ? t.slice(0, n) + '…' : (t ?? ''); };

// --- API key: kept in sessionStorage, sent as a bearer token --------------------------------
const KEY = 'tetherApiKey';
const authHeaders = () => { const k = sessionStorage.getItem(KEY); return k ? {Authorization: 'Bearer ' + k} : {}; };
class Unauthorized extends Error {}
let asking = false;
function needKey() {
  if (asking) return;
  asking = true;
  stopStream();
  const had = !!sessionStorage.getItem(KEY);
  $('auth-error').hidden = !had;
  $('auth-error').textContent = had ? 'The coordinator refused that key.' : '';
  $('auth').hidden = false;
  $('key').focus();
  setConn('off', 'needs API key');
}
$('auth').addEventListener('submit', e => {
  e.preventDefault();
  sessionStorage.setItem(KEY, $('key').value.trim());
  $('key').value = '';
  $('auth').hidden = true;
  asking = false;
  $('forget').hidden = false;
  start();
});
$('forget').addEventListener('click', () => { sessionStorage.removeItem(KEY); location.reload(); });
$('forget').hidden = !sessionStorage.getItem(KEY);

async function api(path, init) {
  const r = await fetch(path, {cache: 'no-store', ...init, headers: {Accept: 'application/json', ...authHeaders()}});
  if (r.status === 401) { needKey(); throw new Unauthorized('unauthenticated'); }
  if (!r.ok) {
    let message = 'HTTP ' + r.status;
    try { const er = (await r.json()).error; message = er.message; } catch (_) {}
    throw new Error(message);
  }
  return r.json();
}

// --- Status: the SSE stream read with fetch() (EventSource cannot send a header) -------------
let streamAbort = null, pollTimer = null, streamFailures = 0;
function setConn(kind, text) { const c = $('conn'); c.className = 'conn ' + kind; c.textContent = text; }
function stopStream() {
  if (streamAbort) { streamAbort.abort(); streamAbort = null; }
  stopPolling();
}
async function stream() {
  if (streamAbort) streamAbort.abort();
  const ctl = new AbortController();
  streamAbort = ctl;
  try {
    const r = await fetch('/v1/status/stream', {cache: 'no-store', signal: ctl.signal,
      headers: {Accept: 'text/event-stream', ...authHeaders()}});
    if (r.status === 401) { needKey(); return; }
    if (!r.ok || !r.body || !r.body.getReader) throw new Error('no stream: HTTP ' + r.status);
    const reader = r.body.getReader(), decoder = new TextDecoder();
    let text = '';
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      text += decoder.decode(value, {stream: true}).replace(/\r\n?/g, '\n');
      let end;
      while ((end = text.indexOf('\n\n')) >= 0) {
        const block = text.slice(0, end);
        text = text.slice(end + 2);
        const data = block.split('\n').filter(l => l.startsWith('data:')).map(l => l.slice(5).replace(/^ /, '')).join('\n');
        if (!data) continue;
        if (streamFailures > 0 || pollTimer) { streamFailures = 0; stopPolling(); }
        setConn('live', 'live');
        onStatus(JSON.parse(data));
      }
    }
    throw new Error('the stream ended');
  } catch (e) {
    if (ctl.signal.aborted || asking) return;
    streamFailures++;
    startPolling();
    const wait = Math.min(30000, 1000 * 2 ** Math.min(streamFailures, 5));
    setTimeout(() => { if (streamAbort === ctl) stream(); }, wait);
  }
}
/** Fallback while the stream is down: poll GET /v1/status every 2 s. */
function startPolling() {
  if (pollTimer) return;
  const tick = async () => {
    try { onStatus(await api('/v1/status')); setConn('poll', 'polling'); }
    catch (e) { if (e instanceof Unauthorized) stopPolling(); else setConn('off', 'coordinator unreachable'); }
  };
  pollTimer = setInterval(tick, 2000);
  tick();
}
function stopPolling() { if (pollTimer) { clearInterval(pollTimer); pollTimer = null; } }
