extension Dashboard {
    /// The page's one style sheet: a dark theme, tabular numbers, no web fonts.
    static let style = #"""
        :root{--bg:#0d1117;--panel:#161b22;--panel2:#1c2230;--line:#262d38;--text:#e6edf3;--muted:#8b949e;
        --accent:#4f9cf9;--green:#3fb950;--red:#f85149;--orange:#d29922;--purple:#a371f7;--teal:#39c5cf;--pink:#db61a2;
        color-scheme:dark}
        *{box-sizing:border-box}
        [hidden]{display:none!important}
        html,body{margin:0;background:var(--bg);color:var(--text)}
        body{font:13px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",sans-serif;font-variant-numeric:tabular-nums}
        a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
        code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
        h2{font-size:13px;font-weight:600;margin:0;letter-spacing:.02em}
        .muted{color:var(--muted)}.right{margin-left:auto}.spacer{flex:1}
        .top{display:flex;align-items:center;gap:16px;padding:10px 20px;background:var(--panel);border-bottom:1px solid var(--line);position:sticky;top:0;z-index:5}
        .brand{font-weight:700;font-size:16px;color:var(--text);letter-spacing:.04em}
        .brand::before{content:"";display:inline-block;width:10px;height:10px;border-radius:50%;background:var(--accent);margin-right:8px;box-shadow:0 0 0 3px #4f9cf933}
        .conn{padding:2px 10px;border-radius:10px;font-size:12px;border:1px solid var(--line)}
        .conn.live{color:var(--green);border-color:#3fb95066}.conn.poll{color:var(--orange);border-color:#d2992266}.conn.off{color:var(--red);border-color:#f8514966}
        .conn.live::before{content:"● "}
        main{padding:16px 20px 40px;max-width:1600px;margin:0 auto}
        .panel{background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:12px 14px;margin-bottom:16px;min-width:0}
        .panel-head{display:flex;align-items:center;gap:12px;margin-bottom:10px;flex-wrap:wrap}
        .tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px;margin-bottom:16px}
        .tile{background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:10px 14px}
        .tile .label{color:var(--muted);font-size:12px}
        .tile .value{font-size:24px;font-weight:600;margin-top:2px;white-space:nowrap}
        .tile .sub{color:var(--muted);font-size:12px;margin-top:2px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
        .tile.warn .value{color:var(--orange)}.tile.bad .value{color:var(--red)}
        .charts{display:grid;grid-template-columns:2fr 1fr;gap:16px}
        .two{display:grid;grid-template-columns:3fr 2fr;gap:16px}
        .tile .bar{width:48px}.grid .bar{width:64px}
        @media (max-width:1000px){.charts,.two{grid-template-columns:1fr}}
        .chart{width:100%;height:210px;display:block}
        .chart .grid-line{stroke:var(--line);stroke-width:1}
        .chart text,.timeline text{fill:var(--muted);font-size:11px}
        .chart .total{fill:none;stroke:#8b949e;stroke-width:1.5;stroke-dasharray:4 3}
        .chart .used{fill:none;stroke:var(--accent);stroke-width:2}
        .chart .used-area{fill:#4f9cf933;stroke:none}
        .chart .queue{fill:none;stroke:var(--orange);stroke-width:2}
        .chart .queue-area{fill:#d2992233;stroke:none}
        .chart .empty{fill:var(--muted);font-size:12px}
        .legend{color:var(--muted);font-size:12px;display:flex;align-items:center;gap:6px;flex-wrap:wrap}
        .sw{display:inline-block;width:12px;height:8px;border-radius:2px;margin-left:8px}
        .sw.total{border-top:2px dashed #8b949e;height:0}.sw.used{background:var(--accent)}
        .sw.k-run{background:var(--green)}.sw.k-sleep{background:var(--purple)}.sw.k-wait{border:1.5px dashed var(--teal)}
        .sw.k-invoke{background:var(--pink)}.sw.k-send{background:var(--orange);width:8px;transform:rotate(45deg)}
        .scroll{max-height:340px;overflow:auto}
        table.grid{width:100%;border-collapse:collapse}
        .grid th,.grid td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);white-space:nowrap;overflow:hidden;text-overflow:ellipsis;max-width:340px}
        .grid th{color:var(--muted);font-weight:500;font-size:12px;position:sticky;top:0;background:var(--panel);user-select:none}
        .grid th.sortable{cursor:pointer}.grid th.sortable:hover{color:var(--text)}
        .grid th.sorted::after{content:" ▾"}.grid th.sorted.asc::after{content:" ▴"}
        .grid td.num,.grid th.num{text-align:right}
        .grid tbody tr:hover{background:var(--panel2)}
        .grid tr.click{cursor:pointer}
        .grid .empty td{color:var(--muted);text-align:center;padding:18px}
        .bar{width:90px;height:6px;vertical-align:middle;margin-right:8px}
        .bar .bg{fill:var(--line)}.bar .fg{fill:var(--accent)}.bar .fg.hot{fill:var(--orange)}.bar .fg.full{fill:var(--red)}
        .badge{display:inline-block;padding:0 8px;border-radius:10px;font-size:12px;border:1px solid currentColor;line-height:18px}
        .s-completed,.s-ready{color:var(--green)}.s-failed{color:var(--red)}.s-cancelled{color:var(--muted)}
        .s-running{color:var(--accent)}.s-queued,.s-retrying,.s-paused{color:var(--orange)}
        .s-sleeping{color:var(--purple)}.s-waiting{color:var(--teal)}.s-invoking{color:var(--pink)}.s-pending{color:var(--muted)}
        .warn{color:var(--orange)}.bad,.error{color:var(--red)}
        input,select,button{font:inherit;color:var(--text);background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:4px 8px}
        input[type=search]{width:280px}
        button{cursor:pointer;background:#238636;border-color:#2ea043}
        button.ghost{background:transparent;border-color:var(--line)}button:disabled{opacity:.4;cursor:default}
        button.danger{background:transparent;border-color:#f8514988;color:var(--red)}
        .pager{display:flex;align-items:center;gap:12px;justify-content:flex-end;margin-top:8px}
        .auth{position:fixed;inset:0;background:#010409cc;display:flex;align-items:center;justify-content:center;z-index:10}
        .auth-box{background:var(--panel);border:1px solid var(--line);border-radius:10px;padding:20px 24px;width:380px;display:flex;flex-direction:column;gap:10px}
        .auth-box h2{font-size:16px}.auth-box p{margin:0}
        .run-title{display:flex;align-items:center;gap:12px;flex-wrap:wrap}
        .run-title h1{font-size:16px;margin:0}
        .facts{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:8px 20px;margin-top:10px}
        .facts div span{display:block;color:var(--muted);font-size:12px}
        .timeline{width:100%;display:block}
        .timeline .row-bg{fill:transparent}.timeline .row-bg.odd{fill:#ffffff06}
        .timeline .grid-line{stroke:var(--line)}
        .timeline .now{stroke:var(--accent);stroke-dasharray:3 3}
        .timeline .label{fill:var(--text);font-size:12px}
        .timeline .k-run{fill:var(--green)}.timeline .k-run.st-failed{fill:var(--red)}.timeline .k-run.st-retrying{fill:var(--orange)}
        .timeline .k-run.st-pending{fill:var(--muted)}
        .timeline .k-sleep{fill:url(#hatch)}.timeline .k-sleep-edge{fill:none;stroke:var(--purple)}
        .timeline .k-wait{fill:#39c5cf22;stroke:var(--teal);stroke-dasharray:4 2}
        .timeline .k-invoke{fill:var(--pink)}.timeline .k-send{fill:var(--orange)}
        .timeline .open{opacity:.55}
        .timeline .attempts{fill:var(--orange);font-size:10px}
        .json{margin:0;max-height:320px;overflow:auto;white-space:pre-wrap;word-break:break-word;color:#c9d1d9}
        .err-msg{color:var(--red);white-space:normal}
        """#
}
