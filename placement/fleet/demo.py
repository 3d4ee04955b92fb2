"""Deterministic demo fleets: one description, rendered as the AWS CLI prints it or as columns.

`demo_documents(n, seed)` returns the two JSON documents a user would get from
`aws ecs describe-container-instances` and `aws ecs describe-tasks` for an EC2 cluster:
real instance types with their vCPU / memory / GPU counts, uneven AZs, a few AMI
generations (each with its agent, Docker and capability set), the value-less capability
attributes the ECS agent registers, custom attributes that some instances lack, DRAINING
and disconnected instances, and tasks whose cpu, memory, GPUs and static host ports are
already taken out of `remainingResources`. `demo(n, seed)` is the same fleet built straight
into columns, with numpy and no Python loop per instance or task (a million instances and their
2.4 million tasks in about 1.4 s, a third of it making their 4.4 million id strings, and 0.6 s
more for `Fleet` to index them; 100,000 instances take about 15 s through the documents and
`Fleet.from_ecs`, which stays the slow, obviously right path: the tests hold the two equal).

Everything random is drawn once, vectorised, by `_draw` into a `_Raw` of numpy arrays; the
two renderings only read it. So that the ECS documentation's examples (`placement.examples`)
find something on any demo fleet of a few hundred instances, the fleet carries what they
name: a small *legacy* pool (about 3%: an Auto Scaling group launched in 2017 from the agent
1.14.4 AMI, t2.small / t2.medium / g2.2xlarge in the three original AZs, short EC2 ids, the
oldest one ``i-abcd1234``), a ``stack`` attribute (prod / staging / dev), and tasks of the
groups ``service:production`` and ``database``. The legacy pool's size is a quota and its
instances are stratified (type, AZ, registration time), so that at n = 200 it always holds
each legacy type and an instance registered before 2018-02-13.

It exists so that examples, the CLI, benchmarks and tests have a realistic fleet of any
size without AWS access. Same (n, seed) gives identical output. The documents share objects
that many instances have in common (attribute dicts, registeredResources, versionInfo):
treat them as read-only, or `json` round-trip them before editing in place.
"""
from __future__ import annotations

import binascii
import gc
import itertools
import math
import pickle
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Iterable, Iterator

import numpy as np

from placement.errors import InputError, preview
from placement.fleet.columns import Columns, DictionaryColumn, GroupColumn, TaskRecords, code_dtype
from placement.fleet.shared import SharedColumn
from placement.fleet.strings import HEX, ODD, StringColumn
from placement.values import ABSENT, VALUELESS, pack_version, parse_version

if TYPE_CHECKING:  # pragma: no cover
    from .model import Fleet

MAX_INSTANCES = 10_000_000      # about 10 GB of columns: past it, a typo (1e12), not a fleet
ACCOUNT = "123456789012"
NOW_MS = 1_748_736_000_000  # 2025-06-01T00:00:00Z: a fixed "now" keeps output off the wall clock
DAY_MS = 86_400_000

# (type, vCPUs, memory GiB, GPUs, family, weight); family picks the AMI line. Weight 0: legacy only.
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
    # The legacy pool's types. Agent 1.14 predates ECS GPU support (1.22): a g2 registers no GPU.
    ("t2.small", 1, 2, 0, "x86", 0), ("t2.medium", 2, 4, 0, "x86", 0), ("g2.2xlarge", 8, 15, 0, "x86", 0),
)
FAMILIES = ("x86", "arm64", "gpu", "inf", "windows")
WINDOWS_SHARE = 0.06  # of the x86 general-purpose instances (never t2.micro, GPU or Graviton)
WINDOWS_FAMILIES = ("WINDOWS_SERVER_2019_FULL", "WINDOWS_SERVER_2022_CORE", "WINDOWS_SERVER_2022_FULL")

# ECS-optimized AMI generations: (agentVersion, agentHash, Docker, docker API minor min..max,
# AMI release date, cni-plugin-version, NVIDIA driver, weight). Docker 25 dropped API < 1.24.
# The last one is the legacy pool's (weight 0: drawn only there).
AGENTS = (
    ("1.51.0", "4023248c", "20.10.7", 17, 41, "2021-04-08", "55b2ae77-2021.03.0", "460.73.01", 0.04),
    ("1.68.2", "cbc7f5b6", "20.10.17", 17, 41, "2023-01-24", "ad8bc0ae-2023.01.0", "470.161.03", 0.08),
    ("1.70.0", "f74f9c7a", "20.10.23", 17, 41, "2023-03-23", "9ac1f7f4-2023.02.0", "470.182.03", 0.12),
    ("1.75.3", "3a6c0b5e", "20.10.25", 17, 41, "2023-09-05", "1f37c2b8-2023.08.0", "535.104.05", 0.20),
    ("1.80.0", "6d0b4b7e", "24.0.5", 17, 43, "2024-01-10", "6d4e9c31-2023.12.0", "535.154.05", 0.26),
    ("1.86.2", "a1d3c2f1", "25.0.3", 24, 44, "2024-09-10", "c2b18d5a-2024.08.0", "550.90.07", 0.30),
    ("1.14.4", "f94beb4", "17.03.2-ce", 17, 25, "2017-08-22", None, None, 0),
)
LEGACY_GEN = len(AGENTS) - 1
LEGACY_SHARE = 0.03
LEGACY_TYPES = tuple(i for i, t in enumerate(INSTANCE_TYPES) if t[0] in ("t2.small", "g2.2xlarge", "t2.medium"))
LEGACY_AZS = 3                                              # us-east-1a..c: the VPC's original subnets
LEGACY_REGISTERED = ("2017-09-01", "2018-06-30")           # when the legacy pool was launched
LEGACY_FIRST_ID = 0xABCD1234                               # the id the ECS documentation uses
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
    ("service:production", "storefront:12", 512, 1024, "{ecr}/storefront:5.2.0", 8443, 0.4, 8),
    ("database", "postgres:3", 1024, 4096, "postgres:16.3", 5432, 1.0, 4),   # run-task --group database
)
BATCH = 3                # batch-etl takes a GPU where there is one
WINDOWS_GROUPS = (0, 2)  # web and worker have Windows images
SLOTS = 12               # tasks an instance is offered
STOPS = (("EssentialContainerExited", "Essential container in task exited"),
         ("ServiceSchedulerInitiated", "Scaling activity initiated by (deployment ecs-svc/4728107431913460871)"),
         ("UserInitiated", "Task stopped by user"))

# Per-group lookup tables for the vectorised draws. A group is drawn from 16 random bits: its
# weight is rounded to 1/65536 (row 1 of the table: Windows hosts, which run only WINDOWS_GROUPS).
_ON_WINDOWS = np.array(WINDOWS_GROUPS)
_GROUP_OF = np.concatenate([
    np.searchsorted(np.cumsum(w) / np.sum(w), (np.arange(1 << 16) + 0.5) / (1 << 16), side="right")
    for w in (np.array([g[7] for g in GROUPS], dtype=float),
              np.array([g[7] if k in WINDOWS_GROUPS else 0 for k, g in enumerate(GROUPS)], dtype=float))
]).astype(np.uint8)
_STATIC_BELOW = np.array([round(g[6] * (1 << 16)) for g in GROUPS], dtype=np.uint32)
assert len(GROUPS) <= 8 and all(t[3] < 8 for t in INSTANCE_TYPES)   # a task fits a byte (see _draw)

# The slot loop of ``_draw`` keeps what a busy instance has left as fields of one int64, so that a
# whole offer is one subtraction: memory (in units of the gcd of the groups' memory), cpu (units
# of their cpu), GPUs, one field per static host port (1: free) and, topmost, the cpu budget.
# Each field holds its value plus a guard bit G above it (G > any value); subtracting a demand
# below G borrows the guard exactly when the value would go negative, never the next field. So
# an offer fits when the guards of all fields but the budget survive, and is within budget when
# the budget's does. A first task may take the budget below zero: it is the top field, and the
# row is over budget from then on.
_CPU_UNIT, _MEMORY_UNIT = math.gcd(*(g[2] for g in GROUPS)), math.gcd(*(g[3] for g in GROUPS))
_PORTED = tuple(k for k, g in enumerate(GROUPS) if g[5])


def _fields() -> dict:
    top_cpu = max(t[1] for t in INSTANCE_TYPES) * 1024 // _CPU_UNIT
    widths = {"memory": max(t[2] for t in INSTANCE_TYPES) * 1024 // _MEMORY_UNIT, "cpu": top_cpu,
              "gpu": max(t[3] for t in INSTANCE_TYPES), **{f"port{k}": 1 for k in _PORTED}, "budget": top_cpu}
    fields, shift = {}, 0
    for name, top in widths.items():
        bits = top.bit_length()
        fields[name] = (shift, 1 << bits)           # (shift, guard): the value is below the guard
        shift += bits + 1
    assert shift < 63
    return fields


_FIELDS = _fields()
_BUDGET_GUARD = _FIELDS["budget"][1] << _FIELDS["budget"][0]
_FIT_GUARDS = sum(guard << shift for name, (shift, guard) in _FIELDS.items() if name != "budget")


def _room(**values: np.ndarray) -> np.ndarray:
    """Pack per-row field values (each below its guard; a port not given: 1, free) into the slot
    loop's int64 words."""
    room, constant = 0, 0
    for name, (shift, guard) in _FIELDS.items():
        value = values.get(name, 1)
        constant += guard << shift
        if isinstance(value, int):
            constant += value << shift
        else:
            room = room + (value.astype(np.int64, copy=False) << shift)
    room += constant
    return room


def _field(room: np.ndarray, name: str) -> np.ndarray:
    shift, guard = _FIELDS[name]
    return room >> shift & (guard - 1)


def _task_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For the slot loop: a task byte (group | static << 3 | GPU << 4) by host kind (Windows,
    has a GPU) and 16 random bits, before its static bit; the bound on the other 16 random bits
    below which the task takes its static host port; and, by task byte, the packed demand."""
    task_of = np.zeros(4 << 16, dtype=np.uint8)
    for kind in range(4):
        group = _GROUP_OF[(kind & 1) << 16:((kind & 1) + 1) << 16].astype(np.int64)
        task_of[kind << 16:(kind + 1) << 16] = group | ((group == BATCH) & bool(kind & 2)) << 4
    static_below = np.zeros(256, dtype=np.uint32)
    demand = np.zeros(256, dtype=np.int64)
    for task in range(256):
        k, static, gpu = task & 7, bool(task & 8), task >> 4 & 1
        if k >= len(GROUPS):
            continue
        static_below[task] = _STATIC_BELOW[k]
        need = {"memory": GROUPS[k][3] // _MEMORY_UNIT, "cpu": GROUPS[k][2] // _CPU_UNIT, "gpu": gpu,
                "budget": GROUPS[k][2] // _CPU_UNIT, f"port{k}": int(static and k in _PORTED)}
        demand[task] = sum(v << _FIELDS[name][0] for name, v in need.items() if name in _FIELDS)
    return task_of, static_below, demand


_TASK_OF, _STATIC_BELOW_OF, _DEMAND = _task_tables()
# By a task's byte in ``_draw`` (group | static << 3 | ...): its static host port, and whether a
# RUNNING one has a dynamic host port.
_STATIC_PORT_OF = np.array([GROUPS[b & 7][5] if b & 8 and b & 7 < len(GROUPS) else 0 for b in range(256)],
                           dtype=np.int64)
_DYNAMIC_PORT_OF = np.array([b & 7 < len(GROUPS) and bool(GROUPS[b & 7][5]) and not b & 8 for b in range(256)])


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


def _capabilities(family: str, gen: int) -> dict:
    """Attributes the agent of AMI generation `gen` registers on this OS family (agent names)."""
    api_lo, api_hi, _, cni, nvidia = AGENTS[gen][3:8]
    cap, ecs = "com.amazonaws.ecs.capability.", "ecs.capability."
    windows = family == "windows"
    names = [cap + f"docker-remote-api.1.{m}" for m in range(api_lo, api_hi + 1)]
    drivers = ("json-file", "awslogs", "none") if windows else \
        ("json-file", "syslog", "awslogs", "fluentd", "gelf", "journald", "splunk", "none", "awsfirelens")
    if gen == LEGACY_GEN:       # before FireLens, task ENIs, execution roles and the ecs.capability names
        names += [cap + "logging-driver." + d for d in drivers[:-1]]
        names += [cap + c for c in ("ecr-auth", "task-iam-role", "privileged-container", "task-iam-role-network-host")]
        return dict.fromkeys(names, VALUELESS)
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
    attributes = dict.fromkeys(names, VALUELESS)
    if not windows:
        attributes[ecs + "cni-plugin-version"] = cni
    return attributes


_PICK_BUCKETS = 1 << 12


def _pick(rng: np.random.Generator, weights, n: int) -> np.ndarray:
    """n indices drawn with the given (unnormalised) weights: exactly what ``rng.choice(len(p), n,
    p=p)`` draws (one uniform per index, searched in the cumulative weights), but the search is a
    table lookup by the uniform's top 12 bits, and a real search only in the few buckets that a
    step of the cumulative weights falls in."""
    p = np.asarray(list(weights), dtype=float)
    cdf = np.cumsum(p / p.sum())
    cdf /= cdf[-1]
    edges = np.arange(_PICK_BUCKETS + 1) / _PICK_BUCKETS
    low, high = cdf.searchsorted(edges[:-1], side="right"), cdf.searchsorted(edges[1:], side="left")
    uniform = rng.random(n)
    bucket = (uniform * _PICK_BUCKETS).astype(np.intp)      # exact: a power of two
    picked = low[bucket]
    unsure = np.flatnonzero((low != high)[bucket])
    picked[unsure] = cdf.searchsorted(uniform[unsure], side="right")
    return picked


def _hex_rows(raw: np.ndarray) -> np.ndarray:
    """A (count, width) matrix of bytes as a (count, 2 * width) matrix of ASCII hex digits
    (``binascii.hexlify`` in C beats any table lookup in numpy)."""
    raw = np.ascontiguousarray(raw)
    return np.frombuffer(binascii.hexlify(raw), dtype=np.uint8).reshape(len(raw), 2 * raw.shape[1])


def _random_bytes(rng: np.random.Generator, count: int, width: int) -> np.ndarray:
    """``count`` rows of ``width`` random bytes: ``rng.bytes(count * width)``, which is this
    draw of 32-bit words, without its two copies."""
    words = rng.integers(0, 1 << 32, -(-count * width // 4), dtype=np.uint32).astype("<u4", copy=False)
    return words.view(np.uint8)[:count * width].reshape(count, width)


def _hex(rng: np.random.Generator, count: int, digits: int) -> np.ndarray:
    """``count`` random lowercase hex strings of ``digits`` digits, as an ASCII byte matrix."""
    return _hex_rows(_random_bytes(rng, count, (digits + 1) // 2))[:, :digits]


def _hex_of(values: np.ndarray, digits: int) -> np.ndarray:
    """Unsigned integers (below 16 ** digits, digits 8 or 16) as zero-padded hex digits."""
    width = 8 if digits == 16 else 4
    return _hex_rows(values.astype(">u8" if digits == 16 else ">u4").view(np.uint8).reshape(len(values), width))


_CHUNK = 1 << 14   # rows per pickle stream in ``_strings``: one small buffer, reused, stays in cache


def _chunks(rows: np.ndarray) -> Iterator[np.ndarray]:
    """``rows`` in blocks of at most _CHUNK rows."""
    return (rows[start:start + _CHUNK] for start in range(0, len(rows), _CHUNK))


def _strings(prefix: str, blocks: Iterable[np.ndarray], width: int, hexlify: bool = False) -> tuple[str, ...]:
    """``prefix`` + each row of a sequence of ASCII byte matrices (``width`` characters a row, at
    most _CHUNK rows a block), as one tuple of str, without a Python loop per row (``hexlify``:
    the rows are bytes, written as hex digits: ``width`` is twice theirs). The rows are framed as
    the pickle of a tuple of strings (BINUNICODE: an opcode, a four-byte length, the characters)
    and the unpickler makes the strings, in C: faster than splitting one big str, and no list to
    copy into a tuple. The stream is built here, from the prefix and hex digits; nothing from
    outside is unpickled. It is built a block at a time, in one small buffer whose opcodes and
    prefix are written once."""
    head = prefix.encode("ascii")
    step = 5 + len(head) + width
    stream = np.empty(3 + _CHUNK * step + 2, dtype=np.uint8)
    stream[:3] = (0x80, 4, ord("("))                    # PROTO 4, MARK
    rows = stream[3:3 + _CHUNK * step].reshape(_CHUNK, step)
    framing = np.frombuffer(b"X" + (step - 5).to_bytes(4, "little") + head, dtype=np.uint8)
    rows[:, :step - width] = framing
    parts = []
    for block in blocks:
        k = len(block)
        rows[:k, step - width:] = np.frombuffer(binascii.hexlify(np.ascontiguousarray(block)), dtype=np.uint8).reshape(
            k, width) if hexlify else block
        end = 3 + k * step
        stream[end:end + 2] = (ord("t"), ord("."))     # TUPLE, STOP
        parts.append(pickle.loads(memoryview(stream[:end + 2])))
        stream[end:end + 2] = framing[:2]               # (the next block may be longer)
    return () if not parts else parts[0] if len(parts) == 1 else tuple(itertools.chain.from_iterable(parts))


@dataclass(frozen=True, eq=False)
class _Raw:
    """Every choice of one demo fleet: instances in fleet order, tasks in listing order (each
    instance's RUNNING tasks in the order it took them, then its recently stopped one)."""

    n: int
    cluster: str
    region: str
    vpc: str
    subnets: tuple[str, ...]          # one per AZ
    amis: tuple[str, ...]             # one per (family, generation): index family * len(AGENTS) + gen
    itype: np.ndarray                 # into INSTANCE_TYPES
    family: np.ndarray                # into FAMILIES (windows included)
    gen: np.ndarray                   # into AGENTS
    az: np.ndarray                    # into AZ_WEIGHTS
    legacy: np.ndarray                # bool: the legacy pool (short EC2 ids)
    registered_ms: np.ndarray
    draining: np.ndarray
    connected: np.ndarray
    version: np.ndarray
    custom: tuple[np.ndarray, ...]    # into STACKS, TEAMS, FLAVORS
    ci_bytes: np.ndarray              # (n, 16) uint8: the container instance ids, as 32 hex digits
    ec2_value: np.ndarray             # uint64: 16 hex digits after "i-0", or 8 (legacy)
    cpu: np.ndarray                   # registered; remaining after the RUNNING tasks
    memory: np.ndarray
    gpus: np.ndarray
    cpu_left: np.ndarray
    memory_left: np.ndarray
    gpu_left: np.ndarray
    running: np.ndarray
    static_ports: np.ndarray          # uint8 bits: the groups whose static host port the instance holds
    task_row: np.ndarray
    task_group: np.ndarray            # uint8, into GROUPS
    task_running: np.ndarray          # bool
    task_port: np.ndarray             # host port (0: none)
    task_static: np.ndarray           # bool: the port is a static host port (listed in PORTS)
    task_gpu: np.ndarray              # uint8: GPUs taken (0 or 1)
    task_gpu_index: np.ndarray        # uint8: which of the instance's GPUs
    task_created_at: np.ndarray       # float in [0, 1): where in [registered, NOW_MS) it was created
    task_stop: np.ndarray             # uint8, into STOPS (stopped tasks; 0 for the others)
    task_rng: dict                    # the generator's state before the task ids (its last draw)

    @property
    def combo(self) -> np.ndarray:
        return self.family * len(AGENTS) + self.gen

    def task_bytes(self, running_only: bool = False) -> Iterator[np.ndarray]:
        """The task ids' random bytes, 16 a task (32 hex digits), in blocks of at most _CHUNK
        tasks: drawn only now, a block at a time, by a copy of the generator (``running_only``:
        the stopped tasks' rows left out)."""
        rng = np.random.Generator(np.random.PCG64())
        rng.bit_generator.state = self.task_rng
        m = len(self.task_row)
        for start in range(0, m, _CHUNK):
            block = _random_bytes(rng, min(_CHUNK, m - start), 16)
            if running_only:
                keep = self.task_running[start:start + _CHUNK]
                if not keep.all():
                    block = block[np.flatnonzero(keep)]
            yield block

    @property
    def task_created_ms(self) -> np.ndarray:
        since = self.registered_ms[self.task_row]
        return since + (self.task_created_at * (NOW_MS - since)).astype(np.int64)


def _table(column: int, dtype=np.int64) -> np.ndarray:
    return np.array([t[column] for t in INSTANCE_TYPES], dtype=dtype)


def _draw(n: int, seed: int, cluster: str, region: str) -> _Raw:
    """All the random choices, vectorised: one pass of numpy, no Python per instance or task.
    (Masks become index arrays before they select: ``x[np.flatnonzero(mask)]`` is several times
    faster than ``x[mask]`` on a random mask.)"""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 0 <= n <= MAX_INSTANCES:
        raise InputError(f"a demo fleet has from 0 to {MAX_INSTANCES:,} instances, got {preview(n)}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"a demo fleet's seed is a non-negative integer, got {preview(seed)}")   # numpy's rule
    n, rng = int(n), np.random.default_rng(int(seed))
    # Per-seed environment: one VPC, a subnet per AZ, one AMI per (family, generation).
    env = _strings("", _chunks(_hex(rng, 1 + len(AZ_WEIGHTS) + len(FAMILIES) * len(AGENTS), 17)), 17)
    vpc, subnets, amis = "vpc-" + env[0], env[1:1 + len(AZ_WEIGHTS)], env[1 + len(AZ_WEIGHTS):]

    itype = _pick(rng, (t[5] for t in INSTANCE_TYPES), n)
    general = np.array([t[4] == "x86" and t[0] != "t2.micro" for t in INSTANCE_TYPES])
    windows = general[itype] & (rng.random(n) < WINDOWS_SHARE)
    gen = _pick(rng, (a[-1] for a in AGENTS), n)
    az = _pick(rng, AZ_WEIGHTS.values(), n)
    released = np.array([a[5] for a in AGENTS], dtype="datetime64[ms]").astype(np.int64)
    lo = np.maximum(released, NOW_MS - 730 * DAY_MS)[gen]  # registered since its AMI, within ~2 years
    registered = lo + (rng.random(n) * (NOW_MS - lo)).astype(np.int64)

    # The legacy pool: a quota of rows, stratified so that a few hundred rows show all of it.
    m = int(n * LEGACY_SHARE + 0.5)
    legacy_rows = np.sort(rng.choice(n, m, replace=False)) if m else np.zeros(0, dtype=np.int64)
    stratum = rng.permutation(m)
    itype[legacy_rows] = np.array(LEGACY_TYPES)[stratum % len(LEGACY_TYPES)]
    windows[legacy_rows] = False
    gen[legacy_rows] = LEGACY_GEN
    az[legacy_rows] = (stratum + int(rng.integers(LEGACY_AZS))) % LEGACY_AZS
    start, end = np.array(LEGACY_REGISTERED, dtype="datetime64[ms]").astype(np.int64)
    registered[legacy_rows] = start + ((stratum + rng.random(m)) / max(m, 1) * (end - start)).astype(np.int64)
    legacy = np.zeros(n, dtype=bool)
    legacy[legacy_rows] = True

    family = np.array([FAMILIES.index(t[4]) for t in INSTANCE_TYPES])[itype]
    family[windows] = FAMILIES.index("windows")
    draining = rng.random(n) < 0.03
    connected = rng.random(n) >= 0.02
    version = rng.integers(2, 900, n)
    custom = tuple(_pick(rng, t.values(), n) for t in (STACKS, TEAMS, FLAVORS))
    ci_bytes = _random_bytes(rng, n, 16)
    ec2_value = _random_bytes(rng, n, 8).view(np.uint64)[:, 0]
    short = rng.choice((1 << 32) - 1, m, replace=False).astype(np.uint64) if m else np.zeros(0, np.uint64)
    short += short >= LEGACY_FIRST_ID                       # unique, and never the documented id ...
    short[stratum == 0] = LEGACY_FIRST_ID                   # ... but for the oldest instance's
    ec2_value[legacy_rows] = short

    cpu = _table(1)[itype] * 1024
    mib = _table(2)[itype] * 1024   # MemTotal sits a little below the nominal size; Windows keeps more
    memory = mib - mib * 3 // 100 - 110 - 4 * gen
    win_rows = np.flatnonzero(windows)
    memory[win_rows] = (mib[win_rows] * 0.85).astype(np.int64)
    gpus = _table(3)[itype]

    # Tasks: each instance is offered up to SLOTS tasks, one slot at a time for all instances
    # together. A task that does not fit what is left (cpu, memory, a GPU, its static host port)
    # is passed over; one past the instance's cpu budget ends its filling (the first task needs
    # no budget). Draining instances were mostly emptied.
    busy = rng.random(n) >= np.where(draining, 0.6, 0.18)
    budget = np.floor(cpu * (0.25 + 0.7 * rng.random(n)) / _CPU_UNIT)   # (cpu units: taken > budget, exactly)
    room = _room(memory=memory // _MEMORY_UNIT, cpu=cpu // _CPU_UNIT, gpu=gpus, budget=budget)
    running = np.zeros(n, dtype=np.uint8)
    kind = (windows.astype(np.intp) | (gpus > 0) << 1) << 16      # the host's rows of _TASK_OF
    # per slot: the rows that took a task, the how-manyth task of the row, and the task as one byte
    # (group | static << 3 | GPU << 4 | which GPU << 5)
    taken: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    active = np.flatnonzero(busy)
    for _ in range(SLOTS):
        if not len(active):
            break
        draws = rng.integers(0, 1 << 32, len(active), dtype=np.uint32)   # low half: group, high: static
        task = _TASK_OF[(draws & 0xFFFF).astype(np.intp) | kind[active]]
        task |= ((draws >> 16) < _STATIC_BELOW_OF[task]).view(np.uint8) << 3
        left = room[active] - _DEMAND[task]
        count = running[active]
        over = ((left & _BUDGET_GUARD) == 0) & (count > 0)
        take = np.flatnonzero(((left & _FIT_GUARDS) == _FIT_GUARDS) & ~over)
        rows, task = active[take], task[take]
        on_gpu = np.flatnonzero((task & 16) != 0)
        if len(on_gpu):     # which of the instance's GPUs: those taken before it
            gpu_rows = rows[on_gpu]
            task[on_gpu] |= ((gpus[gpu_rows] - _field(room[gpu_rows], "gpu")) << 5).astype(np.uint8)
        taken.append((rows, count[take], task))
        room[rows] = left[take]
        running[rows] += 1
        active = active[np.flatnonzero(~over)]
    held = np.zeros(n, dtype=np.uint8)              # bits: groups holding their static host port
    for k in _PORTED:
        held |= (_field(room, f"port{k}") == 0).view(np.uint8) << k

    stopped = np.flatnonzero(rng.random(n) < 0.05)  # a recently stopped task: listed, but holds nothing and is not counted
    pick = rng.random(n)[stopped]
    stop_group = np.where(windows[stopped], _ON_WINDOWS[(pick * len(_ON_WINDOWS)).astype(np.intp)],
                          (pick * len(GROUPS)).astype(np.intp)).astype(np.uint8)
    stop_code = (rng.random(n)[stopped] * len(STOPS)).astype(np.uint8)

    # The listing: each instance's tasks in the order it took them, then its stopped one.
    listed = running.astype(np.int64)
    listed[stopped] += 1
    first = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(listed, out=first[1:])
    m = int(first[-1])
    task_row = np.repeat(np.arange(n, dtype=np.int64), listed)
    task = np.empty(m, dtype=np.uint8)
    if taken:
        rows, k, code = (np.concatenate(parts) for parts in zip(*taken))
        task[first[rows] + k] = code
    at = first[stopped + 1] - 1
    task[at] = stop_group
    task_running = np.ones(m, dtype=bool)
    task_running[at] = False
    task_stop = np.zeros(m, dtype=np.uint8)
    task_stop[at] = stop_code
    task_group, task_static = task & 7, (task & 8) != 0
    # the port: its static host port, a dynamic one (ECS does not list it in PORTS), or none
    task_port = (rng.random(m) * 28232).astype(np.int64)
    task_port += 32768
    task_port *= _DYNAMIC_PORT_OF[task] & task_running
    task_port += _STATIC_PORT_OF[task]
    return _Raw(
        n=n, cluster=cluster, region=region, vpc=vpc, subnets=tuple(subnets), amis=tuple(amis),
        itype=itype, family=family, gen=gen, az=az, legacy=legacy, registered_ms=registered,
        draining=draining, connected=connected, version=version, custom=custom, ci_bytes=ci_bytes,
        ec2_value=ec2_value, cpu=cpu, memory=memory, gpus=gpus,
        cpu_left=_field(room, "cpu") * _CPU_UNIT,
        memory_left=memory % _MEMORY_UNIT + _field(room, "memory") * _MEMORY_UNIT, gpu_left=_field(room, "gpu"),
        running=running.astype(np.int64), static_ports=held,
        task_row=task_row, task_group=task_group, task_running=task_running,
        task_port=task_port, task_static=task_static, task_gpu=(task >> 4) & 1, task_gpu_index=task >> 5,
        task_created_at=rng.random(m), task_stop=task_stop, task_rng=rng.bit_generator.state)


def _arn_prefixes(raw: _Raw) -> tuple[str, str, str, str]:
    """(cluster ARN, container-instance prefix, task prefix, task-definition prefix)."""
    head = f"arn:aws:ecs:{raw.region}:{ACCOUNT}:"
    return (head + f"cluster/{raw.cluster}", head + f"container-instance/{raw.cluster}/",
            head + f"task/{raw.cluster}/", head + "task-definition/")


def _ec2_ids(raw: _Raw, order: np.ndarray | None = None) -> tuple[str, ...]:
    """The EC2 ids, "i-0" and 16 hex digits or, for the legacy pool, "i-" and 8 (with ``order``:
    the rows in that order), made as ``_strings`` makes strings: one opcode per id in a pickle
    stream, every id the same width (a legacy one, shorter, is padded in front with no-op
    MARK, POP_MARK pairs)."""
    values, legacy = (raw.ec2_value, raw.legacy) if order is None else (raw.ec2_value[order], raw.legacy[order])
    long_id, short_id = b"\x8c\x13i-0", b"(1(1(1X\x0a\x00\x00\x00i-"   # SHORT_BINUNICODE 19, BINUNICODE 10
    width = len(long_id) + 16
    stream = np.empty(3 + len(values) * width + 2, dtype=np.uint8)
    stream[:3], stream[-2:] = (0x80, 4, ord("(")), (ord("t"), ord("."))   # PROTO 4, MARK ... TUPLE, STOP
    rows = stream[3:-2].reshape(len(values), width)
    rows[:, :len(long_id)] = np.frombuffer(long_id, dtype=np.uint8)
    rows[:, len(long_id):] = _hex_of(values, 16)
    short = np.flatnonzero(legacy)
    rows[short, :len(short_id)] = np.frombuffer(short_id, dtype=np.uint8)
    rows[short, len(short_id):] = _hex_of(values[short], 8)
    return pickle.loads(memoryview(stream))


def _ec2_column(raw: _Raw, order: np.ndarray) -> StringColumn:
    """``_ec2_ids(raw, order)`` as a ``StringColumn``, written straight into its buffer: an id
    "i-0" + 16 digits is the head "i-" and the odd tail "0" + 16 digits (9 bytes, the first 0), a
    legacy "i-" + 8 digits the head "i-" and 4 bytes (``placement.fleet.strings``)."""
    values, legacy = raw.ec2_value[order], raw.legacy[order]
    offsets = np.zeros(len(values) + 1, dtype=np.uint32)
    np.cumsum(np.where(legacy, 4, 9), out=offsets[1:])
    data = np.zeros(int(offsets[-1]), dtype=np.uint8)
    for rows, lead, width, dtype in ((np.flatnonzero(~legacy), 1, 8, ">u8"), (np.flatnonzero(legacy), 0, 4, ">u4")):
        written = values[rows].astype(dtype).view(np.uint8).reshape(len(rows), width)
        data[offsets[rows].astype(np.int64)[:, None] + np.arange(lead, lead + width)] = written
    return StringColumn(("i-", "i-"), (ODD, HEX), legacy.astype(np.uint8), data, offsets)


def _shared(items: list, which: np.ndarray) -> SharedColumn:
    """``items[k]`` for each ``k`` in ``which``, as shared values: a small code per row."""
    return SharedColumn(which.astype(np.uint8 if len(items) <= 256 else np.uint16), tuple(items))


def _attribute_tables(raw: _Raw) -> list[tuple[np.ndarray, list[dict]]]:
    """Per group of attributes, the key each row has and, per key, its attributes (name -> value
    or VALUELESS): instance type, AZ, AMI line (family and generation), stack, team, flavor."""
    per_az = [{"ecs.availability-zone": raw.region + z, "ecs.subnet-id": "subnet-" + s, "ecs.vpc-id": raw.vpc}
              for z, s in zip(AZ_WEIGHTS, raw.subnets)]
    per_ami = []
    for f, family in enumerate(FAMILIES):
        for g in range(len(AGENTS)):
            os_type, os_family = ("windows", WINDOWS_FAMILIES[g % 3]) if family == "windows" else ("linux", "LINUX")
            per_ami.append({"ecs.ami-id": "ami-" + raw.amis[f * len(AGENTS) + g], "ecs.os-type": os_type,
                            "ecs.os-family": os_family,
                            "ecs.cpu-architecture": "arm64" if family == "arm64" else "x86_64",
                            **_capabilities(family, g)})
    custom = [[{name: value} if value else {} for value in table]
              for name, table in (("stack", STACKS), ("team", TEAMS), ("flavor", FLAVORS))]
    return [(raw.itype, [{"ecs.instance-type": t[0]} for t in INSTANCE_TYPES]), (raw.az, per_az),
            (raw.combo, per_ami), *zip(raw.custom, custom)]


def _coded(keys: np.ndarray, per_key: list, used: np.ndarray | None = None,
           shared: dict | None = None) -> DictionaryColumn:
    """A column whose row value is ``per_key[keys[row]]`` (a value, VALUELESS or ABSENT); the
    dictionary holds only the values some row has, as ingest would build it."""
    if used is None:
        used = np.flatnonzero(np.bincount(keys, minlength=len(per_key)))
    special = (ABSENT, VALUELESS)
    dictionary = tuple(sorted({per_key[k] for k in used.tolist() if per_key[k] not in special}))
    position = {v: i for i, v in enumerate(dictionary)}
    absent = len(dictionary)
    table = np.array([absent + (v is VALUELESS) if v in special else position.get(v, absent) for v in per_key],
                     dtype=code_dtype(absent + 2))
    if shared is None:
        return DictionaryColumn(table[keys], dictionary)
    codes = shared.get(table.tobytes())
    if codes is None:
        codes = shared[table.tobytes()] = table[keys]
        codes.setflags(write=False)             # shared between columns: never written in place
    return DictionaryColumn(codes, dictionary)


def _attribute_columns(raw: _Raw) -> dict[str, DictionaryColumn]:
    """One column per attribute some instance has: one small table per key, indexed by the rows'
    keys (one loop per attribute name, none per instance)."""
    columns = {}
    for keys, table in _attribute_tables(raw):
        used = np.flatnonzero(np.bincount(keys, minlength=len(table)))
        shared: dict[bytes, np.ndarray] = {}        # most capabilities share their codes: index once
        for name in sorted({name for k in used.tolist() for name in table[k]}):
            column = _coded(keys, [attributes.get(name, ABSENT) for attributes in table], used, shared)
            columns[name] = column
    return dict(sorted(columns.items()))


def _distinct(values: np.ndarray, bound: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)`` for small non-negative integers, without a sort."""
    distinct = np.flatnonzero(np.bincount(values, minlength=bound))
    position = np.zeros(max(bound, 1), dtype=np.intp)
    position[distinct] = np.arange(len(distinct))
    return distinct, position[values]


def _id_order(raw: _Raw) -> np.ndarray:
    """The rows in the string order of their EC2 ids, from two sorts of integers (not of a million
    strings): long ids ("i-0" + 16 digits) and legacy ones (8 digits) each sort by value; a legacy
    id goes before the long ids whose first 8 characters are not below its own (a prefix sorts first)."""
    long_rows, short_rows = np.flatnonzero(~raw.legacy), np.flatnonzero(raw.legacy)
    long_rows = long_rows[np.argsort(raw.ec2_value[long_rows])]
    short_rows = short_rows[np.argsort(raw.ec2_value[short_rows])]
    # the first 8 characters of "0" + 16 digits are "0" + the top 7 digits: value >> 36
    before = np.searchsorted(raw.ec2_value[long_rows] >> np.uint64(36), raw.ec2_value[short_rows], side="left")
    order = np.empty(raw.n, dtype=np.int64)
    short_at = before + np.arange(len(short_rows))
    is_short = np.zeros(raw.n, dtype=bool)
    is_short[short_at] = True
    order[short_at], order[~is_short] = short_rows, long_rows
    return order


def _group_column(n: int, rows: np.ndarray, codes: np.ndarray, dictionary: tuple[str, ...]) -> GroupColumn:
    """``GroupColumn.from_tasks`` without a sort: each row's count of each code is a 4-bit digit
    of one number (a row runs at most SLOTS < 16 tasks, of at most 8 groups), summed by a
    weighted bincount (exact in a float64: 32 bits) and read back as a (row, code) matrix."""
    assert SLOTS < 16 and len(dictionary) <= 8
    digits = np.bincount(rows, weights=(16.0 ** np.arange(8))[codes], minlength=n).astype("<u8")
    packed = digits.view(np.uint8).reshape(n, 8)[:, :4]
    counts = np.empty((n, 8), dtype=np.uint8)
    counts[:, 0::2], counts[:, 1::2] = packed & 15, packed >> 4
    pairs = np.flatnonzero(counts != 0)         # (nonzero on a bool array is several times faster)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(pairs >> 3, minlength=n), out=offsets[1:])
    return GroupColumn(offsets, (pairs & 7).astype(np.uint32), counts.ravel()[pairs].astype(np.int64), dictionary)


def _columns(raw: _Raw) -> Columns:
    """The fleet of ``raw`` as the columns ``columns_from_ecs`` builds from its documents."""
    n = raw.n
    _, ci_prefix, task_prefix, _ = _arn_prefixes(raw)
    order = _id_order(raw)
    id_codes = np.empty(n, dtype=code_dtype(n + 2))
    id_codes[order] = np.arange(n)

    running = np.flatnonzero(raw.task_running)
    rows = raw.task_row[running]
    groups = raw.task_group[running].astype(np.intp)
    present = np.flatnonzero(np.bincount(groups, minlength=len(GROUPS)))
    names = sorted(GROUPS[k][0] for k in present.tolist())
    recode = np.zeros(len(GROUPS), dtype=np.int64)
    recode[present] = [names.index(GROUPS[k][0]) for k in present.tolist()]

    distinct, which = _distinct(raw.task_port[running], 1 << 16)
    port_sets = [frozenset((p,)) if p else frozenset() for p in distinct.tolist()]
    group_names = [g[0] for g in GROUPS]
    id_bytes = list(raw.task_bytes(running_only=True))
    tasks = TaskRecords(
        ids=StringColumn.from_hex(task_prefix, np.concatenate(id_bytes) if id_bytes else np.zeros((0, 16), np.uint8)),
        rows=rows, groups=_shared(group_names, groups),
        cpu=np.array([g[2] for g in GROUPS], dtype=np.int64)[groups],
        memory=np.array([g[3] for g in GROUPS], dtype=np.int64)[groups],
        gpu=raw.task_gpu[running].astype(np.int64), ports=_shared(port_sets, which))

    # Ports in use per instance: the agent's reserved ones and the static host ports taken.
    keys = raw.static_ports.astype(np.intp) * 2 + (raw.family == FAMILIES.index("windows"))
    distinct_keys, held = _distinct(keys, 512)
    in_use = [frozenset(int(p) for p in (WINDOWS_PORTS if key & 1 else LINUX_PORTS))
              | frozenset(g[5] for k, g in enumerate(GROUPS) if key >> 1 & 1 << k) for key in distinct_keys.tolist()]

    versions = np.array([pack_version(parse_version(a[0])) for a in AGENTS], dtype=np.int64)
    return Columns(
        arns=StringColumn.from_hex(ci_prefix, raw.ci_bytes),
        instance_id=DictionaryColumn(id_codes, _ec2_column(raw, order)),
        status=_coded(raw.draining.astype(np.intp), ["ACTIVE", "DRAINING"]),
        agent_connected=_coded(raw.connected.astype(np.intp), [False, True]),
        agent_version=versions[raw.gen], registered_at=raw.registered_ms * 1000,
        running_tasks=raw.running,
        attributes=MappingProxyType(_attribute_columns(raw)),
        groups=_group_column(n, rows, recode[groups], tuple(names)),
        resources=MappingProxyType({"remaining_cpu": raw.cpu_left, "remaining_memory": raw.memory_left,
                                    "remaining_gpu": raw.gpu_left, "registered_cpu": raw.cpu,
                                    "registered_memory": raw.memory, "registered_gpu": raw.gpus}),
        ports=_shared(in_use, held), tasks=tasks)


def _documents(raw: _Raw) -> tuple[dict, dict]:
    """The fleet of ``raw`` as describe-container-instances and describe-tasks documents."""
    cluster_arn, ci_prefix, task_prefix, td_prefix = _arn_prefixes(raw)
    ecr = f"{ACCOUNT}.dkr.ecr.{raw.region}.amazonaws.com"
    azs = [raw.region + z for z in AZ_WEIGHTS]
    arns = _strings(ci_prefix, _chunks(raw.ci_bytes), 32, hexlify=True)
    windows = (raw.family == FAMILIES.index("windows")).tolist()

    # Tasks, in order; each instance's static host ports as its tasks took them.
    specs = [(g[0], td_prefix + g[1], str(g[2]), str(g[3]), g[1].split(":", 1)[0]) for g in GROUPS]
    images = [g[4].format(ecr=ecr) for g in GROUPS]
    win_images = {0: "mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2019",
                  2: f"{ecr}/worker:1.9.0-windows"}
    created = raw.task_created_ms
    started, stopped_at = np.minimum(created + 4_000, NOW_MS), np.minimum(created + 3_600_000, NOW_MS)
    static_ports: list[list[str]] = [[] for _ in range(raw.n)]
    tasks = []
    for arn, row, k, running, port, static, gpu, gpu_index, c, s, e, stop in zip(
            _strings(task_prefix, raw.task_bytes(), 32, hexlify=True), raw.task_row.tolist(), raw.task_group.tolist(),
            raw.task_running.tolist(), raw.task_port.tolist(), raw.task_static.tolist(), raw.task_gpu.tolist(),
            raw.task_gpu_index.tolist(), _iso(created), _iso(started), _iso(stopped_at), raw.task_stop.tolist()):
        bindings = []
        if port:
            bindings = [{"bindIP": "0.0.0.0", "containerPort": GROUPS[k][5], "hostPort": port, "protocol": "tcp"}]
            if static:
                static_ports[row].append(str(port))
        task = _task(arn, cluster_arn, arns[row], azs[raw.az[row]], specs[k], "RUNNING" if running else "STOPPED",
                     win_images[k] if windows[row] else images[k], bindings)
        task["createdAt"], task["startedAt"] = c, s
        if gpu:      # the GPU's id, stable per instance and index
            h = arns[row][-32:]
            task["containers"][0]["gpuIds"] = [f"GPU-{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:31]}{gpu_index}"]
        if not running:
            code, reason = STOPS[stop]
            task.update(stopCode=code, stoppedReason=reason, stoppedAt=e)
        tasks.append(task)

    version_info = [{"agentVersion": a[0], "agentHash": a[1], "dockerVersion": "DockerVersion: " + a[2]}
                    for a in AGENTS]
    attribute_lists = [(keys.tolist(), [[_attr(name, None if value is VALUELESS else value)
                                         for name, value in attributes.items()] for attributes in table])
                       for keys, table in _attribute_tables(raw)]
    udp = _res("PORTS_UDP", [])
    registered_for = {}  # (type, windows, generation) -> registeredResources, identical for all such hosts
    instances = []
    for row, (arn, ec2, t, w, g, stamp, draining, connected, version, cpu, memory, gpus, cpu_left,
              memory_left, gpu_left, running) in enumerate(zip(
            arns, _ec2_ids(raw), raw.itype.tolist(), windows, raw.gen.tolist(),
            _iso(raw.registered_ms), raw.draining.tolist(), raw.connected.tolist(), raw.version.tolist(),
            raw.cpu.tolist(), raw.memory.tolist(), raw.gpus.tolist(), raw.cpu_left.tolist(),
            raw.memory_left.tolist(), raw.gpu_left.tolist(), raw.running.tolist())):
        reserved = WINDOWS_PORTS if w else LINUX_PORTS
        registered = registered_for.get((t, w, g))
        if registered is None:
            registered = [_res("CPU", cpu), _res("MEMORY", memory), _res("PORTS", list(reserved)), udp]
            registered += [_res("GPU", gpus)] if gpus else []
            registered_for[t, w, g] = registered
        # PORTS in remainingResources lists the ports taken (reserved + static host ports), as ECS does.
        remaining = [_res("CPU", cpu_left), _res("MEMORY", memory_left),
                     _res("PORTS", [*reserved, *static_ports[row]]), udp]
        if gpus:
            remaining.append(_res("GPU", gpu_left))
        attributes = []
        for keys, lists in attribute_lists:
            attributes += lists[keys[row]]
        instances.append({
            "containerInstanceArn": arn,
            "ec2InstanceId": ec2,
            "version": version + 2 * running,
            "versionInfo": version_info[g],
            "remainingResources": remaining,
            "registeredResources": registered,
            "status": "DRAINING" if draining else "ACTIVE",
            "agentConnected": connected,
            "runningTasksCount": running,
            "pendingTasksCount": 0,
            "attributes": attributes,
            "registeredAt": stamp,
        })
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


def _quiet_gc(build):
    """Run ``build`` with the cyclic GC paused: millions of acyclic containers would only make it
    rescan them, over and over (it more than doubles the time at n = 100,000)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return build()
    finally:
        if was_enabled:
            gc.enable()


def demo_documents(n: int = 200, seed: int = 0, *, cluster: str = "demo",
                   region: str = "us-east-1") -> tuple[dict, dict]:
    """Return (describe-container-instances document, describe-tasks document)."""
    return _quiet_gc(lambda: _documents(_draw(n, seed, cluster, region)))


def demo(n: int = 200, seed: int = 0) -> "Fleet":
    """A demo fleet of n instances: the fleet of `demo_documents(n, seed)`, built as columns."""
    from .model import Fleet
    return _quiet_gc(lambda: Fleet(_columns(_draw(n, seed, "demo", "us-east-1"))))
