extension Dashboard {
    /// The page skeleton; the script fills it in. No inline event handlers or `style=` attributes:
    /// the Content-Security-Policy would block them.
    static func markup(style: String, script: String) -> String {
        """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="referrer" content="no-referrer">
        <title>Tether</title>
        <link rel="icon" href="data:,">
        <style>\(style)</style>
        </head>
        <body>
        <header class="top">
          <a class="brand" href="#/">Tether</a>
          <span id="coord" class="muted">connecting…</span>
          <span class="spacer"></span>
          <span id="conn" class="conn off" title="status updates">offline</span>
          <button id="forget" class="ghost" hidden>Forget API key</button>
        </header>
        <form id="auth" class="auth" hidden>
          <div class="auth-box">
            <h2>This coordinator needs an API key</h2>
            <p class="muted">The key is kept in this tab only (sessionStorage) and sent as
            <code>Authorization: Bearer</code> to <code>/v1/*</code>.</p>
            <input id="key" type="password" autocomplete="off" placeholder="API key" required>
            <p id="auth-error" class="error" hidden></p>
            <button type="submit">Use key</button>
          </div>
        </form>
        <main id="overview">
          <section class="tiles" id="tiles"></section>
          <section class="charts">
            <div class="panel chart-panel">
              <div class="panel-head"><h2>Capacity</h2><span class="legend"><i class="sw total"></i>total slots <i class="sw used"></i>in use</span><span id="cap-now" class="muted right"></span></div>
              <svg id="cap-chart" class="chart" role="img" aria-label="capacity in use and total over time"></svg>
            </div>
            <div class="panel chart-panel narrow">
              <div class="panel-head"><h2>Queue depth</h2><span id="queue-now" class="muted right"></span></div>
              <svg id="queue-chart" class="chart" role="img" aria-label="queued work over time"></svg>
            </div>
          </section>
          <section class="two">
            <div class="panel">
              <div class="panel-head"><h2>Functions</h2><span id="fn-count" class="muted right"></span></div>
              <div class="scroll"><table id="functions" class="grid"></table></div>
            </div>
            <div class="panel">
              <div class="panel-head"><h2>Worker groups</h2><span class="muted right">by app and version</span></div>
              <div class="scroll"><table id="groups" class="grid"></table></div>
            </div>
          </section>
          <section class="panel">
            <div class="panel-head">
              <h2>Workers</h2><span id="wk-count" class="muted"></span><span class="spacer"></span>
              <input id="wk-filter" type="search" placeholder="Filter: instance, app, version, status" spellcheck="false">
            </div>
            <table id="workers" class="grid"></table>
            <div class="pager"><button id="wk-prev" class="ghost">‹ Previous</button><span id="wk-page" class="muted"></span><button id="wk-next" class="ghost">Next ›</button></div>
          </section>
          <section class="panel">
            <div class="panel-head">
              <h2>Recent runs</h2><span class="spacer"></span>
              <select id="runs-function"><option value="">all functions</option></select>
              <select id="runs-status"><option value="">any status</option></select>
            </div>
            <table id="runs" class="grid"></table>
          </section>
        </main>
        <main id="run" hidden>
          <p><a href="#/" class="back">‹ Overview</a></p>
          <section class="panel" id="run-head"></section>
          <section class="panel">
            <div class="panel-head"><h2>Timeline</h2><span class="legend">
              <i class="sw k-run"></i>step <i class="sw k-sleep"></i>sleep <i class="sw k-wait"></i>wait for event
              <i class="sw k-invoke"></i>invoke <i class="sw k-send"></i>send event <b>∥</b> ran in parallel</span></div>
            <svg id="timeline" class="timeline" role="img" aria-label="the run's steps over time"></svg>
          </section>
          <section class="panel">
            <div class="panel-head"><h2>Steps</h2></div>
            <table id="steps" class="grid"></table>
          </section>
          <section class="two">
            <div class="panel"><div class="panel-head"><h2>Event</h2></div><pre id="run-event" class="json"></pre></div>
            <div class="panel"><div class="panel-head"><h2>Output</h2></div><pre id="run-output" class="json"></pre></div>
          </section>
        </main>
        <script>\(script)</script>
        </body>
        </html>

        """
    }
}
