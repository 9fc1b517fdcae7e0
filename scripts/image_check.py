"""Checks for scripts/test-image.sh: the images' settings, and what the API answers.

    image_check.py config KIND VERSION      stdin: `buildah inspect --type image` of the image
        The image's settings are the expected ones for KIND (coordinator or example-worker), and
        so are those of the Containerfile stage of that name, with the same labels (and the same
        title and description).
    image_check.py process BUNDLE/config.json
        The command an unpacked image runs, NUL-separated: "uid:gid", the number of environment
        variables, the variables, the arguments.
    image_check.py connected INSTANCE       stdin: GET /v1/workers; exit 1 if INSTANCE is absent
    image_check.py first-run                stdin: the answer of POST /v1/events; prints a run id
    image_check.py run RUN.json ORDER WORKER
        The run completed the order ORDER with the example worker's receipt, its three steps on
        WORKER.
"""

import json
import pathlib
import shlex
import sys

LABELS = {f"org.opencontainers.image.{name}" for name in
          ("title", "description", "version", "revision", "source", "created")}
PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
EXPECTED = {
    "coordinator": {
        "User": "10001:10001",
        "WorkingDir": "/var/lib/tether",
        "Volumes": ["/var/lib/tether", "/var/lib/tether-backups"],
        "ExposedPorts": ["7420/tcp", "7421/tcp"],
        "StopSignal": "SIGTERM",
        "Entrypoint": ["/usr/local/bin/tether", "serve"],
        "Cmd": ["--config", "/etc/tether/tether.json"],
    },
    "example-worker": {
        "User": "10001:10001",
        "WorkingDir": "/",
        "Volumes": [],
        "ExposedPorts": [],
        "StopSignal": "SIGTERM",
        "Entrypoint": ["/usr/local/bin/tether-example"],
        "Cmd": [],
    },
}
CONTAINERFILE = pathlib.Path(__file__).resolve().parent.parent / "Containerfile"


def image_settings(config):
    """The settings of an OCI image configuration, in EXPECTED's shape."""
    return {
        "User": config.get("User"),
        "WorkingDir": config.get("WorkingDir"),
        "Volumes": sorted(config.get("Volumes") or {}),
        "ExposedPorts": sorted(config.get("ExposedPorts") or {}),
        "StopSignal": config.get("StopSignal"),
        "Entrypoint": config.get("Entrypoint") or [],
        "Cmd": config.get("Cmd") or [],
    }


def containerfile_stage(name):
    """The settings one stage of the Containerfile gives its image, and its labels."""
    lines, current = [], ""
    for raw in CONTAINERFILE.read_text().splitlines():
        if not current and (raw.lstrip().startswith("#") or not raw.strip()):
            continue
        if raw.endswith("\\"):
            current += raw[:-1] + " "
            continue
        lines.append(current + raw)
        current = ""
    stage, settings, labels = None, None, {}
    for line in lines:
        instruction, _, argument = line.strip().partition(" ")
        instruction, argument = instruction.upper(), argument.strip()
        if instruction == "FROM":
            words = argument.split()
            stage = words[2] if len(words) == 3 and words[1].lower() == "as" else None
            if stage == name:
                settings = {"User": None, "WorkingDir": None, "Volumes": [], "ExposedPorts": [],
                            "StopSignal": None, "Entrypoint": [], "Cmd": []}
            continue
        if stage != name:
            continue
        if instruction == "USER":
            settings["User"] = argument
        elif instruction == "WORKDIR":
            settings["WorkingDir"] = argument
        elif instruction == "VOLUME":
            settings["Volumes"] = sorted(json.loads(argument) if argument.startswith("[") else argument.split())
        elif instruction == "EXPOSE":
            settings["ExposedPorts"] = sorted(argument.split())
        elif instruction == "STOPSIGNAL":
            settings["StopSignal"] = argument
        elif instruction == "ENTRYPOINT":
            settings["Entrypoint"] = json.loads(argument)
        elif instruction == "CMD":
            settings["Cmd"] = json.loads(argument)
        elif instruction == "LABEL":
            labels.update(word.split("=", 1) for word in shlex.split(argument))
    if settings is None:
        sys.exit(f"Containerfile: no stage named {name}")
    return settings, labels


def check_config(kind, version):
    inspected = json.load(sys.stdin)
    config = inspected["OCIv1"]["config"]
    expected = EXPECTED[kind]
    problems = []
    for key, value in image_settings(config).items():
        if value != expected[key]:
            problems.append(f"image {key} is {value!r}, expected {expected[key]!r}")
    if PATH not in (config.get("Env") or []):
        problems.append(f"image environment {config.get('Env')!r} lacks {PATH}")
    labels = config.get("Labels") or {}
    if not LABELS <= set(labels):
        problems.append(f"image labels lack {sorted(LABELS - set(labels))}")
    if labels.get("org.opencontainers.image.version") != version:
        problems.append(f"image label version is {labels.get('org.opencontainers.image.version')!r}, not {version!r}")
    settings, stage_labels = containerfile_stage(kind)
    for key, value in settings.items():
        if value != expected[key]:
            problems.append(f"Containerfile stage {kind}: {key} is {value!r}, expected {expected[key]!r}")
    if set(stage_labels) != LABELS:
        problems.append(f"Containerfile stage {kind}: labels {sorted(stage_labels)}, expected {sorted(LABELS)}")
    for name in ("org.opencontainers.image.title", "org.opencontainers.image.description"):
        if stage_labels.get(name) != labels.get(name):
            problems.append(f"{name} is {labels.get(name)!r} in the image, {stage_labels.get(name)!r} in the Containerfile")
    if problems:
        sys.exit(f"{kind}: " + "; ".join(problems))
    print(f"{kind}: the image's settings are as expected, and the Containerfile's are the same")


def print_process(path):
    process = json.loads(pathlib.Path(path).read_text())["process"]
    user = process["user"]
    words = [f"{user['uid']}:{user['gid']}", str(len(process["env"]))] + process["env"] + process["args"]
    sys.stdout.write("".join(word + "\0" for word in words))


def check_run(path, order, worker):
    run = json.loads(pathlib.Path(path).read_text())
    expected_output = {"orderId": order, "reservationId": f"rsv_{order}", "chargeId": f"ch_{order}_4200",
                       "amount": 4200, "emailed": True}
    problems = []
    if run["status"] != "completed":
        problems.append(f"status {run['status']}, error {run.get('error')}")
    if run.get("output") != expected_output:
        problems.append(f"output {run.get('output')}")
    steps = [(step["id"], step["status"], step["worker"]) for step in run.get("steps", [])]
    if steps != [(step, "completed", worker) for step in ("reserve-stock", "charge", "send-receipt")]:
        problems.append(f"steps {steps}")
    if problems:
        sys.exit(f"run {run['id']}: " + "; ".join(problems))
    print(f"run {run['id']}: completed, its 3 steps on {worker}, output {json.dumps(run['output'])}")


def main(argv):
    command = argv[1] if len(argv) > 1 else ""
    if command == "config" and len(argv) == 4:
        check_config(argv[2], argv[3])
    elif command == "process" and len(argv) == 3:
        print_process(argv[2])
    elif command == "connected" and len(argv) == 3:
        workers = json.load(sys.stdin)["workers"]
        sys.exit(0 if any(worker["instanceId"] == argv[2] for worker in workers) else 1)
    elif command == "first-run" and len(argv) == 2:
        print(json.load(sys.stdin)["events"][0]["runs"][0])
    elif command == "run" and len(argv) == 5:
        check_run(argv[2], argv[3], argv[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
