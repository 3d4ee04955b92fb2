"""Hypothesis strategies: random well-typed expressions (as text, in every spelling) and random
fleets (as ECS JSON) that exercise absent, value-less and case-variant values; and ``copied``,
a small fleet grown past a kernel block."""
from dataclasses import replace

from hypothesis import strategies as st

from placement import Fleet

ATTRIBUTES = ["stack", "zone", "cores", "ecs.capability.x", "team"]
STRINGS = ["prod", "PROD", "dev", "us-east-1a", "t2.micro", "t2", "green", "dark-green", "a b",
           "it's", "and", "[x]", "4", "4.0", "-1.5", "1e3", "", "\\.", "x,y"]
GROUPS = ["service:web", "service:api", "family:batch", "database"]
PATTERNS = ["t2.*", "prod", ".*", "(m5|c5)\\..*", "us-east-1[ab]", "[0-9]+", "service:.*", "tr.*",
            "g4*", "(?i)prod", "i-.*", ""]
VERSIONS = ["1", "1.14", "1.14.5", "1.9.0", "2.0.1"]
TIMES = ["2018-06-18", "2018-06-18T22:28:28", "2018-06-18T22:28:28Z", "2018-06-18T22:28:28+02:00",
         "2020-01-01T00:00:00.5-05:30"]
NUMBERS = ["4", "-1.5", "1e3", "0", "3.25"]

SPELLINGS = {
    "==": ["==", "equals", "EQUALS"], "!=": ["!=", "not_equals"], ">": [">", "greater_than"],
    ">=": [">=", "greater_than_equal"], "<": ["<", "less_than"], "<=": ["<=", "LESS_THAN_EQUAL"],
    "exists": ["exists", "Exists"], "!exists": ["!exists", "not_exists"], "in": ["in", "IN"],
    "!in": ["!in", "not_in"], "=~": ["=~", "matches"], "!~": ["!~", "not_matches"],
}


def literal(value: str):
    """``value`` written bare when that reads back the same, else quoted in one of two ways."""
    double = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    single = "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    bare_ok = value and not any(c in value for c in " ()[],'\"") and "&&" not in value and "||" not in value
    return st.sampled_from([value, single, double] if bare_ok else [single, double])


@st.composite
def simple_expression(draw):
    subject = draw(st.sampled_from(["attribute"] * 4 + ["ec2InstanceId", "agentConnected", "agentVersion",
                                                        "registeredAt", "runningTasksCount", "task:group"]))
    if subject == "attribute":
        subject = "attribute:" + draw(st.sampled_from(ATTRIBUTES))
        ops, values = ["==", "!=", "in", "!in", "=~", "!~", "exists", "!exists", ">", ">=", "<", "<="], STRINGS
    elif subject == "ec2InstanceId":
        ops, values = ["==", "!=", "in", "!in", "=~", "!~"], ["i-1", "i-2", "i-3"]
    elif subject == "agentConnected":
        ops, values = ["==", "!=", "in", "!in", "=~", "!~"], ["true", "false"]
    elif subject == "agentVersion":
        ops, values = ["==", "!=", ">", ">=", "<", "<="], VERSIONS
    elif subject == "registeredAt":
        ops, values = ["==", "!=", ">", ">=", "<", "<="], TIMES
    elif subject == "runningTasksCount":
        ops, values = ["==", "!=", "in", "!in", ">", ">=", "<", "<="], ["0", "1", "2", "10"]
    else:
        ops, values = ["==", "!=", "in", "!in", "=~", "!~", "exists", "!exists"], GROUPS
    op = draw(st.sampled_from(ops))
    spelled = draw(st.sampled_from(SPELLINGS[op]))
    gap = draw(st.sampled_from([" ", "  ", "\t"] + ([""] if not spelled[0].isalpha() else [])))
    if op in ("exists", "!exists"):
        return f"{subject} {spelled}"
    if op in ("=~", "!~"):
        argument = draw(literal(draw(st.sampled_from(PATTERNS))))
    elif subject.startswith("attribute:") and op in (">", ">=", "<", "<="):
        argument = draw(literal(draw(st.sampled_from(NUMBERS))))
    elif op in ("in", "!in"):
        items = draw(st.lists(st.sampled_from(values), min_size=1, max_size=3))
        argument = "[" + draw(st.sampled_from([",", ", ", " , "])).join(draw(literal(v)) for v in items) + "]"
    else:
        argument = draw(literal(draw(st.sampled_from(values))))
    return f"{subject}{gap}{spelled}{gap if gap else ''}{' ' if spelled[-1].isalpha() else ''}{argument}"


def expressions(max_leaves: int = 8):
    """Random well-typed expressions with every boolean spelling and optional parentheses."""
    def extend(inner):
        joined = st.tuples(inner, st.sampled_from([" and ", " && ", " AND ", "&&", " or ", " || ", " Or "]), inner)
        return st.one_of(
            joined.map(lambda t: f"{t[0]}{t[1]}{t[2]}"),
            inner.map(lambda e: f"({e})"),
            st.tuples(st.sampled_from(["not ", "not", "! ", "!", "NOT "]), inner).map(
                lambda t: f"{t[0]}({t[1]})" if t[0].strip() == t[0] else f"{t[0]}{t[1]}"),
        )
    return st.recursive(simple_expression(), extend, max_leaves=max_leaves)



def copied(fleet: Fleet, copies: int) -> Fleet:
    """``copies`` rows, row ``i`` a copy of ``fleet``'s row ``i % len(fleet)`` (ARNs ``ci-<i>``, so
    they stay unique): answers are the small fleet's, across as many kernel blocks as wanted."""
    rows = [i % len(fleet) for i in range(copies)]
    return Fleet(replace(fleet.columns.take(rows), arns=tuple(f"ci-{i}" for i in range(copies))))

@st.composite
def fleets(draw, max_size: int = 8):
    """An ECS describe-container-instances document (with its tasks) of 0..max_size instances."""
    size = draw(st.integers(0, max_size))
    instances, tasks = [], []
    for i in range(size):
        arn = f"ci-{i}"
        record = {"containerInstanceArn": arn}
        attributes = []
        for name in ATTRIBUTES:
            state = draw(st.sampled_from(["absent", "valueless", "value", "value"]))
            if state == "valueless":
                attributes.append({"name": name})
            elif state == "value":
                attributes.append({"name": name, "value": draw(st.sampled_from(STRINGS))})
        record["attributes"] = attributes
        if draw(st.booleans()):
            record["ec2InstanceId"] = draw(st.sampled_from(["i-1", "i-2", "i-3", "i-4"]))
        if draw(st.booleans()):
            record["agentConnected"] = draw(st.booleans())
        if draw(st.booleans()):
            record["versionInfo"] = {"agentVersion": draw(st.sampled_from(VERSIONS + ["1.14.0", "garbage"]))}
        if draw(st.booleans()):
            record["registeredAt"] = draw(st.sampled_from(TIMES + ["2018-06-18T22:28:28.000001Z"]))
        record["runningTasksCount"] = draw(st.integers(0, 3))
        instances.append(record)
        for group in draw(st.lists(st.sampled_from(GROUPS), max_size=3)):
            tasks.append({"group": group, "containerInstanceArn": arn,
                          "desiredStatus": draw(st.sampled_from(["RUNNING", "RUNNING", "STOPPED"]))})
    return {"containerInstances": instances, "tasks": tasks}


@st.composite
def placement_fleets(draw, max_size: int = 10):
    """A fleet with resources, statuses and spread attributes, as ECS JSON (with its tasks)."""
    instances, tasks = [], []
    for i in range(draw(st.integers(0, max_size))):
        arn = f"ci-{i}"
        attributes = []
        zone = draw(st.sampled_from(["a", "b", "c", "absent", "valueless"]))
        if zone == "valueless":
            attributes.append({"name": "zone"})
        elif zone != "absent":
            attributes.append({"name": "zone", "value": zone})
        if draw(st.booleans()):
            attributes.append({"name": "stack", "value": draw(st.sampled_from(["prod", "dev"]))})
        ports = draw(st.lists(st.sampled_from(["22", "80", "8080"]), unique=True, max_size=2))
        instances.append({
            "containerInstanceArn": arn,
            "status": draw(st.sampled_from(["ACTIVE"] * 5 + ["DRAINING"])),
            "agentConnected": draw(st.sampled_from([True] * 5 + [False])),
            "runningTasksCount": draw(st.integers(0, 3)),
            "attributes": attributes,
            "remainingResources": [
                {"name": "CPU", "type": "INTEGER", "integerValue": draw(st.sampled_from([0, 256, 512, 1024, 2048]))},
                {"name": "MEMORY", "type": "INTEGER", "integerValue": draw(st.sampled_from([0, 512, 1024, 4096]))},
                {"name": "GPU", "type": "INTEGER", "integerValue": draw(st.sampled_from([0, 0, 1, 2]))},
                {"name": "PORTS", "type": "STRINGSET", "stringSetValue": ports}],
        })
        for group in draw(st.lists(st.sampled_from(["service:web", "service:api"]), max_size=2)):
            tasks.append({"group": group, "containerInstanceArn": arn, "desiredStatus": "RUNNING"})
    return {"containerInstances": instances, "tasks": tasks}


CONSTRAINT_POOL = ["attribute:stack == prod", "not(attribute:stack == dev)", "attribute:zone in [a, b]",
                   "runningTasksCount < 4", "not(task:group == service:web)", "task:group !exists",
                   "attribute:zone exists and runningTasksCount <= 5", "attribute:zone != c"]
STRATEGY_POOL = ["binpack:cpu", "binpack:memory", "spread:attribute:zone", "spread:instanceId", "spread:host",
                 "random", "spread:attribute:stack", "spread:attribute:missing"]


@st.composite
def placement_requests(draw):
    from placement.place.requests import DistinctInstance, MemberOf, parse_strategy_option
    constraints = [MemberOf(text) for text in draw(st.lists(st.sampled_from(CONSTRAINT_POOL), max_size=2))]
    if draw(st.booleans()):
        constraints.insert(draw(st.integers(0, len(constraints))), DistinctInstance())
    strategies = [parse_strategy_option(s) for s in draw(st.lists(st.sampled_from(STRATEGY_POOL), max_size=3))]
    return {
        "count": draw(st.integers(0, 25)),
        "cpu": draw(st.sampled_from([0, 128, 256, 512])),
        "memory": draw(st.sampled_from([0, 256, 512])),
        "gpu": draw(st.sampled_from([0, 0, 0, 1])),
        "ports": tuple(draw(st.lists(st.sampled_from([0, 80, 8080]), unique=True, max_size=2))),
        "group": draw(st.sampled_from(["service:web", "service:api", "family:batch"])),
        "constraints": constraints,
        "strategies": strategies,
        "seed": draw(st.integers(0, 2**64 - 1)),
    }
