"""Every metric name deploy/ and the docs use, against what live coordinators serve, for
scripts/check-deploy.sh; run in the scripts' venv (pyyaml, promql-parser).

  deploy_metrics.py --scrape SCRAPE... [--cluster-scrape SCRAPE]... --rendered RENDERED...

The names the Grafana dashboard (its queries and variables), the alert and recording rules, the
rendered overlays' KEDA queries, the HPA's prometheus-adapter rules and docs/*.md, README.md and
deploy/README.md use must be served by one of the scraped coordinators (a histogram's name with
or without _bucket, _sum, _count). Besides them: `up` (Prometheus makes it), the names the rules
record, the external metrics the adapter serves, and in the docs the journal's PostgreSQL tables
(as Sources creates them). Without a cluster scrape, a name of the cluster families (declared in
Sources/TetherCoordinator/Cluster/ClusterNodeState+Metrics.swift) is listed as not checked.
Also the helpers of scripts/deploy_rule_tests.py: scrapes, expressions and where they are used.

A scrape is Prometheus text as GET /metrics served it.
"""

import argparse
import glob
import json
import os
import re
import sys

import promql_parser
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RULES = os.path.join(REPO, "deploy/prometheus/tether-rules.yaml")
DASHBOARD = os.path.join(REPO, "deploy/grafana/tether.json")
ADAPTER = os.path.join(REPO, "deploy/kubernetes/components/hpa/prometheus-adapter-rules.yaml")
CLUSTER_FAMILIES = os.path.join(REPO, "Sources/TetherCoordinator/Cluster/ClusterNodeState+Metrics.swift")
# Series Prometheus makes for every target itself.
PROMETHEUS_SERIES = {"up"}
JOB = "tether"
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


# MARK: scrapes


class Sample:
    def __init__(self, name, labels, value):
        self.name, self.labels, self.value = name, labels, value

    def selector(self, extra):
        labels = {**extra, **self.labels}
        inner = ", ".join(f'{k}="{escape(v)}"' for k, v in labels.items())
        return f"{self.name}{{{inner}}}"


def escape(value):
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def parse_scrape(text):
    """Samples and each family's type, from the text format 0.0.4."""
    samples, types = [], {}
    label = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?')
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(None, 3)
            types[name] = kind.strip()
            continue
        if not line.strip() or line.startswith("#"):
            continue
        match = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$", line)
        if not match:
            raise SystemExit(f"cannot read the scrape line {line!r}")
        labels = {}
        body = match.group(3) or ""
        position = 0
        while position < len(body):
            found = label.match(body, position)
            if not found:
                raise SystemExit(f"cannot read the labels of {line!r}")
            labels[found.group(1)] = bytes(found.group(2), "utf-8").decode("unicode_escape")
            position = found.end()
        samples.append(Sample(match.group(1), labels, float(match.group(4))))
    return samples, types


def served_names(scrapes):
    names = set()
    for samples, types in scrapes:
        names |= {s.name for s in samples}
        # A histogram serves its own name too (docs speak of tether_store_commit_seconds).
        names |= {
            name
            for name, kind in types.items()
            if kind == "histogram" and any(s.name == name + "_bucket" for s in samples)
        }
    return names


# MARK: the names deploy/ and docs/ use


def selector_names(expression):
    """The metric names an expression selects (by name or by {__name__="…"})."""
    names = set()

    def visit(node):
        if isinstance(node, promql_parser.VectorSelector):
            if node.name:
                names.add(node.name)
            for matcher in node.matchers.matchers:
                if matcher.name == "__name__":
                    if str(matcher.op) != "MatchOp.Equal":
                        raise SystemExit(f"{expression}: select metrics by exact name, not {matcher.op}")
                    names.add(matcher.value)
        for attribute in ("lhs", "rhs", "expr", "vector_selector", "param"):
            child = getattr(node, attribute, None)
            if child is not None and not isinstance(child, (str, int, float)):
                visit(child)
        for child in getattr(node, "args", None) or []:
            visit(child)

    visit(promql_parser.parse(expression))
    return names


def grafana_expressions():
    """Every query of the dashboard, Grafana's variables given values PromQL accepts."""
    with open(DASHBOARD, encoding="utf-8") as file:
        dashboard = json.load(file)
    datasource_variables = [v for v in dashboard["templating"]["list"] if v["type"] == "datasource"]
    if not datasource_variables or any(
        p.get("datasource", {}).get("uid") != "${" + datasource_variables[0]["name"] + "}"
        for p in panels_of(dashboard)
        if p["type"] != "row"
    ):
        raise SystemExit("deploy/grafana/tether.json: every panel must use the data source variable")

    def concrete(text):
        text = re.sub(r"\$__(rate_interval|interval|range)", "5m", text)
        return re.sub(r"\$\{?[a-zA-Z_]+\}?", ".*", text)

    found = []
    for panel in panels_of(dashboard):
        for target in panel.get("targets", []):
            found.append((f"panel {panel['title']!r}", concrete(target["expr"])))
    for variable in dashboard["templating"]["list"]:
        if variable["type"] != "query":
            continue
        query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
        match = re.fullmatch(r"label_values\((.*),\s*([a-zA-Z_]+)\)", query.strip())
        if not match:
            raise SystemExit(
                f"deploy/grafana/tether.json: variable {variable['name']}: expected label_values(SELECTOR, LABEL)"
            )
        found.append((f"variable {variable['name']}", concrete(match.group(1))))
    return found


def panels_of(dashboard):
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def rules():
    with open(RULES, encoding="utf-8") as file:
        return [rule for group in yaml.safe_load(file)["groups"] for rule in group["rules"]]


def rendered_queries(paths):
    """The KEDA queries and the HPAs' external metrics of the rendered overlays."""
    keda, external = [], set()
    for path in paths:
        with open(path, encoding="utf-8") as file:
            for obj in (o for o in yaml.safe_load_all(file) if o):
                if obj["kind"] == "ScaledObject":
                    for trigger in obj["spec"]["triggers"]:
                        if trigger["type"] == "prometheus":
                            keda.append(trigger["metadata"]["query"])
                if obj["kind"] == "HorizontalPodAutoscaler":
                    for metric in obj["spec"]["metrics"]:
                        if metric["type"] == "External":
                            external.add(metric["external"]["metric"]["name"])
    return keda, external


def adapter_expressions(external):
    """prometheus-adapter's rules for the HPA's external metrics, as the queries it would send."""
    with open(ADAPTER, encoding="utf-8") as file:
        config = yaml.safe_load(file)
    found, served = [], set()
    for rule in config["externalRules"]:
        series = rule["seriesQuery"]
        name = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", series).group(0)
        served.add(rule["name"]["as"])
        query = (
            rule["metricsQuery"]
            .replace("<<.Series>>", name)
            .replace("<<.LabelMatchers>>", 'app="shop"')
            .replace("<<.GroupBy>>", "app")
        )
        found += [("prometheus-adapter seriesQuery", series), ("prometheus-adapter metricsQuery", query)]
    for name in external - served:
        raise SystemExit(f"the HPA asks for the external metric {name}, which no rule of {ADAPTER} serves")
    return found, served


def doc_names():
    """tether_* names in the docs, less the journal's PostgreSQL tables (created in Sources)."""
    tables = set()
    for path in glob.glob(os.path.join(REPO, "Sources/**/*.swift"), recursive=True):
        with open(path, encoding="utf-8") as file:
            tables |= set(re.findall(r"CREATE TABLE IF NOT EXISTS (tether_[a-z_]+)", file.read()))
    found = []
    paths = sorted(glob.glob(os.path.join(REPO, "docs/*.md"))) + [
        os.path.join(REPO, p) for p in ("README.md", "deploy/README.md")
    ]
    for path in paths:
        with open(path, encoding="utf-8") as file:
            for name in sorted(set(re.findall(r"\btether_[a-z0-9_]*[a-z0-9]\b", file.read())) - tables):
                found.append((os.path.relpath(path, REPO), name))
    return found, tables


def cluster_family_names():
    with open(CLUSTER_FAMILIES, encoding="utf-8") as file:
        return set(re.findall(r'"(tether_[a-z_]+)"', file.read()))


def command_names(arguments):
    single = [parse_scrape(open(path, encoding="utf-8").read()) for path in arguments.scrape]
    cluster = [parse_scrape(open(path, encoding="utf-8").read()) for path in arguments.cluster_scrape]
    served = served_names(single + cluster)
    recorded = {rule["record"] for rule in rules() if "record" in rule}
    keda, external = rendered_queries(arguments.rendered)

    uses = []  # (where, name)
    for where, expression in grafana_expressions():
        uses += [("dashboard " + where, n) for n in selector_names(expression)]
    for rule in rules():
        uses += [(f"rule {rule.get('alert') or rule.get('record')}", n) for n in selector_names(rule["expr"])]
    for query in keda:
        uses += [("KEDA query", n) for n in selector_names(query)]
    adapter, adapted = adapter_expressions(external)
    for where, expression in adapter:
        uses += [(where, n) for n in selector_names(expression)]
    docs, tables = doc_names()
    uses += docs

    cluster_families = cluster_family_names()
    missing, unchecked = [], set()
    for where, name in uses:
        if name in served or name in PROMETHEUS_SERIES or name in recorded or name in adapted:
            continue
        base = next((name[: -len(s)] for s in HISTOGRAM_SUFFIXES if name.endswith(s)), name)
        if not cluster and (name in cluster_families or base in cluster_families):
            unchecked.add(name)
            continue
        missing.append(f"{where}: {name}")
    kinds = {}
    for where, name in uses:
        kind = where.split()[0]
        kinds.setdefault(kind, set()).add(name)
    print(
        f"metric names: {len({n for _, n in uses})} used ("
        + ", ".join(f"{kind} {len(names)}" for kind, names in sorted(kinds.items()))
        + f"), {len(served)} served by the scraped coordinators; besides them only {', '.join(sorted(PROMETHEUS_SERIES))} "
        + f"(made by Prometheus), the recorded {', '.join(sorted(recorded))}, prometheus-adapter's "
        + f"{', '.join(sorted(adapted))}, and in the docs the PostgreSQL tables "
        + ", ".join(sorted(tables))
    )
    if unchecked:
        print(
            f"not checked (cluster families; no journal, so no cluster node was scraped): {', '.join(sorted(unchecked))}"
        )
    for problem in missing:
        print(f"not served: {problem}", file=sys.stderr)
    return 1 if missing else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scrape", action="append", default=[], required=True)
    parser.add_argument("--cluster-scrape", action="append", default=[])
    parser.add_argument("--rendered", action="append", default=[], required=True)
    return command_names(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
