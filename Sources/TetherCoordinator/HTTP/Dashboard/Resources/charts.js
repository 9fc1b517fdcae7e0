// --- History -----------------------------------------------------------------------------------
const WINDOW_MS = 10 * 60 * 1000;
const history = [];  // {t, total, used, queue}; queue is null for seeded points
function record(t, total, used, queue) {
  const last = history[history.length - 1];
  if (last && t - last.t < 1000) { last.total = total; last.used = used; last.queue = queue; }
  else history.push({t, total, used, queue});
  while (history.length && history[0].t < t - WINDOW_MS - 60000) history.shift();
}
/** Sums the per-worker samples of GET /v1/workers by sample time (all workers are sampled together). */
async function seedHistory() {
  try {
    const wl = await api('/v1/workers');
    const byTime = new Map();
    for (const wk of wl.workers) {
      for (const hs of wk.history || []) {
        const t = ms(hs.at), p = byTime.get(t) || {t, total: 0, used: 0, queue: null};
        p.total += hs.capacity; p.used += hs.inFlight;
        byTime.set(t, p);
      }
    }
    const first = history.length ? history[0].t : Infinity;
    const seeded = [...byTime.values()].filter(p => p.t < first).sort((a, b) => a.t - b.t);
    history.unshift(...seeded);
    drawCharts();
  } catch (e) { /* no history: the chart starts now */ }
}

// --- Drawing -------------------------------------------------------------------------------
/** The smallest of 1, 2, 5 × 10^k that is at least `v`. */
function niceStep(v) {
  if (v <= 1) return 1;
  const p = 10 ** Math.floor(Math.log10(v)), f = v / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}
const TIME_STEPS = [5, 10, 15, 30, 60, 120, 300, 600].map(s => s * 1000);
const timeLabel = v => (v % 60000 === 0 ? v / 60000 + ' min' : v > 60000 ? Math.floor(v / 60000) + 'm ' + (v % 60000) / 1000 + 's' : v / 1000 + ' s');
/** A step line through the points (values hold until the next point), to `end`. */
function stepPath(points, key, x, y, end) {
  let d = '', prev = null;
  for (const p of points) {
    const v = p[key];
    if (v == null) { prev = null; continue; }
    d += prev == null ? `M${x(p.t).toFixed(1)},${y(v).toFixed(1)}` : `H${x(p.t).toFixed(1)}V${y(v).toFixed(1)}`;
    prev = v;
  }
  if (prev != null) d += `H${x(end).toFixed(1)}`;
  return d;
}
function areaPath(line, x0, yBase) {
  if (!line) return '';
  const first = line.match(/^M([\d.]+)/);
  return `${line}V${yBase}H${first ? first[1] : x0}Z`;
}
/** Draws `series` ([{key, line, area}]) of history into an SVG element. */
function drawChart(svg, series, emptyText) {
  const w = Math.max(200, svg.clientWidth || 600), h = Math.max(120, svg.clientHeight || 210);
  const left = 44, right = 10, top = 10, bottom = 22;
  // The last 10 minutes, or less while there is less history (2 minutes at least).
  const end = Date.now(), first = history.length ? history[0].t : end;
  const span = Math.min(WINDOW_MS, Math.max(120000, end - first + 5000)), start = end - span;
  const pts = history.filter(p => p.t >= start - 60000);
  const x = t => left + (Math.max(t, start) - start) / span * (w - left - right);
  let max = 0;
  for (const p of pts) for (const s of series) if (p[s.key] != null) max = Math.max(max, p[s.key]);
  const hi = Math.max(4, max * 1.1), step = niceStep(hi / 4), top4 = step * Math.ceil(hi / step);
  const y = v => top + (1 - v / top4) * (h - top - bottom);
  let out = '';
  for (let v = 0; v <= top4; v += step) {
    const yy = y(v).toFixed(1);
    out += `<line class="grid-line" x1="${left}" x2="${w - right}" y1="${yy}" y2="${yy}"/>`;
    out += `<text x="${left - 6}" y="${(+yy + 4).toFixed(1)}" text-anchor="end">${num(v)}</text>`;
  }
  const tick = TIME_STEPS.find(s => span / s <= Math.max(2, Math.floor((w - left - right) / 90))) || 600000;
  for (let d = 0; d <= span; d += tick) {
    const xx = x(end - d);
    if (d > 0 && xx - left < 24) break;
    out += `<text x="${xx.toFixed(1)}" y="${h - 6}" text-anchor="${d === 0 ? 'end' : 'middle'}">${d === 0 ? 'now' : '−' + timeLabel(d)}</text>`;
  }
  if (!pts.some(p => series.some(s => p[s.key] != null))) {
    out += `<text class="empty" x="${w / 2}" y="${h / 2}" text-anchor="middle">${esc(emptyText)}</text>`;
  }
  for (const s of series) {
    const line = stepPath(pts, s.key, x, y, end);
    if (s.area) out += `<path class="${s.area}" d="${areaPath(line, left, y(0).toFixed(1))}"/>`;
    out += `<path class="${s.line}" d="${line}"/>`;
  }
  svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
  svg.innerHTML = out;
}
function drawCharts() {
  if ($('overview').hidden) return;
  drawChart($('cap-chart'), [{key: 'used', line: 'used', area: 'used-area'}, {key: 'total', line: 'total'}], 'no workers yet');
  drawChart($('queue-chart'), [{key: 'queue', line: 'queue', area: 'queue-area'}], 'collecting…');
}
window.addEventListener('resize', drawCharts);
