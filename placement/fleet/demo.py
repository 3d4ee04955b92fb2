"""Deterministic demo fleets, exactly as the AWS CLI prints them.

`demo_documents(n, seed)` returns the two JSON documents a user would get from
`aws ecs describe-container-instances` and `aws ecs describe-tasks` for an EC2 cluster:
real instance types with their vCPU / memory / GPU counts, uneven AZs, a few AMI
generations (each with its agent, Docker and capability set), the value-less capability
attributes the ECS agent registers, custom attributes that some instances lack, DRAINING
and disconnected instances, and tasks whose cpu, memory, GPUs and static host ports are
already taken out of `remainingResources`. `demo(n, seed)` ingests them into a `Fleet`.

It exists so that examples, the CLI, benchmarks and tests have a realistic fleet of any
size without AWS access. Same (n, seed) gives identical documents.

For speed (100,000 instances in a few seconds), objects that many instances have in common
(attribute dicts, registeredResources, versionInfo, the PORTS_UDP entry) are shared between
them: treat the documents as read-only, or `json` round-trip them before editing in place.
"""
from __future__ import annotations

import bisect
import gc
import random
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from .model import Fleet

ACCOUNT = "123456789012"
NOW_MS = 1_748_736_000_000  # 2025-06-01T00:00:00Z: a fixed "now" keeps output off the wall clock
DAY_MS = 86_400_000

# (type, vCPUs, memory GiB, GPUs, family, weight); family picks the AMI line.
INSTANCE_TYPES = (
    ("t2.micro", 1, 1, 0, "x86", 2), ("t3.medium", 2, 4, 0, "x86", 6), ("t3.large", 2, 8, 0, "x86", 6),
    ("m5.large", 2, 8, 0, "x86", 14), ("m5.xlarge", 4, 16, 0, "x86", 12), ("m5.2xlarge", 8, 32, 0, "x86", 6),
    ("m5.4xlarge", 16, 64, 0, "x86", 2), ("c5.large", 2, 4, 0, "x86", 4), ("c5.xlarge", 4, 8, 0, "x86", 6),
    ("c5.2xlarge", 8, 16, 0, "x86", 3), ("r5.large", 2, 16, 0, "x86", 4), ("r5.xlarge", 4, 32, 0, "x86", 2),
    ("m6i.large", 2, 8, 0, "x86", 5), ("m6i.xlarge", 4, 16, 0, "x86", 3), ("m6g.large", 2, 8, 0, "arm64", 6),
    ("m6g.xlarge", 4, 16, 0, "arm64", 4), ("c6g.xlarge", 4, 8, 0, "arm64", 3), ("r6g.large", 2, 16, 0, "arm64", 2),
    ("t4g.medium", 2, 4, 0, "arm64", 3), ("m7g.large", 2, 8, 0, "arm64", 4), ("m7g.xlarge", 4, 16, 0, "arm64", 2),
    ("g4dn.xlarge", 4, 16, 1, "gpu", 1.5), ("g5.xlarge", 4, 16, 1, "gpu", 1), ("p3.2xlarge", 8, 61, 1, "gpu", 0.6),
    ("p3.8xlarge", 32, 244, 4, "gpu", 0.2), ("inf1.xlarge", 4, 8, 0, "inf", 0.7),
)
FAMILIES = ("x86", "arm64", "gpu", "inf", "windows")
WINDOWS_SHARE = 0.06  # of the x86 general-purpose instances (never t2.micro, GPU or Graviton)
WINDOWS_FAMILIES = ("WINDOWS_SERVER_2019_FULL", "WINDOWS_SERVER_2022_CORE", "WINDOWS_SERVER_2022_FULL")

# ECS-optimized AMI generations: (agentVersion, agentHash, Docker, docker API minor min..max,
# AMI release date, cni-plugin-version, NVIDIA driver, weight). Docker 25 dropped API < 1.24.
AGENTS = (
    ("1.51.0", "4023248c", "20.10.7", 17, 41, "2021-04-08", "55b2ae77-2021.03.0", "460.73.01", 0.04),
    ("1.68.2", "cbc7f5b6", "20.10.17", 17, 41, "2023-01-24", "ad8bc0ae-2023.01.0", "470.161.03", 0.08),
    ("1.70.0", "f74f9c7a", "20.10.23", 17, 41, "2023-03-23", "9ac1f7f4-2023.02.0", "470.182.03", 0.12),
    ("1.75.3", "3a6c0b5e", "20.10.25", 17, 41, "2023-09-05", "1f37c2b8-2023.08.0", "535.104.05", 0.20),
    ("1.80.0", "6d0b4b7e", "24.0.5", 17, 43, "2024-01-10", "6d4e9c31-2023.12.0", "535.154.05", 0.26),
    ("1.86.2", "a1d3c2f1", "25.0.3", 24, 44, "2024-09-10", "c2b18d5a-2024.08.0", "550.90.07", 0.30),
)
AZ_WEIGHTS = {"a": 0.30, "b": 0.25, "c": 0.20, "d": 0.14, "e": 0.03, "f": 0.08}  # 1e is small
STACKS = {"prod": 0.50, "staging": 0.20, "dev": 0.15, None: 0.15}
TEAMS = {"payments": 0.15, "search": 0.15, "platform": 0.15, "data": 0.10, "ml": 0.05, None: 0.40}
FLAVORS = {"test": 0.02, "canary": 0.01, None: 0.97}
LINUX_PORTS = ("22", "2375", "2376", "51678", "51679")  # the agent's default reserved ports
WINDOWS_PORTS = ("53", "135", "139", "445", "2375", "2376", "3389", "5985", "5986", "51678", "51679")
# (group, task definition, cpu, memory MiB, image, container port, P(static host port), weight)
GROUPS = (
    ("service:web", "web:42", 256, 512, "nginx:1.25", 80, 0.5, 30),
    ("service:api", "api:17", 512, 1024, "{ecr}/api:2.3.1", 8080, 0.3, 25),
    ("service:worker", "worker:8", 1024, 2048, "{ecr}/worker:1.9.0", 0, 0.0, 20),
    ("family:batch-etl", "batch-etl:5", 2048, 4096, "{ecr}/etl:2024.05", 0, 0.0, 10),
    ("service:cache", "cache:3", 256, 1024, "redis:7.2", 6379, 0.8, 15),
)
WINDOWS_GROUPS = (0, 2)  # web and worker have Windows images
STOPS = (("EssentialContainerExited", "Essential container in task exited"),
         ("ServiceSchedulerInitiated", "Scaling activity initiated by (deployment ecs-svc/4728107431913460871)"),
         ("UserInitiated", "Task stopped by user"))


def _iso(ms) -> list:
    """Epoch milliseconds as the CLI prints timestamps: datetime.isoformat(), so no fraction on
    a whole second. Vectorised, because datetime.isoformat() costs microseconds a call."""
    t = np.asarray(ms, dtype=np.int64).astype("datetime64[ms]")
    out = np.datetime_as_string(t, unit="us")
    whole = t.astype(np.int64) % 1000 == 0
    if whole.any():
        out[whole] = np.datetime_as_string(t[whole], unit="s")
    return [x + "+00:00" for x in out.tolist()]


def _attr(name: str, value: str | None = None) -> dict:
    return {"name": name} if value is None else {"name": name, "value": value}


def _res(name: str, value) -> dict:
    """A Resource as the CLI prints it: every numeric member, zeros included."""
    if isinstance(value, list):
        return {"name": name, "type": "STRINGSET", "doubleValue": 0.0, "longValue": 0, "integerValue": 0,
                "stringSetValue": value}
    return {"name": name, "type": "INTEGER", "doubleValue": 0.0, "longValue": 0, "integerValue": value}


def _capabilities(family: str, gen: int) -> list:
    """Attributes the agent of AMI generation `gen` registers on this OS family (agent names)."""
    api_lo, api_hi, _, cni, nvidia = AGENTS[gen][3:8]
    cap, ecs = "com.amazonaws.ecs.capability.", "ecs.capability."
    windows = family == "windows"
    names = [cap + f"docker-remote-api.1.{m}" for m in range(api_lo, api_hi + 1)]
    drivers = ("json-file", "awslogs", "none") if windows else \
        ("json-file", "syslog", "awslogs", "fluentd", "gelf", "journald", "splunk", "none", "awsfirelens")
    names += [cap + "logging-driver." + d for d in drivers]
    names += [cap + c for c in ("ecr-auth", "task-iam-role")]
    names += [ecs + c for c in ("execution-role-ecr-pull", "execution-role-awslogs", "container-health-check",
                                "secrets.ssm.environment-variables", "secrets.asm.environment-variables",
                                "private-registry-authentication.secretsmanager", "env-files.s3",
                                "execute-command", "container-ordering", "full-sync")]
    if windows:
        names += [ecs + "gmsa", ecs + "fsxWindowsFileServer"]
    else:
        names += [cap + "privileged-container", cap + "task-iam-role-network-host"]
        names += [ecs + c for c in ("task-eni", "task-cpu-mem-limit", "docker-plugin.local", "efs", "efsAuth",
                                    "aws-appmesh", "firelens.fluentbit", "pid-ipc-namespace-sharing")]
        if gen >= 1:  # Service Connect arrived with agent 1.67
            names.append(ecs + "service-connect-v1")
    if family == "gpu":  # the agent puts the driver version in the *name*, value-less
        names.append(ecs + "nvidia-driver-version." + nvidia)
    attrs = [_attr(n) for n in names]
    if not windows:
        attrs.append(_attr(ecs + "cni-plugin-version", cni))
    return attrs


def _pick(rng: np.random.Generator, weights, n: int) -> np.ndarray:
    """n indices drawn with the given (unnormalised) weights."""
    p = np.asarray(list(weights), dtype=float)
    return rng.choice(len(p), n, p=p / p.sum())


def demo_documents(n: int = 200, seed: int = 0, *, cluster: str = "demo",
                   region: str = "us-east-1") -> tuple[dict, dict]:
    """Return (describe-container-instances document, describe-tasks document)."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    # Millions of acyclic containers: the cyclic GC would only rescan them, over and over
    # (it more than doubles the time at n = 100,000).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _generate(n, seed, cluster, region)
    finally:
        if was_enabled:
            gc.enable()


def _generate(n: int, seed: int, cluster: str, region: str) -> tuple[dict, dict]:
    """The body of demo_documents (run with the cyclic GC paused)."""
    rng = np.random.default_rng(seed)  # vectorised per-instance draws
    r = random.Random(seed)             # ids and the per-task loop
    cluster_arn = f"arn:aws:ecs:{region}:{ACCOUNT}:cluster/{cluster}"
    ci_prefix = f"arn:aws:ecs:{region}:{ACCOUNT}:container-instance/{cluster}/"
    task_prefix = f"arn:aws:ecs:{region}:{ACCOUNT}:task/{cluster}/"
    td_prefix = f"arn:aws:ecs:{region}:{ACCOUNT}:task-definition/"
    ecr = f"{ACCOUNT}.dkr.ecr.{region}.amazonaws.com"

    # Per-seed environment: one VPC, a subnet per AZ, one AMI per (family, generation).
    azs = [region + z for z in AZ_WEIGHTS]
    vpc = _attr("ecs.vpc-id", "vpc-%017x" % r.getrandbits(68))
    az_attrs = [[_attr("ecs.availability-zone", az),
                 _attr("ecs.subnet-id", "subnet-%017x" % r.getrandbits(68)), vpc] for az in azs]
    base = {}
    for f in FAMILIES:
        for g in range(len(AGENTS)):
            os_type, os_family = ("windows", WINDOWS_FAMILIES[g % 3]) if f == "windows" else ("linux", "LINUX")
            base[f, g] = [_attr("ecs.ami-id", "ami-%017x" % r.getrandbits(68)), _attr("ecs.os-type", os_type),
                          _attr("ecs.os-family", os_family),
                          _attr("ecs.cpu-architecture", "arm64" if f == "arm64" else "x86_64"),
                          *_capabilities(f, g)]
    type_attrs = [[_attr("ecs.instance-type", t[0])] for t in INSTANCE_TYPES]
    custom = [[[_attr(k, v)] if v else [] for v in tbl] for k, tbl in
              (("stack", STACKS), ("team", TEAMS), ("flavor", FLAVORS))]
    released = np.array([a[5] for a in AGENTS], dtype="datetime64[ms]").astype(np.int64)

    # Vectorised per-instance choices.
    ti = _pick(rng, (t[5] for t in INSTANCE_TYPES), n)
    windows_ok = np.array([t[4] == "x86" and t[0] != "t2.micro" for t in INSTANCE_TYPES])
    win = windows_ok[ti] & (rng.random(n) < WINDOWS_SHARE)
    gen = _pick(rng, (a[-1] for a in AGENTS), n)
    az = _pick(rng, AZ_WEIGHTS.values(), n)
    lo = np.maximum(released[gen], NOW_MS - 730 * DAY_MS)  # registered since its AMI, within ~2 years
    reg_ms = lo + (rng.random(n) * (NOW_MS - lo)).astype(np.int64)
    draining = rng.random(n) < 0.03
    connected = rng.random(n) >= 0.02
    version = rng.integers(2, 900, n)
    stacks, teams, flavors = (_pick(rng, t.values(), n).tolist() for t in (STACKS, TEAMS, FLAVORS))

    gcum = {w: (list(idx), np.cumsum([GROUPS[i][7] for i in idx]).tolist())  # w: Windows host
            for w, idx in ((False, range(len(GROUPS))), (True, WINDOWS_GROUPS))}
    # Per-group strings made once, not once per task: (group, task definition ARN, cpu, memory, name).
    specs = [(g[0], td_prefix + g[1], str(g[2]), str(g[3]), g[0].split(":", 1)[1]) for g in GROUPS]
    images = [g[4].format(ecr=ecr) for g in GROUPS]
    win_images = {0: "mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2019",
                  2: f"{ecr}/worker:1.9.0-windows"}
    version_info = [{"agentVersion": a[0], "agentHash": a[1], "dockerVersion": "DockerVersion: " + a[2]}
                    for a in AGENTS]

    udp = _res("PORTS_UDP", [])
    registered_for = {}  # (type, windows, generation) -> registeredResources, identical for all such hosts
    instances, tasks, created, stopped = [], [], [], []
    for t, w, g, z, rms, dr, con, ver, st, tm, fl in zip(
            ti.tolist(), win.tolist(), gen.tolist(), az.tolist(), reg_ms.tolist(), draining.tolist(),
            connected.tolist(), version.tolist(), stacks, teams, flavors):
        _, vcpu, gib, gpus, fam, _ = INSTANCE_TYPES[t]
        fam = "windows" if w else fam
        cpu = vcpu * 1024
        mib = gib * 1024  # MemTotal sits a little below the nominal size; Windows keeps more for itself
        mem = int(mib * 0.85) if w else mib - mib * 3 // 100 - 110 - 4 * g
        ci_arn = ci_prefix + "%032x" % r.getrandbits(128)
        cpu_left, mem_left, gpu_left = cpu, mem, gpus
        reserved = WINDOWS_PORTS if w else LINUX_PORTS
        ports = list(reserved)
        running = 0
        gidx, cum = gcum[w]
        if r.random() >= (0.6 if dr else 0.18):  # draining instances have mostly been emptied
            budget = cpu * (0.25 + 0.7 * r.random())
            for _ in range(12):
                k = gidx[bisect.bisect(cum, r.random() * cum[-1])]
                _, _, tcpu, tmem, _, cport, p_static, _ = GROUPS[k]
                if tcpu > cpu_left or tmem > mem_left:
                    continue
                if running and cpu - cpu_left + tcpu > budget:
                    break
                use_gpu = gpus > 0 and k == 3  # batch-etl takes a GPU where there is one
                if use_gpu and not gpu_left:
                    continue
                bindings = []
                if cport:
                    if r.random() < p_static:
                        if str(cport) in ports:
                            continue  # the scheduler never double-books a static host port
                        ports.append(str(cport))
                        host = cport
                    else:  # dynamic host port: ECS does not track it in PORTS
                        host = 32768 + int(r.random() * 28232)
                    bindings = [{"bindIP": "0.0.0.0", "containerPort": cport, "hostPort": host, "protocol": "tcp"}]
                cpu_left -= tcpu
                mem_left -= tmem
                gpu_left -= use_gpu
                running += 1
                created.append(rms + int(r.random() * (NOW_MS - rms)))
                tasks.append(_task(task_prefix + "%032x" % r.getrandbits(128), cluster_arn, ci_arn, azs[z],
                                   specs[k], "RUNNING", win_images[k] if w else images[k], bindings))
        if r.random() < 0.05:  # a recently stopped task: listed, but holds nothing and is not counted
            k = gidx[int(r.random() * len(gidx))]
            code, reason = STOPS[int(r.random() * len(STOPS))]
            created.append(rms + int(r.random() * (NOW_MS - rms)))
            task = _task(task_prefix + "%032x" % r.getrandbits(128), cluster_arn, ci_arn, azs[z],
                         specs[k], "STOPPED", win_images[k] if w else images[k], [])
            task.update(stopCode=code, stoppedReason=reason, stoppedAt=None)
            stopped.append(len(tasks))
            tasks.append(task)

        registered = registered_for.get((t, w, g))
        if registered is None:
            registered = [_res("CPU", cpu), _res("MEMORY", mem), _res("PORTS", list(reserved)), udp]
            registered += [_res("GPU", gpus)] if gpus else []
            registered_for[t, w, g] = registered
        # PORTS in remainingResources lists the ports taken (reserved + static host ports), as ECS does.
        remaining = [_res("CPU", cpu_left), _res("MEMORY", mem_left), _res("PORTS", ports), udp]
        if gpus:
            remaining.append(_res("GPU", gpu_left))
        instances.append({
            "containerInstanceArn": ci_arn,
            "ec2InstanceId": "i-%017x" % r.getrandbits(68),
            "version": ver + 2 * running,
            "versionInfo": version_info[g],
            "remainingResources": remaining,
            "registeredResources": registered,
            "status": "DRAINING" if dr else "ACTIVE",
            "agentConnected": con,
            "runningTasksCount": running,
            "pendingTasksCount": 0,
            "attributes": type_attrs[t] + az_attrs[z] + base[fam, g] + custom[0][st] + custom[1][tm]
            + custom[2][fl],
            "registeredAt": None,
        })

    # Timestamps are formatted in bulk at the end: far cheaper than one datetime per row.
    for inst, stamp in zip(instances, _iso(reg_ms)):
        inst["registeredAt"] = stamp
    created = np.array(created, dtype=np.int64)
    started = np.minimum(created + 4_000, NOW_MS)
    for task, c, s in zip(tasks, _iso(created), _iso(started)):
        task["createdAt"], task["startedAt"] = c, s
    for j, stamp in zip(stopped, _iso(np.minimum(created[stopped] + 3_600_000, NOW_MS))):
        tasks[j]["stoppedAt"] = stamp
    return {"containerInstances": instances, "failures": []}, {"tasks": tasks, "failures": []}


def _task(arn, cluster_arn, ci_arn, az, spec, status, image, bindings) -> dict:
    """One describe-tasks entry (EC2 launch type, one container); timestamps are filled in later."""
    group, td_arn, cpu, mem, name = spec
    return {
        "taskArn": arn, "clusterArn": cluster_arn, "taskDefinitionArn": td_arn,
        "containerInstanceArn": ci_arn, "group": group, "launchType": "EC2", "availabilityZone": az,
        "lastStatus": status, "desiredStatus": status, "cpu": cpu, "memory": mem,
        "createdAt": None, "startedAt": None,
        "containers": [{"taskArn": arn, "name": name, "image": image, "lastStatus": status,
                        "networkBindings": bindings}],
        "version": 3 if status == "RUNNING" else 5,
    }


def demo(n: int = 200, seed: int = 0) -> "Fleet":
    """A demo fleet of n instances: `Fleet.from_ecs` over `demo_documents(n, seed)`."""
    from .model import Fleet
    return Fleet.from_ecs(*demo_documents(n, seed))
