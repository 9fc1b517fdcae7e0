// --- Cluster: this node's role, the leader and the journal lag (GET /v1/cluster) ----------------
let clusterBusy = false;
/** Polled every 2 s; a standby answers it itself, so it still answers when the status does not. */
async function refreshCluster() {
  if (clusterBusy || asking || document.hidden) return;
  clusterBusy = true;
  try { renderCluster(await api('/v1/cluster')); } catch (_) {} finally { clusterBusy = false; }
}
const lagClass = v => (v > 10000 ? 'bad' : v > 1000 ? 'warn' : '');
function renderCluster(cl) {
  const single = cl.role === 'single', pill = $('cluster-role');
  pill.className = 'badge s-' + cl.role;
  pill.textContent = single ? 'single node' : `${cl.role} · ${cl.nodeId}`;
  pill.title = single ? 'no journal: this node is the whole coordinator' : `epoch ${cl.epoch}`;
  pill.hidden = false;
  $('cluster').hidden = single;
  if (single) return;
  const ld = cl.leader, jn = cl.journal;
  const leader = ld
    ? `<span class="mono">${esc(ld.nodeId)}</span> at <span class="mono">${esc(ld.http)}</span>`
    : '<span class="warn">none known</span>';
  $('cluster-sum').textContent = cl.role === 'leader' ? 'this node leads: it serves the workers and the API'
    : ld ? 'this node stands by: the leader serves the workers and the API' : 'this node stands by and knows no leader yet';
  $('cluster-facts').innerHTML =
    fact('Role', badge(cl.role)) + fact('Node', `<span class="mono">${esc(cl.nodeId)}</span>`) +
    fact('Epoch', num(cl.epoch)) + fact('Leader', leader) +
    fact('Journal applied', jn ? `${num(jn.appliedSeq)} of ${num(jn.lastSeq)}` : '–') +
    fact('Lag', jn ? `<span class="${lagClass(jn.lagMs)}">${dur(jn.lagMs)}</span>` : '–');
}
