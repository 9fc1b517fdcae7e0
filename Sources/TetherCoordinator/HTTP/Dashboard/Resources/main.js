// --- Main ----------------------------------------------------------------------------------------
let latest = null, renderQueued = false;
function onStatus(st) {
  latest = st;
  const ca = st.capacity, qu = st.queue, co = st.coordinator;
  $('coord').textContent = `v${co.version} · ${co.durability} durability · started ${new Date(ms(co.startedAt)).toLocaleString('en-GB')}`;
  record(Date.now(), ca.total, ca.inFlight, qu.depth);
  if (!renderQueued) { renderQueued = true; setTimeout(() => { renderQueued = false; render(); }, 100); }
}
function render() {
  const st = latest;
  if (!st || $('overview').hidden || document.hidden) return;
  renderTiles(st);
  renderFunctions(st);
  renderGroups(st);
  renderWorkers(st.workers);
  drawCharts();
}
function route() {
  const m = location.hash.match(/^#\/runs\/(.+)$/);
  if (m) {
    let id = m[1];
    try { id = decodeURIComponent(id); } catch (_) { /* a malformed escape: use it as it is */ }
    showRun(id);
    window.scrollTo(0, 0);
    return;
  }
  currentRun = null;
  clearTimeout(runTimer);
  $('run').hidden = true; $('overview').hidden = false;
  render();
  refreshRuns();
}
function start() {
  stream();
  refreshCluster();
  seedHistory();
  loadDefinitions();
  route();
}
window.addEventListener('hashchange', route);
// A hidden tab keeps recording history but draws nothing until it is shown again.
document.addEventListener('visibilitychange', () => { if (!document.hidden) { render(); refreshRuns(); refreshCluster(); } });
// Ages and the charts' time axis move on even when no status changes.
setInterval(render, 2000);
setInterval(refreshRuns, 3000);
setInterval(refreshCluster, 2000);
setInterval(() => { if (!asking) loadDefinitions(); }, 30000);
start();
