"""The Kubernetes objects of deploy/kubernetes as `kubectl kustomize` renders them, for
scripts/deploy_validate.py and scripts/deploy_pod.py: the coordinator and the worker picked
out, their env, their mounted files, and what the docs have the operator create."""

import re

import yaml

# What the operator creates before applying an overlay (docs/operations.md, "Deploying on
# Kubernetes"): the manifests may refer to these, with these keys, and to nothing else outside
# the rendering.
EXTERNAL_SECRETS = {
    "tether-tls": {"tls.crt", "tls.key"},
    "tether-signing-key": {"signing-key"},
    "tether-api-keys": {"api-key", "prometheus"},
    "tether-journal": {"url"},
}
EXTERNAL_CONFIGMAPS = {"tether-ca": {"ca.pem"}}
# The images' user and group, tether.
IMAGE_UID = 10001
# The rules and the dashboard select job="tether".
JOB = "tether"


def load(path):
    with open(path, encoding="utf-8") as file:
        return [doc for doc in yaml.safe_load_all(file) if doc]


def find(objects, kind, name=None):
    found = [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    return found


def one(objects, kind, name=None):
    found = find(objects, kind, name)
    if len(found) != 1:
        raise SystemExit(f"expected one {kind}{' ' + name if name else ''}, found {len(found)}")
    return found[0]


def matches(selector, labels):
    return all(labels.get(key) == value for key, value in selector.items())


class Rendering:
    """One overlay's objects, with the coordinator and the worker picked out."""

    def __init__(self, objects):
        self.objects = objects
        self.statefulset = one(objects, "StatefulSet")
        self.worker = one(objects, "Deployment")
        self.namespace = self.statefulset["metadata"].get("namespace", "default")

    @staticmethod
    def container(workload):
        containers = workload["spec"]["template"]["spec"]["containers"]
        if len(containers) != 1:
            raise SystemExit(f"{workload['metadata']['name']}: expected one container, found {len(containers)}")
        return containers[0]

    @staticmethod
    def pod_labels(workload):
        return workload["spec"]["template"]["metadata"]["labels"]

    def configmap(self, name):
        """A ConfigMap of the rendering by its name as the manifests wrote it (kustomize adds a hash)."""
        for obj in find(self.objects, "ConfigMap"):
            if obj["metadata"]["name"] == name or re.fullmatch(
                re.escape(name) + r"-[a-z0-9]{10}", obj["metadata"]["name"]
            ):
                return obj
        return None

    def keys_of(self, kind, name):
        rendered = self.configmap(name) if kind == "ConfigMap" else None
        if rendered:
            return sorted(rendered.get("data", {}))
        return sorted((EXTERNAL_SECRETS if kind == "Secret" else EXTERNAL_CONFIGMAPS).get(name, ()))

    def pod_names(self):
        name = self.statefulset["metadata"]["name"]
        return [f"{name}-{i}" for i in range(self.statefulset["spec"].get("replicas", 1))]


def expand(text, env):
    """$(VAR) in a container's command and args, as the kubelet expands it."""
    return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m.group(1), m.group(0)), text)


def literal_env(container, pod_name, namespace):
    env = {}
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
        elif "fieldRef" in var.get("valueFrom", {}):
            path = var["valueFrom"]["fieldRef"]["fieldPath"]
            env[var["name"]] = {"metadata.name": pod_name, "metadata.namespace": namespace}.get(path, f"<{path}>")
    return env


def mounted_files(workload, container, keys_of):
    """Every file a Secret or ConfigMap puts in the container: path -> (kind, object name, key).
    Without items, a volume holds every key: `keys_of(kind, name)`."""
    volumes = {v["name"]: v for v in workload["spec"]["template"]["spec"].get("volumes", [])}
    files = {}
    for mount in container.get("volumeMounts", []):
        volume = volumes.get(mount["name"], {})
        sources = []
        if "secret" in volume:
            sources.append(("Secret", volume["secret"]["secretName"], volume["secret"].get("items")))
        if "configMap" in volume:
            sources.append(("ConfigMap", volume["configMap"]["name"], volume["configMap"].get("items")))
        for source in volume.get("projected", {}).get("sources", []):
            if "secret" in source:
                sources.append(("Secret", source["secret"]["name"], source["secret"].get("items")))
            if "configMap" in source:
                sources.append(("ConfigMap", source["configMap"]["name"], source["configMap"].get("items")))
        for kind, name, items in sources:
            for item in items or [{"key": k, "path": k} for k in keys_of(kind, name)]:
                files[mount["mountPath"].rstrip("/") + "/" + item["path"]] = (kind, name, item["key"])
    return files


def writable_mounts(workload, container):
    volumes = {v["name"]: v for v in workload["spec"]["template"]["spec"].get("volumes", [])}
    claims = {t["metadata"]["name"] for t in workload["spec"].get("volumeClaimTemplates", [])}
    return [
        m["mountPath"]
        for m in container.get("volumeMounts", [])
        if not m.get("readOnly") and (m["name"] in claims or "persistentVolumeClaim" in volumes.get(m["name"], {}))
    ]


def under(path, directories):
    return any(path == d or path.startswith(d.rstrip("/") + "/") for d in directories)
