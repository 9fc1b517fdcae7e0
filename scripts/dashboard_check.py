#!/usr/bin/env python3
"""The checks of scripts/dashboard-browser-test.sh: drives a coordinator through its HTTP API,
renders the dashboard with headless Chromium (`--dump-dom` after the page's scripts have run) and
compares what the page shows with what the API answers.

    dashboard_check.py URL                   a single node with two example workers
    dashboard_check.py --cluster URL URL     two cluster nodes, in any order: the cluster panel
"""
import html
import json
import re
import subprocess
import sys
import time
import urllib.request

problems = []


def api(path, body=None, base=None):
    request = urllib.request.Request((base or bases[0]) + path, data=None if body is None else json.dumps(body).encode())
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def wait(condition, what, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.2)
    sys.exit(f"dashboard-browser-test: timed out waiting for {what}")


def render(fragment="", base=None):
    """The page's DOM once its scripts have fetched and drawn (5 s of virtual time)."""
    result = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000", "--dump-dom",
         f"{base or bases[0]}/{fragment}"],
        capture_output=True, text=True, timeout=90)
    if result.returncode != 0 or "<body" not in result.stdout:
        sys.exit(f"dashboard-browser-test: chromium failed: {result.stderr[-2000:]}")
    return result.stdout


def text(fragment):
    """Visible text of an HTML fragment, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def element(dom, id):
    match = re.search(r'<(\w+)[^>]*\bid="%s"[^>]*>(.*?)</\1>' % re.escape(id), dom, re.S)
    if not match:
        problems.append(f"#{id} is not on the page")
        return ""
    return match.group(2)


def expect(label, shown, wanted):
    if shown != wanted:
        problems.append(f"{label}: the page shows {shown!r}, the API says {wanted!r}")


def number(value):
    return f"{value:,}"


def tag(dom, id):
    """The opening tag of the element with this id."""
    match = re.search(r'<\w+[^>]*\bid="%s"[^>]*>' % re.escape(id), dom)
    return match.group(0) if match else ""


def single_node():
    """Tiles, lines, tables and a run's page against the API, with two workers and four runs."""
    # Two workers, three orders that complete and one that fails (amount 0 is refused by the example).
    wait(lambda: len(api("/v1/status")["workers"]) == 2, "two workers")
    run_ids = []
    for order, amount in [("o-1", 4200), ("o-2", 1500), ("o-3", 800), ("o-bad", 0)]:
        receipt = api("/v1/events", {"name": "order/created", "data": {"orderId": order, "amount": amount}})
        run_ids += receipt["events"][0]["runs"]
    wait(lambda: all(api(f"/v1/runs/{id}")["status"] in ("completed", "failed") for id in run_ids), "the runs to end")

    # The overview against /v1/status (nothing changes between the two reads: every run has ended).
    dom = render()
    status = api("/v1/status")
    capacity, queue, coordinator = status["capacity"], status["queue"], status["coordinator"]
    expect("capacity line", text(element(dom, "cap-now")), f"{number(capacity['inFlight'])} of {number(capacity['total'])} slots in use")
    expect("queue line", text(element(dom, "queue-now")), f"{number(queue['depth'])} queued")
    expect("worker count", text(element(dom, "wk-count")), f"{number(len(status['workers']))} connected")
    functions = len(status["functions"])
    expect("function count", text(element(dom, "fn-count")), f"{functions} function{'' if functions == 1 else 's'}")
    if not text(element(dom, "coord")).startswith(f"v{coordinator['version']} · {coordinator['durability']} durability"):
        problems.append(f"coordinator line: {text(element(dom, 'coord'))!r}")
    tiles = dict(re.findall(r'<div class="label">(.*?)</div><div class="value">(.*?)</div>', element(dom, "tiles")))
    for label, wanted in [
        ("Workers connected", number(len(status["workers"]))), ("Capacity in use", number(capacity["inFlight"])),
        ("Free slots", number(capacity["available"])), ("Queued", number(queue["depth"])),
        ("Active runs", number(coordinator["activeRuns"])),
        ("Coordinator", "healthy" if coordinator["healthy"] else "unhealthy"),
    ]:
        expect(f"tile '{label}'", text(tiles.get(label, "(missing)")), wanted)
    # No journal: the header says so and the cluster panel stays hidden.
    expect("cluster role in the header", api("/v1/cluster")["role"], "single")
    expect("cluster role in the header", text(element(dom, "cluster-role")), "single node")
    if "hidden" not in tag(dom, "cluster"):
        problems.append(f"the cluster panel is shown on a single node: {tag(dom, 'cluster')!r}")
    workers_text = text(element(dom, "workers"))
    for worker in status["workers"]:
        if worker["instanceId"] not in workers_text:
            problems.append(f"worker {worker['instanceId']} is not in the workers table")

    # The runs table against /v1/runs.
    runs = api("/v1/runs?limit=50")["runs"]
    rows = re.findall(r"<tr>(.*?)</tr>", element(dom, "runs"), re.S)
    shown = [[text(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)] for row in rows]
    shown = [row for row in shown if row]
    expect("runs table (id, function, status)", [row[:3] for row in shown], [[r["id"], r["function"], r["status"]] for r in runs])
    for row, run in zip(shown, runs):
        wanted_error = run["error"]["message"] if run["error"] else ""
        expect(f"error of run {run['id']}", row[5] if len(row) > 5 else "", wanted_error)

    # One failed run's page against /v1/runs/{id}.
    failed = next(run for run in runs if run["status"] == "failed")
    page = render(f"#/runs/{failed['id']}")
    detail = api(f"/v1/runs/{failed['id']}")
    head = text(element(page, "run-head"))
    for wanted in (detail["id"], detail["status"], detail["error"]["message"]):
        if wanted not in head:
            problems.append(f"run page head {head!r} does not show {wanted!r}")
    step_rows = [text(row) for row in re.findall(r"<tr>(.*?)</tr>", element(page, "steps"), re.S)][1:]
    expect("run page steps", [row.split(" ")[0] for row in step_rows], [step["id"] for step in detail["steps"]])
    for row, step in zip(step_rows, detail["steps"]):
        if step["status"] not in row:
            problems.append(f"step {step['id']}: the row {row!r} does not show {step['status']!r}")
    return (f"the page shows what the API says ({len(status['workers'])} workers, {len(runs)} runs, "
            f"run {failed['id']} with {len(detail['steps'])} steps)")


def cluster():
    """The leader's page against its GET /v1/cluster; a standby's address shows the leader's page."""
    views = {}

    def settled():
        for base in bases:
            try:
                views[base] = api("/v1/cluster", base=base)
            except OSError:
                return False
        roles = sorted(view["role"] for view in views.values())
        return roles == ["leader", "standby"] and all(view["leader"] for view in views.values())

    wait(settled, "one leader and one standby that knows it")
    leader = next(base for base in bases if views[base]["role"] == "leader")
    standby = next(base for base in bases if base != leader)
    # One event (no function takes it) so the journal has an entry; then it is idle: nothing
    # changes between the page and the API.
    api("/v1/events", {"name": "dashboard/check", "data": {}}, base=leader)
    dom = render(base=leader)
    view = api("/v1/cluster", base=leader)
    expect("cluster role in the header", text(element(dom, "cluster-role")), f"leader · {view['nodeId']}")
    if "hidden" in tag(dom, "cluster"):
        problems.append(f"the cluster panel is hidden on a cluster node: {tag(dom, 'cluster')!r}")
    facts = dict(re.findall(r"<div><span>([^<]*)</span>(.*?)</div>", element(dom, "cluster"), re.S))
    journal = view["journal"]
    for label, wanted in [
        ("Role", "leader"), ("Node", view["nodeId"]), ("Epoch", number(view["epoch"])),
        ("Leader", f"{view['leader']['nodeId']} at {view['leader']['http']}"),
        ("Journal applied", f"{number(journal['appliedSeq'])} of {number(journal['lastSeq'])}"),
        ("Lag", f"{journal['lagMs']} ms"),  # an idle leader's: 0 (under 1 s the page shows milliseconds)
    ]:
        expect(f"cluster fact '{label}'", text(facts.get(label, "(missing)")), wanted)
    # The standby redirects / to the leader, so its address shows the leader's page.
    redirected = render(base=standby)
    expect("cluster role on the standby's address", text(element(redirected, "cluster-role")), f"leader · {view['nodeId']}")
    return (f"the cluster panel shows what the API says (leader {view['nodeId']}, epoch {view['epoch']}, "
            f"journal {journal['lastSeq']})")


if sys.argv[1] == "--cluster":
    bases = sys.argv[2:4]
    summary = cluster()
else:
    bases = sys.argv[1:2]
    summary = single_node()
if problems:
    sys.exit("dashboard-browser-test:\n  " + "\n  ".join(problems))
print("dashboard: " + summary)
