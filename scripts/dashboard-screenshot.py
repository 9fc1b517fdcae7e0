#!/usr/bin/env python3
"""Takes screenshots of a page with headless Chromium over the DevTools protocol.

`chromium --screenshot` waits for the page to go idle, which a page reading a Server-Sent Events
stream never does; this drives Chromium directly instead: load, wait, capture.

    dashboard-screenshot.py URL OUT.png [--wait SECONDS] [--width W] [--height H] [--full] [--eval JS]

Needs `websocket-client` (pip install websocket-client) and `chromium` on PATH (or $CHROMIUM).
Also prints console errors and CSP violations the page reported, and exits 1 if there were any.
"""
import argparse, base64, json, os, shutil, subprocess, sys, tempfile, time, urllib.request

import websocket  # websocket-client


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("out")
    ap.add_argument("--wait", type=float, default=5)
    ap.add_argument("--width", type=int, default=1440)
    ap.add_argument("--height", type=int, default=1000)
    ap.add_argument("--full", action="store_true", help="capture the whole page, not just the viewport")
    ap.add_argument("--port", type=int, default=9333)
    ap.add_argument("--eval", help="JavaScript to run after the wait (then wait --wait again)")
    args = ap.parse_args()

    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        sys.exit("chromium not found (apt-get install -y chromium)")
    profile = tempfile.mkdtemp(prefix="tether-shot-")
    proc = subprocess.Popen(
        [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
         f"--remote-debugging-port={args.port}", f"--user-data-dir={profile}",
         f"--window-size={args.width},{args.height}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        target = None
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{args.port}/json") as r:
                    target = next(t for t in json.load(r) if t["type"] == "page")
                break
            except Exception:
                time.sleep(0.1)
        if not target:
            sys.exit("chromium did not start")
        ws = websocket.create_connection(target["webSocketDebuggerUrl"], timeout=60, suppress_origin=True)
        ids = iter(range(1, 1 << 30))
        problems = []

        def call(method, **params):
            n = next(ids)
            ws.send(json.dumps({"id": n, "method": method, "params": params}))
            while True:
                msg = json.loads(ws.recv())
                if msg.get("id") == n:
                    if "error" in msg:
                        raise RuntimeError(f"{method}: {msg['error']}")
                    return msg.get("result", {})
                note(msg)

        def note(msg):
            method = msg.get("method")
            if method == "Runtime.exceptionThrown":
                problems.append("exception: " + json.dumps(msg["params"]["exceptionDetails"])[:500])
            elif method == "Runtime.consoleAPICalled" and msg["params"]["type"] == "error":
                problems.append("console.error: " + json.dumps(msg["params"]["args"])[:500])
            elif method == "Log.entryAdded" and msg["params"]["entry"]["level"] == "error":
                problems.append("log: " + msg["params"]["entry"]["text"][:500])

        call("Runtime.enable")
        call("Log.enable")
        call("Page.enable")
        call("Emulation.setDeviceMetricsOverride", width=args.width, height=args.height, deviceScaleFactor=1, mobile=False)
        call("Page.navigate", url=args.url)

        def pause(seconds):
            deadline = time.time() + seconds
            ws.settimeout(0.2)
            while time.time() < deadline:
                try:
                    note(json.loads(ws.recv()))
                except websocket.WebSocketTimeoutException:
                    pass
            ws.settimeout(60)

        pause(args.wait)
        if args.eval:
            result = call("Runtime.evaluate", expression=args.eval, returnByValue=True, awaitPromise=True)
            if "value" in result.get("result", {}):
                print("eval:", json.dumps(result["result"]["value"]))
            pause(args.wait)
        clip = {}
        if args.full:
            metrics = call("Page.getLayoutMetrics")
            size = metrics["cssContentSize"]
            clip = {"clip": {"x": 0, "y": 0, "width": args.width, "height": min(size["height"], 4000), "scale": 1},
                    "captureBeyondViewport": True}
        shot = call("Page.captureScreenshot", format="png", **clip)
        with open(args.out, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        ws.close()
        for p in problems:
            print("page problem:", p, file=sys.stderr)
        print(f"wrote {args.out} ({os.path.getsize(args.out) // 1024} KiB)")
        return 1 if problems else 0
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
