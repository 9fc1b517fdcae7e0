"""Runs a pod of a rendering of deploy/kubernetes on this machine, for scripts/check-deploy.sh;
run in the scripts' venv (pyyaml).

  deploy_pod.py RENDERED --workload KIND/NAME [--ordinal N] --root DIR --shared DIR --objects DIR
                --command WORD... [--append-arg ARG]... [--set-env KEY=VALUE]...

Lays out the pod's volumes under --root as its container would see them (the rendering's
ConfigMaps, the Secrets and ConfigMaps the docs have the operator create, from
--objects/secret/NAME/KEY and --objects/configmap/NAME/KEY, and empty volumes; a claim every pod
mounts under --shared), with every absolute path in its JSON files, args and env moved under
those directories, and prints the command that runs it, one word a line: `env -i`, the
manifest's env, the image's entrypoint (--command) and the manifest's args. Writes ROOT/pod.env:
the pod's name, its terminationGracePeriodSeconds and its probes' paths, as shell assignments.
"""

import argparse
import json
import os
import shlex
import sys

from deploy_k8s import Rendering, expand, literal_env, load, mounted_files, one


def command_pod(arguments):
    r = Rendering(load(arguments.rendered))
    kind, _, name = arguments.workload.partition("/")
    workload = one(r.objects, kind, name)
    container = Rendering.container(workload)
    pod_name = f"{name}-{arguments.ordinal}" if kind == "StatefulSet" else f"{name}-0"
    root = os.path.abspath(arguments.root)
    volumes = {v["name"]: v for v in workload["spec"]["template"]["spec"].get("volumes", [])}

    def content(kind, obj_name, key):
        rendered = r.configmap(obj_name) if kind == "ConfigMap" else None
        if rendered:
            return rendered["data"][key].encode()
        path = os.path.join(arguments.objects, kind.lower(), obj_name, key)
        with open(path, "rb") as file:
            return file.read()

    # Each mount becomes a directory: its own, or a shared one for a claim every pod mounts.
    mounts = []
    for mount in container.get("volumeMounts", []):
        volume = volumes.get(mount["name"], {})
        if "persistentVolumeClaim" in volume:
            host = os.path.join(os.path.abspath(arguments.shared), volume["persistentVolumeClaim"]["claimName"])
        else:
            host = os.path.join(root, "volumes", mount["name"])
        os.makedirs(host, exist_ok=True)
        mounts.append((mount["mountPath"].rstrip("/"), host))
    mounts.sort(key=lambda m: -len(m[0]))

    def host_path(path):
        for mount_path, host in mounts:
            if path == mount_path or path.startswith(mount_path + "/"):
                return host + path[len(mount_path) :]
        return None

    def rewrite(value):
        if isinstance(value, str) and value.startswith("/") and host_path(value):
            return host_path(value)
        if isinstance(value, dict):
            return {k: rewrite(v) for k, v in value.items()}
        if isinstance(value, list):
            return [rewrite(v) for v in value]
        return value

    for path, (kind_, obj_name, key) in mounted_files(workload, container, r.keys_of).items():
        data = content(kind_, obj_name, key)
        if path.endswith(".json"):
            data = (json.dumps(rewrite(json.loads(data)), indent=2) + "\n").encode()
        with open(host_path(path), "wb") as file:
            file.write(data)

    env = {}
    for var in container.get("env", []):
        source = var.get("valueFrom", {})
        if "value" in var:
            env[var["name"]] = rewrite(var["value"])
        elif "secretKeyRef" in source:
            env[var["name"]] = content("Secret", source["secretKeyRef"]["name"], source["secretKeyRef"]["key"]).decode()
        elif "fieldRef" in source:
            env[var["name"]] = literal_env({"env": [var]}, pod_name, r.namespace)[var["name"]]
    for assignment in arguments.set_env:
        key, _, value = assignment.partition("=")
        env[key] = value
    args = [rewrite(expand(a, env)) for a in container.get("args", [])] + arguments.append_arg
    spec = workload["spec"]["template"]["spec"]
    with open(os.path.join(root, "pod.env"), "w", encoding="utf-8") as file:
        for key, value in (
            ("pod_name", pod_name),
            ("grace", spec.get("terminationGracePeriodSeconds", 30)),
            ("readiness_path", container.get("readinessProbe", {}).get("httpGet", {}).get("path", "")),
            ("liveness_path", container.get("livenessProbe", {}).get("httpGet", {}).get("path", "")),
        ):
            file.write(f"{key}={shlex.quote(str(value))}\n")
    # Values lose their surrounding whitespace: a Secret made from a file ends in a line break,
    # which a word a line cannot carry (the worker and serve trim their keys anyway).
    command = ["env", "-i", f"PATH={os.environ.get('PATH', '/usr/bin:/bin')}"]
    command += [f"{k}={v.strip()}" for k, v in env.items()] + arguments.command + args
    for part in command:
        if "\n" in part:
            raise SystemExit(f"a value with a line break cannot be passed on: {part!r}")
        print(part)
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rendered")
    parser.add_argument("--workload", required=True, help="KIND/NAME, e.g. StatefulSet/tether")
    parser.add_argument("--ordinal", type=int, default=0)
    parser.add_argument("--root", required=True, help="directory for the pod's volumes")
    parser.add_argument("--shared", required=True, help="directory for the claims pods share")
    parser.add_argument("--objects", required=True, help="directory of secret/NAME/KEY and configmap/NAME/KEY files")
    parser.add_argument("--command", action="append", required=True, help="the image's entrypoint, word by word")
    parser.add_argument("--append-arg", action="append", default=[])
    parser.add_argument("--set-env", action="append", default=[], help="KEY=VALUE replacing the manifest's")
    return command_pod(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
