"""Writes a `promtool test rules` file that evaluates deploy/prometheus/tether-rules.yaml and the
Grafana dashboard's queries against series scraped from live coordinators, for
scripts/check-deploy.sh; run in the scripts' venv (pyyaml, promql-parser).

  deploy_rule_tests.py --single POD SCRAPE --busy POD SCRAPE [--cluster POD:ROLE=SCRAPE]...
                       --namespace NS --rendered RENDERED... --out FILE

A scrape is Prometheus text as GET /metrics served it; each gets the target labels Prometheus
Operator would add (job, namespace, instance, pod). The tests, each over an hour of samples a
minute apart, evaluated at 30 minutes:

- the idle single node (and the cluster: a leader and standbys) as scraped: no alert fires;
- the single node under load as scraped: the KEDA query and the recording rule equal the slots in
  use plus the steps queued, and the app's capacity is saturated exactly when nine slots in ten
  are busy;
- every dashboard query evaluates (no matching error) and finds series;
- for each alert, a fault: the series it watches, as scraped (their real names and labels),
  changed as the fault would change them; it must fire with exactly those labels, and no other
  alert than those listed may fire.
"""

import argparse
import os
import re
import sys

import yaml

from deploy_metrics import (
    JOB,
    PROMETHEUS_SERIES,
    RULES,
    Sample,
    cluster_family_names,
    grafana_expressions,
    parse_scrape,
    rendered_queries,
    rules,
    selector_names,
)


class Target:
    """One scraped coordinator as Prometheus would store it: its samples with target labels."""

    def __init__(self, pod, path, namespace, role):
        self.pod, self.role = pod, role
        with open(path, encoding="utf-8") as file:
            self.samples, self.types = parse_scrape(file.read())
        self.labels = {"job": JOB, "namespace": namespace, "instance": f"{pod}.tether-headless:7420", "pod": pod}

    def find(self, name, **labels):
        found = [s for s in self.samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
        if not found:
            raise SystemExit(f"{self.pod}: the scrape has no {name} {labels or ''}: a rule watches it")
        return found

    def series(self, sample):
        return {**self.labels, **sample.labels}

    def with_samples(self, samples):
        other = Target.__new__(Target)
        other.__dict__.update(self.__dict__)
        other.samples = samples
        return other


def number(value):
    return repr(int(value)) if value == int(value) else repr(value)


class Scenario:
    """Input series for one test: every scraped sample held for the test's length, with some
    samples given other values (a fault), and some targets gone."""

    LENGTH = 60  # samples, a minute apart

    def __init__(self, targets):
        self.targets = targets
        self.values = {}  # (pod, name, labels) -> values text
        self.down = set()

    def key(self, target, sample):
        return (target.pod, sample.name, tuple(sorted(sample.labels.items())))

    def set(self, target, sample, values):
        self.values[self.key(target, sample)] = values

    def input_series(self):
        series = []
        for target in self.targets:
            series.append(
                {
                    "series": Sample("up", {}, 0).selector(target.labels),
                    "values": f"{0 if target.pod in self.down else 1}x{self.LENGTH}",
                }
            )
            if target.pod in self.down:
                continue
            for sample in target.samples:
                values = self.values.get(self.key(target, sample), f"{number(sample.value)}x{self.LENGTH}")
                series.append({"series": sample.selector(target.labels), "values": values})
        return series


def render(text, labels):
    def label(match):
        return labels.get(match.group(1), "")

    rendered = re.sub(r"\{\{ \$labels\.([a-zA-Z_]+) \}\}", label, text)
    if "{{" in rendered:
        raise SystemExit(
            f"an annotation uses a template these tests cannot render (only {{{{ $labels.NAME }}}}): {text!r}"
        )
    return rendered


def expected(alert, labels):
    return {
        "exp_labels": {**labels, "severity": alert["labels"]["severity"]},
        "exp_annotations": {k: render(v, labels) for k, v in alert.get("annotations", {}).items()},
    }


def only(labels, keys):
    return {k: v for k, v in labels.items() if k in keys}


GROUP = ("namespace", "job")


def single_node_faults(node):
    """Per alert: a fault on the single node's scraped series, and the alerts it must fire."""
    faults = {}
    n = Scenario.LENGTH

    def fault(name, change, fires):
        scenario = Scenario([node])
        change(scenario)
        faults[name] = (scenario, fires)

    healthy = node.find("tether_store_healthy")[0]
    fault(
        "TetherStorageUnavailable",
        lambda s: s.set(node, healthy, f"0x{n}"),
        [("TetherStorageUnavailable", node.series(healthy)), ("TetherNotReady", only(node.labels, GROUP))],
    )
    fault(
        "TetherNotReady",
        lambda s: s.down.add(node.pod),
        [("TetherNotReady", only(node.labels, GROUP)), ("TetherCoordinatorDown", node.labels)],
    )
    faults["TetherCoordinatorDown"] = faults["TetherNotReady"]

    def slow_commits(s):
        # Ten commits a minute, each between 100 and 250 ms (every bucket above 0.1 s counts them).
        for sample in node.find("tether_store_commit_seconds_bucket"):
            grows = float(sample.labels["le"]) > 0.1
            s.set(node, sample, f"{number(sample.value)}+{10 if grows else 0}x{n}")
        count, total = (
            node.find("tether_store_commit_seconds_count")[0],
            node.find("tether_store_commit_seconds_sum")[0],
        )
        s.set(node, count, f"{number(count.value)}+10x{n}")
        s.set(node, total, f"{number(total.value)}+2x{n}")

    fault("TetherStoreCommitSlow", slow_commits, [("TetherStoreCommitSlow", only(node.labels, GROUP + ("instance",)))])

    age = node.find("tether_queue_oldest_age_seconds")[0]
    fault(
        "TetherQueueAgeHigh",
        lambda s: s.set(node, age, f"0+60x{n}"),
        [("TetherQueueAgeHigh", only(node.series(age), GROUP + ("function",)))],
    )

    slots = next(s for s in node.find("tether_capacity_slots") if s.value > 0)
    in_use = node.find("tether_capacity_in_use_slots", app=slots.labels["app"])[0]
    fault(
        "TetherCapacitySaturated",
        lambda s: s.set(node, in_use, f"{number(slots.value)}x{n}"),
        [("TetherCapacitySaturated", only(node.series(in_use), GROUP + ("app",)))],
    )

    workers = node.find("tether_workers_connected", app=slots.labels["app"])[0]
    fault(
        "TetherNoWorkers",
        lambda s: s.set(node, workers, f"0x{n}"),
        [("TetherNoWorkers", only(node.series(workers), GROUP + ("app",)))],
    )

    def rising(sample, per_minute):
        """A counter that goes up by `per_minute` from its scraped value."""
        return lambda s: s.set(node, sample, f"{number(sample.value)}+{per_minute}x{n}")

    fault(
        "TetherWorkersFlapping",
        rising(node.find("tether_worker_handshakes_accepted_total")[0], 10),
        [("TetherWorkersFlapping", only(node.labels, GROUP))],
    )
    refused = node.find("tether_worker_handshakes_rejected_total", code="unauthenticated")[0]
    fault(
        "TetherWorkerHandshakesRejected",
        rising(refused, 1),
        [("TetherWorkerHandshakesRejected", only(node.series(refused), GROUP + ("code",)))],
    )
    fault(
        "TetherLeaseExpiries",
        rising(node.find("tether_lease_expiries_total")[0], 1),
        [("TetherLeaseExpiries", only(node.labels, GROUP))],
    )
    overloaded = node.find("tether_overloaded_total", reason="active_runs")[0]
    fault(
        "TetherOverloaded",
        rising(overloaded, 5),
        [("TetherOverloaded", only(node.series(overloaded), GROUP + ("reason",)))],
    )

    held = node.find("tether_dispatch_held")[0]
    fault(
        "TetherDispatchHeld",
        lambda s: s.set(node, held, f"1x{n}"),
        [("TetherDispatchHeld", only(node.labels, GROUP + ("instance",)))],
    )
    return faults


def cluster_faults(nodes):
    leader = next(t for t in nodes if t.role == "leader")
    standby = next(t for t in nodes if t.role == "standby")
    cluster_families = cluster_family_names()
    faults = {}
    n = Scenario.LENGTH

    def leader_stepped_down(s):
        # What a leader that lost the journal serves: the cluster families only, as a standby.
        stepped = leader.with_samples(
            [x for x in leader.samples if any(x.name.startswith(f) for f in cluster_families)]
        )
        s.targets = [stepped if t is leader else t for t in s.targets]
        s.set(stepped, stepped.find("tether_cluster_role", role="leader")[0], f"0x{n}")
        s.set(stepped, stepped.find("tether_cluster_role", role="standby")[0], f"1x{n}")

    scenario = Scenario(nodes)
    leader_stepped_down(scenario)
    faults["TetherClusterNoLeader"] = (
        scenario,
        [("TetherClusterNoLeader", only(leader.labels, GROUP)), ("TetherNotReady", only(leader.labels, GROUP))],
    )
    failures = leader.find("tether_journal_append_failures_total")[0]
    scenario = Scenario(nodes)
    scenario.set(leader, failures, f"{number(failures.value)}+1x{n}")
    faults["TetherJournalAppendFailures"] = (scenario, [("TetherJournalAppendFailures", leader.series(failures))])
    lag = standby.find("tether_cluster_standby_lag_seconds")[0]
    scenario = Scenario(nodes)
    scenario.set(standby, lag, f"0+30x{n}")
    faults["TetherClusterStandbyLagging"] = (scenario, [("TetherClusterStandbyLagging", standby.series(lag))])
    failed = leader.find("tether_cluster_checkpoints_total", outcome="failed")[0]
    scenario = Scenario(nodes)
    scenario.set(leader, failed, f"{number(failed.value)}+1x{n}")
    faults["TetherClusterCheckpointsFailing"] = (scenario, [("TetherClusterCheckpointsFailing", leader.series(failed))])
    return faults


def slots_wanted(target, app):
    """In Python, what the KEDA query and the recording rule compute: slots in use plus queued."""
    in_use = sum(
        s.value for s in target.samples if s.name == "tether_capacity_in_use_slots" and s.labels.get("app") == app
    )
    queued = sum(
        s.value
        for s in target.samples
        if s.name == "tether_queue_depth" and s.labels.get("function", "").startswith(app + ":")
    )
    return in_use, queued


def command_tests(arguments):
    alerts = {rule["alert"]: rule for rule in rules() if "alert" in rule}
    records = [rule["record"] for rule in rules() if "record" in rule]
    node = Target(arguments.single[0], arguments.single[1], arguments.namespace, "single")
    busy = Target(arguments.busy[0], arguments.busy[1], arguments.namespace, "single")
    cluster = [
        Target(pod, path, arguments.namespace, role)
        for pod, role, path in (
            spec.split("=", 1)[0].split(":") + [spec.split("=", 1)[1]] for spec in arguments.cluster
        )
    ]
    keda, _ = rendered_queries(arguments.rendered)
    tests = []
    at = f"{Scenario.LENGTH // 2}m"

    def test(comment, scenario, fires, exprs=()):
        firing = {}
        for name, labels in fires:
            firing.setdefault(name, []).append(expected(alerts[name], labels))
        checked = list(alerts)
        tests.append(
            (
                comment,
                {
                    "name": comment,
                    "interval": "1m",
                    "input_series": scenario.input_series(),
                    "alert_rule_test": [
                        {"eval_time": at, "alertname": name, "exp_alerts": firing.get(name, [])} for name in checked
                    ],
                    **({"promql_expr_test": list(exprs)} if exprs else {}),
                },
            )
        )

    test(f"{node.pod} as scraped, idle with a worker connected: no alert fires.", Scenario([node]), [])
    # Under load: the KEDA query and the recording rule against the real values.
    app = next(s.labels["app"] for s in busy.find("tether_capacity_slots") if s.value > 0)
    in_use, queued = slots_wanted(busy, app)
    if in_use == 0 or queued == 0:
        raise SystemExit(
            f"the scrape under load has {in_use} slots in use and {queued} steps queued for {app}: both must be above 0"
        )
    exprs = [
        {"expr": query, "eval_time": at, "exp_samples": [{"labels": "{}", "value": in_use + queued}]}
        for query in sorted(set(keda))
        if f'app="{app}"' in query
    ]
    if not exprs:
        raise SystemExit(f"no KEDA query of the rendered overlays selects app {app!r}")
    for record in records:
        exprs.append(
            {
                "expr": f'{record}{{app="{app}"}}',
                "eval_time": at,
                "exp_samples": [
                    {
                        "labels": Sample(record, {"app": app}, 0).selector(only(busy.labels, GROUP)),
                        "value": in_use + queued,
                    }
                ],
            }
        )
    # As scraped, the app's slots may all be busy: then (and only then) it is saturated.
    slots = sum(s.value for s in busy.find("tether_capacity_slots", app=app))
    saturated = (
        [("TetherCapacitySaturated", only({**busy.labels, "app": app}, GROUP + ("app",)))]
        if in_use / slots >= 0.9
        else []
    )
    test(
        f"{busy.pod} as scraped under load ({number(in_use)} of {number(slots)} slots in use, {number(queued)} steps queued "
        f"for {app}): the KEDA query and the recording rule count both"
        + ("; the app's capacity is saturated." if saturated else "."),
        Scenario([busy]),
        saturated,
        exprs,
    )

    # Every dashboard query evaluates (no matching error) and finds series, on the single node
    # as scraped; a query of the cluster families, on the cluster as scraped.
    cluster_families = cluster_family_names()
    for targets, label in (([node], f"the single node {node.pod}"), (cluster, "the cluster")):
        if not targets:
            continue
        queries = []
        for where, expression in grafana_expressions():
            watched = {re.sub(r"_(bucket|sum|count)$", "", n) for n in selector_names(expression)} - PROMETHEUS_SERIES
            if (targets is cluster) == (watched <= cluster_families):
                queries.append(
                    {
                        "expr": f"count({expression}) > bool 0",
                        "eval_time": at,
                        "exp_samples": [{"labels": "{}", "value": 1}],
                    }
                )
        kind = "the cluster families" if targets is cluster else "more than the cluster families"
        test(
            f"Each dashboard query of {kind} evaluates and finds series on {label}, as scraped.",
            Scenario(targets),
            [],
            queries,
        )

    faults = single_node_faults(node)
    unchecked = []
    if cluster:
        test(
            "The cluster as scraped (" + ", ".join(f"{t.pod} {t.role}" for t in cluster) + "): no alert fires.",
            Scenario(cluster),
            [],
        )
        faults.update(cluster_faults(cluster))
    tested = {}  # one test per fault, however many alerts it is there for
    for name, alert in alerts.items():
        if name not in faults:
            watched = {
                re.sub(r"_(bucket|sum|count)$", "", n) for n in selector_names(alert["expr"])
            } - PROMETHEUS_SERIES
            if not cluster and watched <= cluster_families:
                unchecked.append(name)
                continue
            raise SystemExit(
                f"{RULES}: alert {name} has no fault in scripts/deploy_rule_tests.py to test it against a scrape"
            )
        scenario, fires = faults[name]
        tested.setdefault(id(scenario), (scenario, fires, []))[2].append(name)
    for scenario, fires, names in tested.values():
        test(f"{', '.join(names)}: a fault on the series as scraped.", scenario, fires)

    with open(arguments.out, "w", encoding="utf-8") as file:
        file.write("# Generated by scripts/deploy_rule_tests.py from scrapes of live coordinators.\n")
        yaml.safe_dump(
            {"rule_files": [os.path.abspath(RULES)], "evaluation_interval": "1m", "tests": [t for _, t in tests]},
            file,
            sort_keys=False,
            width=200,
        )
    print(
        f"promtool tests: {len(tests)} from the scrapes of the single node {node.pod} (idle, and under load)"
        + (" and of the cluster's " + ", ".join(f"{t.pod} ({t.role})" for t in cluster) if cluster else "")
        + f"; {len(alerts) - len(unchecked)} of {len(alerts)} alerts made to fire from scraped series"
    )
    if unchecked:
        print(f"not tested against a scrape (no cluster node was scraped): {', '.join(unchecked)}")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--single", nargs=2, metavar=("POD", "SCRAPE"), required=True, help="an idle single node")
    parser.add_argument("--busy", nargs=2, metavar=("POD", "SCRAPE"), required=True, help="the single node under load")
    parser.add_argument("--cluster", action="append", default=[], help="POD:ROLE=SCRAPE, ROLE leader or standby")
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--rendered", action="append", default=[], required=True)
    parser.add_argument("--out", required=True)
    return command_tests(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
