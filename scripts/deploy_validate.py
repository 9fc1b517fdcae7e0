"""Validates the renderings of deploy/kubernetes (`kubectl kustomize` output), for
scripts/check-deploy.sh; run in the scripts' venv (kubernetes-validate, pyyaml, jsonschema).

  deploy_validate.py RENDERED...

Each object against Kubernetes 1.29's and 1.34's schemas (strict: an unknown field fails), the
custom resources against scripts/deploy-crd-schemas, and the objects against each other
(selectors, ports, probes, mounts, the serve configuration, the worker's environment, the
autoscaler, the ServiceMonitor, the NetworkPolicy).
"""

import argparse
import json
import os
import sys

import jsonschema
import kubernetes_validate

from deploy_k8s import (
    EXTERNAL_CONFIGMAPS,
    EXTERNAL_SECRETS,
    IMAGE_UID,
    JOB,
    Rendering,
    expand,
    find,
    literal_env,
    load,
    matches,
    mounted_files,
    under,
    writable_mounts,
)

VERSIONS = ["1.29", "1.34"]
CRD_SCHEMAS = {
    ("keda.sh/v1alpha1", "ScaledObject"): "scaledobject.keda.sh-v1alpha1.json",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitor.monitoring.coreos.com-v1.json",
}


# MARK: schemas


def validate_schemas(objects):
    problems = []
    here = os.path.dirname(os.path.abspath(__file__))
    counts = {}
    for obj in objects:
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        crd = CRD_SCHEMAS.get((obj["apiVersion"], obj["kind"]))
        if crd:
            with open(os.path.join(here, "deploy-crd-schemas", crd), encoding="utf-8") as file:
                schema = json.load(file)
            for error in jsonschema.Draft202012Validator(schema).iter_errors(obj):
                problems.append(f"{name}: {'.'.join(map(str, error.path))}: {error.message} ({crd})")
            counts["custom (deploy-crd-schemas)"] = counts.get("custom (deploy-crd-schemas)", 0) + 1
            continue
        for version in VERSIONS:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                problems.append(f"{name}: Kubernetes {version}: {'.'.join(map(str, error.path))}: {error.message}")
            except kubernetes_validate.SchemaNotFoundError as error:
                problems.append(f"{name}: {error.message}: no schema to check it against")
        counts[f"Kubernetes {'/'.join(VERSIONS)}"] = counts.get(f"Kubernetes {'/'.join(VERSIONS)}", 0) + 1
    return problems, counts


def check_references(r):
    problems = []
    sts, worker = r.statefulset, r.worker
    coordinator = Rendering.container(sts)
    coordinator_labels = Rendering.pod_labels(sts)
    worker_container = Rendering.container(worker)
    worker_labels = Rendering.pod_labels(worker)
    ports = {p["name"]: p["containerPort"] for p in coordinator.get("ports", [])}
    services = {s["metadata"]["name"]: s for s in find(r.objects, "Service")}

    # Security: the image's non-root user, a read-only root file system.
    for workload, container in ((sts, coordinator), (worker, worker_container)):
        pod = workload["spec"]["template"]["spec"]
        context = pod.get("securityContext", {})
        name = workload["metadata"]["name"]
        if (
            not context.get("runAsNonRoot")
            or context.get("runAsUser") != IMAGE_UID
            or context.get("runAsGroup") != IMAGE_UID
        ):
            problems.append(f"{name}: the pod must run as the image's user and group {IMAGE_UID}, non-root")
        if not container.get("securityContext", {}).get("readOnlyRootFilesystem"):
            problems.append(f"{name}: the root file system should be read-only (the data lives on volumes)")
    if sts["spec"]["template"]["spec"].get("securityContext", {}).get("fsGroup") != IMAGE_UID:
        problems.append(f"StatefulSet: fsGroup {IMAGE_UID} gives the volumes and Secrets to the image's group")

    # Services: they select the coordinator's pods, on ports it has; the governing one is headless.
    for name, service in services.items():
        if not matches(service["spec"].get("selector", {}), coordinator_labels):
            problems.append(f"Service {name}: its selector matches no coordinator pod")
        for port in service["spec"]["ports"]:
            if port.get("targetPort") not in ports:
                problems.append(f"Service {name}: targetPort {port.get('targetPort')} is no port of the coordinator")
    governing = services.get(sts["spec"]["serviceName"])
    if (
        not governing
        or governing["spec"].get("clusterIP") != "None"
        or not governing["spec"].get("publishNotReadyAddresses")
    ):
        problems.append(
            "StatefulSet: serviceName must name a headless Service that publishes pods not ready (standbys)"
        )

    # Probes: readiness is /readyz, liveness /healthz, on the HTTP port.
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz"), ("startupProbe", "/healthz")):
        get = coordinator.get(probe, {}).get("httpGet", {})
        if get.get("path") != path or get.get("port") != "http":
            problems.append(f"StatefulSet: {probe} must GET {path} on port http")
    grace = sts["spec"]["template"]["spec"].get("terminationGracePeriodSeconds", 30)
    if grace < 10:
        problems.append(
            f"StatefulSet: terminationGracePeriodSeconds {grace} leaves no room for the drain (5 s) and the store's close"
        )
    if worker["spec"]["template"]["spec"].get("terminationGracePeriodSeconds", 30) <= 35:
        problems.append(
            "worker: terminationGracePeriodSeconds must exceed 35 s (30 s for steps in flight, 5 s for their acknowledgements)"
        )

    # Secrets and ConfigMaps: made by the rendering, or the documented ones with their keys.
    files = {}
    for workload, container in ((sts, coordinator), (worker, worker_container)):
        files[workload["metadata"]["name"]] = mounted_files(workload, container, r.keys_of)
        refs = [v for v in files[workload["metadata"]["name"]].values()]
        refs += [
            ("Secret", v["valueFrom"]["secretKeyRef"]["name"], v["valueFrom"]["secretKeyRef"]["key"])
            for v in container.get("env", [])
            if "secretKeyRef" in v.get("valueFrom", {})
        ]
        for kind, name, key in refs:
            if kind == "ConfigMap" and r.configmap(name):
                data = r.configmap(name).get("data", {})
                if key not in data:
                    problems.append(f"{workload['metadata']['name']}: ConfigMap {name} has no key {key}")
                continue
            known = (EXTERNAL_SECRETS if kind == "Secret" else EXTERNAL_CONFIGMAPS).get(name)
            if known is None or key not in known:
                problems.append(
                    f"{workload['metadata']['name']}: {kind} {name} key {key} is neither rendered nor one the docs have you create"
                )

    # The serve configuration each pod reads: its ports, its files on mounts, its directories on
    # writable volumes, and in a cluster its node id and the addresses it advertises.
    coordinator_files = files[sts["metadata"]["name"]]
    writable = writable_mounts(sts, coordinator)
    for pod_name in r.pod_names():
        env = literal_env(coordinator, pod_name, r.namespace)
        args = [expand(a, env) for a in coordinator.get("args", [])]
        if "--config" not in args:
            problems.append("StatefulSet: the container's args must pass --config")
            break
        path = args[args.index("--config") + 1]
        source = coordinator_files.get(path)
        if not source or source[0] != "ConfigMap" or not r.configmap(source[1]):
            problems.append(f"{pod_name}: --config {path} is no file of a rendered ConfigMap")
            continue
        config = json.loads(r.configmap(source[1])["data"][source[2]])
        problems += check_serve_config(pod_name, config, r, coordinator, ports, coordinator_files, writable, governing)

    # The worker: it dials a Service's worker port, trusts a CA, proves the coordinator's key.
    wenv = {v["name"]: v for v in worker_container.get("env", [])}
    for entry in wenv.get("TETHER_COORDINATOR", {}).get("value", "").split(","):
        host, _, port = entry.rpartition(":")
        service = services.get(host.split(".")[0])
        if not service or not any(
            p["port"] == int(port) and p.get("targetPort") == "workers" for p in service["spec"]["ports"]
        ):
            problems.append(
                f"worker: TETHER_COORDINATOR {entry} is not a Service's port to the coordinator's worker port"
            )
    key_ref = wenv.get("TETHER_SIGNING_KEY", {}).get("valueFrom", {}).get("secretKeyRef", {})
    if ("Secret", key_ref.get("name"), key_ref.get("key")) not in coordinator_files.values():
        problems.append(
            "worker: TETHER_SIGNING_KEY must come from the Secret item the coordinator reads its signing key from"
        )
    ca = wenv.get("TETHER_CA_FILE", {}).get("value")
    if ca not in files[worker["metadata"]["name"]]:
        problems.append(f"worker: TETHER_CA_FILE {ca} is no mounted file")
    try:
        slots = int(wenv["TETHER_MAX_CONCURRENCY"]["value"])
    except (KeyError, ValueError):
        problems.append("worker: TETHER_MAX_CONCURRENCY must be set to an integer")
        slots = None

    # The autoscaler: exactly one, on the worker, with a target of one worker's slots.
    worker_name = worker["metadata"]["name"]
    if "replicas" in worker["spec"]:
        problems.append("worker: no replicas in the Deployment: its autoscaler owns the count")
    scalers = [s for s in find(r.objects, "ScaledObject") if s["spec"]["scaleTargetRef"]["name"] == worker_name]
    hpas = [h for h in find(r.objects, "HorizontalPodAutoscaler") if h["spec"]["scaleTargetRef"]["name"] == worker_name]
    if len(scalers) + len(hpas) != 1:
        problems.append(f"worker: {len(scalers)} ScaledObject(s) and {len(hpas)} HPA(s) scale it; exactly one must")
    for scaler in scalers:
        for trigger in scaler["spec"]["triggers"]:
            if trigger["metadata"].get("threshold") != str(slots):
                problems.append(
                    f"ScaledObject: threshold {trigger['metadata'].get('threshold')} is not the worker's {slots} slots"
                )
    for hpa in hpas:
        for metric in hpa["spec"]["metrics"]:
            if float(metric["external"]["target"]["averageValue"]) != slots:
                problems.append(f"HPA: averageValue is not the worker's {slots} slots")

    # Prometheus: the ServiceMonitor scrapes one Service's HTTP port as job "tether", with an API
    # key the coordinator accepts.
    for monitor in find(r.objects, "ServiceMonitor"):
        selected = [
            s
            for s in services.values()
            if matches(monitor["spec"]["selector"].get("matchLabels", {}), s["metadata"].get("labels", {}))
        ]
        if len(selected) != 1:
            problems.append(f"ServiceMonitor: selects {len(selected)} Services; one, or every pod is scraped twice")
            continue
        service = selected[0]
        if (
            service["metadata"].get("labels", {}).get(monitor["spec"].get("jobLabel", ""), service["metadata"]["name"])
            != JOB
        ):
            problems.append(f"ServiceMonitor: the job would not be {JOB!r}, which the rules and the dashboard select")
        for endpoint in monitor["spec"]["endpoints"]:
            if not any(
                p["name"] == endpoint.get("port") and p.get("targetPort") == "http" for p in service["spec"]["ports"]
            ):
                problems.append(f"ServiceMonitor: port {endpoint.get('port')} is not the Service's HTTP port")
            credentials = endpoint.get("authorization", {}).get("credentials", {})
            if ("Secret", credentials.get("name"), credentials.get("key")) not in coordinator_files.values():
                problems.append("ServiceMonitor: its API key is not one the coordinator reads (apiKeyFiles)")

    # NetworkPolicy: workers may reach the worker port, something the HTTP port.
    for policy in find(r.objects, "NetworkPolicy"):
        if not matches(policy["spec"]["podSelector"].get("matchLabels", {}), coordinator_labels):
            problems.append("NetworkPolicy: it selects no coordinator pod")
        reachable = {}
        for rule in policy["spec"].get("ingress", []):
            for port in rule.get("ports", []):
                if port["port"] not in ports:
                    problems.append(f"NetworkPolicy: port {port['port']} is no port of the coordinator")
                reachable.setdefault(port["port"], []).extend(rule.get("from", []))
        if not any(
            matches(peer.get("podSelector", {}).get("matchLabels", {}), worker_labels) and "podSelector" in peer
            for peer in reachable.get("workers", [])
        ):
            problems.append("NetworkPolicy: the worker's pods may not reach the worker port")
        if not reachable.get("http"):
            problems.append("NetworkPolicy: nothing may reach the HTTP port (clients, Prometheus)")
    for budget in find(r.objects, "PodDisruptionBudget"):
        if not matches(budget["spec"]["selector"].get("matchLabels", {}), coordinator_labels):
            problems.append("PodDisruptionBudget: it selects no coordinator pod")
    return problems


def check_serve_config(pod_name, config, r, container, ports, files, writable, governing):
    problems = []
    where = f"{pod_name}: serve configuration"
    if config.get("httpPort") != ports.get("http") or config.get("workerPort") != ports.get("workers"):
        problems.append(f"{where}: httpPort/workerPort differ from the container's ports http/workers")
    if config.get("host") not in ("0.0.0.0", "::"):
        problems.append(f"{where}: host must be a wildcard address, or the pod's IP is not served")
    read = [config.get("tls", {}).get("certificate"), config.get("tls", {}).get("privateKey")]
    read += config.get("signingKeyFiles", []) + config.get("apiKeyFiles", [])
    for path in read:
        if path not in files or files[path][0] != "Secret":
            problems.append(f"{where}: {path} is no file mounted from a Secret")
    if not config.get("signingKeyFiles") or not config.get("apiKeyFiles"):
        problems.append(f"{where}: signingKeyFiles and apiKeyFiles are needed (keys come from Secrets)")
    # The store in a directory of its own inside a volume (a new cluster node starts from a
    # checkpoint only into an empty one; a replaced store is moved aside next to it); backups
    # may fill a volume (their catalog skips what is not a backup, lost+found included).
    if not under(config.get("data", "/"), writable) or config.get("data") in writable:
        problems.append(f"{where}: data {config.get('data')} must be a directory inside a writable volume")
    if not under(config.get("backups", "/"), writable):
        problems.append(f"{where}: backups {config.get('backups')} must be on a writable volume")
    cluster_keys = {"nodeId", "advertise", "checkpoints", "leaseMilliseconds", "leaseRenewMilliseconds"} & config.keys()
    if cluster_keys:
        if "journal" in config:
            problems.append(f"{where}: the journal URL holds a password: give it as TETHER_JOURNAL from a Secret")
        env = {v["name"]: v for v in container.get("env", [])}
        if "secretKeyRef" not in env.get("TETHER_JOURNAL", {}).get("valueFrom", {}):
            problems.append(f"{where}: cluster keys without TETHER_JOURNAL from a Secret")
        if config.get("nodeId") != pod_name:
            problems.append(f"{where}: nodeId {config.get('nodeId')} is not the pod's name")
        service = governing["metadata"]["name"] if governing else "?"
        expected = {
            "http": f"{pod_name}.{service}:{config.get('httpPort')}",
            "worker": f"{pod_name}.{service}:{config.get('workerPort')}",
        }
        if config.get("advertise") != expected:
            problems.append(f"{where}: advertise must be {expected}: the pod's name under the headless Service")
        directory = config.get("checkpoints", {}).get("directory")
        volumes = {v["name"]: v for v in r.statefulset["spec"]["template"]["spec"]["volumes"]}
        shared = [
            m["mountPath"]
            for m in container["volumeMounts"]
            if "persistentVolumeClaim" in volumes.get(m["name"], {}) and not m.get("readOnly")
        ]
        if not directory or not under(directory, shared):
            problems.append(f"{where}: checkpoints.directory must be on a volume every node shares")
        claims = {v["persistentVolumeClaim"]["claimName"] for v in volumes.values() if "persistentVolumeClaim" in v}
        for claim in claims:
            pvc = find(r.objects, "PersistentVolumeClaim", claim)
            if not pvc or "ReadWriteMany" not in pvc[0]["spec"]["accessModes"]:
                problems.append(f"{where}: the shared volume {claim} must be a ReadWriteMany claim of the rendering")
    return problems


def command_validate(arguments):
    failed = False
    for path in arguments.rendered:
        objects = load(path)
        problems, counts = validate_schemas(objects)
        try:
            problems += check_references(Rendering(objects))
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            problems.append(f"cannot check the objects against each other: {type(error).__name__} {error}")
        label = os.path.basename(path)
        for problem in problems:
            print(f"{label}: {problem}", file=sys.stderr)
        failed = failed or bool(problems)
        print(
            f"{label}: {len(objects)} objects; "
            + ", ".join(f"{n} against {k}" for k, n in sorted(counts.items()))
            + ("; references consistent" if not problems else f"; {len(problems)} problem(s)")
        )
    return 1 if failed else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rendered", nargs="+")
    return command_validate(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
