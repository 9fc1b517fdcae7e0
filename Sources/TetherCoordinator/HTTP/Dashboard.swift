import Hummingbird
import NIOCore

/// The dashboard page at `GET /`: one self-contained HTML document (no CDN, no build step)
/// that polls `/v1/status` and `/v1/runs`.
enum Dashboard {
    static func response() -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }

    static let html = #"""
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>Tether</title>
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <style>
        body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#0f1419;color:#e6e6e6}
        header{padding:12px 20px;background:#161b22;border-bottom:1px solid #30363d;display:flex;gap:24px;align-items:baseline}
        h1{font-size:18px;margin:0}h2{font-size:15px;margin:18px 0 8px}
        main{padding:0 20px 20px}.cards{display:flex;gap:12px;flex-wrap:wrap;margin-top:16px}
        .card{background:#161b22;border:1px solid #30363d;border-radius:6px;padding:10px 14px;min-width:120px}
        .card b{display:block;font-size:22px}.muted{color:#8b949e}
        table{border-collapse:collapse;width:100%;background:#161b22}
        th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #21262d;white-space:nowrap}
        th{color:#8b949e;font-weight:500}.bar{height:8px;background:#21262d;border-radius:4px;min-width:80px}
        .bar i{display:block;height:8px;background:#3fb950;border-radius:4px}
        .completed{color:#3fb950}.failed{color:#f85149}.running{color:#58a6ff}.queued{color:#d29922}
        .scroll{max-height:360px;overflow:auto}
        </style></head><body>
        <header><h1>Tether</h1><span class="muted" id="coord"></span>
        <form id="auth" style="display:none;margin-left:auto" onsubmit="saveKey(event)">
        <input id="key" type="password" placeholder="API key" style="background:#0f1419;color:#e6e6e6;border:1px solid #30363d;border-radius:4px;padding:3px 6px">
        <button style="background:#238636;color:#fff;border:0;border-radius:4px;padding:4px 10px">Use key</button></form></header>
        <main>
        <div class="cards">
        <div class="card"><span class="muted">workers</span><b id="workers">–</b></div>
        <div class="card"><span class="muted">capacity used</span><b id="cap">–</b><div class="bar"><i id="capbar" style="width:0"></i></div></div>
        <div class="card"><span class="muted">queued</span><b id="depth">–</b></div>
        <div class="card"><span class="muted">oldest queued</span><b id="oldest">–</b></div>
        </div>
        <h2>Functions</h2><table><thead><tr><th>function</th><th>queued</th><th>running</th><th>oldest queued</th></tr></thead><tbody id="fns"></tbody></table>
        <h2>Workers</h2><div class="scroll"><table><thead><tr><th>instance</th><th>app</th><th>version</th><th>status</th><th>in flight / capacity</th><th>heartbeat</th></tr></thead><tbody id="wks"></tbody></table></div>
        <h2>Recent runs</h2><div class="scroll"><table><thead><tr><th>run</th><th>function</th><th>status</th><th>started</th><th>ended</th></tr></thead><tbody id="runs"></tbody></table></div>
        <div id="detail" style="display:none"><h2>Run <span id="detailid"></span> <a href="#" style="color:#8b949e;font-size:12px" onclick="hideRun(event)">close</a></h2>
        <table><thead><tr><th>step</th><th>status</th><th>attempts</th><th>worker</th><th>started</th><th>ended</th><th>output / error</th></tr></thead><tbody id="steps"></tbody></table>
        <pre id="runjson" style="background:#161b22;border:1px solid #30363d;padding:10px;overflow:auto;max-height:300px"></pre></div>
        </main>
        <script>
        const esc=s=>String(s??'').replace(/[&<>"]/g,c=>({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
        const age=t=>t?Math.max(0,Math.round((Date.now()-Date.parse(t))/1000))+'s ago':'–';
        const ms=v=>v>=1000?(v/1000).toFixed(1)+'s':v+'ms';
        function headers(){const k=localStorage.getItem('tetherApiKey');return k?{Authorization:'Bearer '+k}:{};}
        function saveKey(e){e.preventDefault();localStorage.setItem('tetherApiKey',document.getElementById('key').value);document.getElementById('auth').style.display='none';refresh();}
        async function api(path){
          const r=await fetch(path,{headers:headers()});
          if(r.status===401){document.getElementById('auth').style.display='block';throw new Error('unauthenticated');}
          return r.json();
        }
        async function refresh(){
          try{
            const s=await api('/v1/status');
            document.getElementById('coord').textContent=`v${s.coordinator.version} · ${s.coordinator.durability} · up since ${s.coordinator.startedAt}`;
            document.getElementById('workers').textContent=s.workers.length;
            document.getElementById('cap').textContent=`${s.capacity.inFlight} / ${s.capacity.total}`;
            document.getElementById('capbar').style.width=(s.capacity.total?100*s.capacity.inFlight/s.capacity.total:0)+'%';
            document.getElementById('depth').textContent=s.queue.depth;
            document.getElementById('oldest').textContent=ms(s.queue.oldestAgeMs);
            document.getElementById('fns').innerHTML=s.functions.map(f=>`<tr><td>${esc(f.id)}</td><td>${f.queued}</td><td>${f.running}</td><td>${ms(f.oldestQueuedAgeMs)}</td></tr>`).join('');
            document.getElementById('wks').innerHTML=s.workers.map(w=>`<tr><td>${esc(w.instanceId)}</td><td>${esc(w.app)}</td><td>${esc(w.appVersion)}</td><td>${esc(w.status)}</td><td><div class="bar"><i style="width:${w.capacity?100*w.inFlight/w.capacity:0}%"></i></div>${w.inFlight} / ${w.capacity}</td><td>${age(w.lastHeartbeatAt)}</td></tr>`).join('');
            const r=await api('/v1/runs?limit=25');
            document.getElementById('runs').innerHTML=r.runs.map(x=>`<tr><td><a style="color:inherit" href="#" onclick="showRun(event,'${esc(x.id)}')">${esc(x.id)}</a></td><td>${esc(x.function)}</td><td class="${esc(x.status)}">${esc(x.status)}</td><td>${esc(x.startedAt??'–')}</td><td>${esc(x.endedAt??'–')}</td></tr>`).join('');
          }catch(e){document.getElementById('coord').textContent=e.message==='unauthenticated'?'this coordinator needs an API key':'coordinator unreachable';}
        }
        async function showRun(e,id){
          e.preventDefault();
          const run=await api('/v1/runs/'+encodeURIComponent(id));
          document.getElementById('detail').style.display='block';
          document.getElementById('detailid').textContent=`${run.id} · ${run.function} · ${run.status}`;
          document.getElementById('steps').innerHTML=(run.steps||[]).map(s=>`<tr><td>${esc(s.id)}</td><td class="${esc(s.status)}">${esc(s.status)}</td><td>${s.attempts}</td><td>${esc(s.worker??'–')}</td><td>${esc(s.startedAt??'–')}</td><td>${esc(s.endedAt??'–')}</td><td>${esc(s.error?s.error.message:JSON.stringify(s.output))}</td></tr>`).join('');
          document.getElementById('runjson').textContent=JSON.stringify({event:run.event,output:run.output,error:run.error},null,2);
        }
        function hideRun(e){e.preventDefault();document.getElementById('detail').style.display='none';}
        refresh();setInterval(refresh,1000);
        </script></body></html>
        """#
}
