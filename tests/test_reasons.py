"""The explanation of an unplaced task (SPEC 2b): the funnel (removed in order, failing alone),
the closest instances and what each lacks; its JSON shape; the rendered text (golden); and the
fast, vectorised computation against the reference one, instance by instance, on random fleets."""
import json
import os
import shlex
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from placement import Fleet
from placement.cli import main
from placement.explain.placement import render_unplaced, summary
from placement.place import Demand, DistinctInstance, MemberOf, Placer, Random
from placement.place.reasons import reasons
from placement.place.reference import explain_reference, place_reference
from tests.property.strategies import placement_fleets, placement_requests

GOLDEN = Path(__file__).parent / "golden" / "unplaced.txt"


def instance(i, zone="a", cpu=2048, memory=4096, gpu=0, ports=(), attributes=None, **extra):
    attrs = [{"name": "zone", "value": zone}] + [{"name": k, "value": v} for k, v in (attributes or {}).items()]
    return {"containerInstanceArn": f"ci-{i}", "status": extra.pop("status", "ACTIVE"),
            "agentConnected": extra.pop("agentConnected", True), "attributes": attrs,
            "remainingResources": [{"name": "CPU", "integerValue": cpu}, {"name": "MEMORY", "integerValue": memory},
                                   {"name": "GPU", "integerValue": gpu},
                                   {"name": "PORTS", "stringSetValue": [str(p) for p in ports]}], **extra}


# SPEC's example: no instance has `stack`, and memory removes 150 of the 200 first
SPEC_FLEET = {"containerInstances": [instance(i, memory=256 if i < 150 else 4096) for i in range(200)]}

# one instance failing each requirement, and one that takes the only task that fits
MIXED_FLEET = {
    "containerInstances": [
        instance(0, "a", ports=[80], attributes={"stack": "prod"}),
        instance(1, "a", status="DRAINING", attributes={"stack": "prod"}),
        instance(2, "b", agentConnected=False, attributes={"stack": "prod"}),
        instance(3, "b", cpu=256, attributes={"stack": "prod"}),
        instance(4, "c", attributes={"stack": "prod"}),
        instance(5, "a"),
        instance(6, "b", memory=512, attributes={"stack": "dev"}),
        instance(7, "a", attributes={"stack": "prod"}),
        instance(8, "b", attributes={"stack": "prod"}),
    ],
    "tasks": [{"group": "service:web", "containerInstanceArn": "ci-7", "desiredStatus": "RUNNING"}],
}

# ports and numbers: a range without room, a GPU short, runningTasksCount too high, 100 ports reserved
PORTS_FLEET = {"containerInstances": [
    instance(0, ports=[40000, 40001]),
    instance(1, gpu=0),
    instance(2, gpu=1, runningTasksCount=5),
    instance(3, gpu=1, ports=range(1000, 1100)),
]}

FLEETS = {"spec": SPEC_FLEET, "mixed": MIXED_FLEET, "ports": PORTS_FLEET}

MIXED_CONSTRAINTS = [MemberOf("attribute:zone in [a, b] and attribute:stack == prod"), DistinctInstance()]


def fleet_of(document):
    return Fleet.from_ecs(document, document.get("tasks"))


# -- the funnel ---------------------------------------------------------------------------------------

def test_specs_example_removed_in_order_and_failing_alone():
    result = Placer(fleet_of(SPEC_FLEET)).place(1, 0, 1024, group="g", constraints=[MemberOf("attribute:stack == prod")],
                                                seed=1)
    funnel = {row["requirement"]: row for row in result.reasons["funnel"]}
    assert funnel["memory"]["removed"] == funnel["memory"]["failsAlone"] == 150
    constraint = funnel["memberOf(attribute:stack == prod)"]
    assert constraint["removed"] == 50 and constraint["failsAlone"] == 200 and constraint["absent"] == 50
    assert constraint["removedBefore"] == [{"step": 2, "requirement": "memory", "count": 150}]
    assert summary(result.reasons) == "0/200 instances are available: 150 insufficient memory, 50 attribute:stack is absent."


def test_an_earlier_requirement_takes_the_instances_a_later_one_fails_too():
    """Resources come before constraints (SPEC's order): memory removes all, the constraint none."""
    result = Placer(fleet_of(SPEC_FLEET)).place(1, 0, 8192, group="g", constraints=[MemberOf("attribute:stack == prod")],
                                                seed=1)
    funnel = {row["requirement"]: row for row in result.reasons["funnel"]}
    assert funnel["memory"]["removed"] == 200
    assert funnel["memberOf(attribute:stack == prod)"]["removed"] == 0
    assert funnel["memberOf(attribute:stack == prod)"]["failsAlone"] == 200


def test_each_clause_of_an_and_is_counted_in_order_and_alone():
    result = Placer(fleet_of(MIXED_FLEET)).place(2, 512, 1024, ports=[80, 0], group="service:web",
                                                 constraints=MIXED_CONSTRAINTS, seed=1)
    assert result.unplaced == 1 and result.arns == ["ci-8"]
    rows = result.reasons["funnel"]
    assert [(r["requirement"], r["removed"], r["failsAlone"]) for r in rows] == [
        ("eligible", 2, 2), ("cpu", 1, 1), ("memory", 1, 1), ("gpu", 0, 0),
        ("ports", 2, 2),                                      # ci-0 had 80; ci-8 took it
        ("memberOf(attribute:zone in [a, b] and attribute:stack == prod)", 2, 3),
        ("attribute:zone in [a, b]", 1, 1), ("attribute:stack == prod", 1, 2),
        ("distinctInstance", 1, 2)]
    parent, zone, stack = rows[5], rows[6], rows[7]
    assert parent["clauses"] == 2 and zone["of"] == stack["of"] == 5
    assert parent["removed"] == zone["removed"] + stack["removed"]
    assert stack["attribute"] == "stack" and stack["absent"] == 1        # ci-5; ci-6 (dev) went for memory
    old = result.reasons["constraints"]
    assert old[0]["removed"] == 2 and [c["false"] for c in old[0]["clauses"]] == [1, 1]
    assert old[1] == {"constraint": "distinctInstance", "removed": 1}


def test_the_closest_instances_and_what_they_lack():
    result = Placer(fleet_of(MIXED_FLEET)).place(2, 512, 1024, ports=[80, 0], group="service:web",
                                                 constraints=MIXED_CONSTRAINTS, seed=1)
    closest = result.reasons["closest"]
    assert [(c["containerInstanceArn"], c["fails"], c["shortfall"]) for c in closest] == [
        ("ci-3", 1, 0.5), ("ci-0", 1, 1.0), ("ci-1", 1, 1.0)]
    assert [lack["detail"] for c in closest for lack in c["lacks"]] == [
        "needs 256 more cpu units", "port 80 in use", "status is DRAINING"]


def test_closest_ranks_by_failures_then_shortfall_then_position():
    fleet = fleet_of({"containerInstances": [
        instance(0, memory=100), instance(1, memory=900, cpu=0), instance(2, memory=900),
        instance(3, memory=950), instance(4, memory=900)]})
    placer = Placer(fleet)
    placer.sync()
    got = reasons(placer.state, placer.masks, Demand(100, 1000), "g", [], closest=5)["closest"]
    # ci-3 is 50 MiB short (0.05), ci-2 and ci-4 100 (0.1, by position), ci-0 900 (0.9); ci-1 fails two
    assert [(c["containerInstanceArn"], c["fails"]) for c in got] == [
        ("ci-3", 1), ("ci-2", 1), ("ci-4", 1), ("ci-0", 1), ("ci-1", 2)]
    assert got[0]["shortfall"] == pytest.approx(0.05) and got[-1]["shortfall"] == pytest.approx(1.1)
    assert got[-1]["lacks"] == [{"step": 1, "requirement": "cpu", "detail": "needs 100 more cpu units"},
                                {"step": 2, "requirement": "memory", "detail": "needs 100 more MiB of memory"}]
    assert reasons(placer.state, placer.masks, Demand(100, 1000), "g", [], closest=0)["closest"] == []


def test_port_and_number_details():
    fleet = fleet_of(PORTS_FLEET)
    placer = Placer(fleet, ephemeral_ports=(40000, 40002))
    result = placer.place(1, 0, 0, 1, ports=[8080, 0, 0], group="g",
                          constraints=[MemberOf("runningTasksCount < 3")], seed=1)
    lacks = {c["containerInstanceArn"]: [lack["detail"] for lack in c["lacks"]] for c in result.reasons["closest"]}
    assert lacks == {"ci-2": ["runningTasksCount is 5"], "ci-3": ["would reserve over 100 host ports"],
                     "ci-1": ["needs 1 more GPU"]}
    full = reasons(placer.state, placer.masks, Demand(0, 0, 1, (8080, 0, 0)), "g",
                   [MemberOf("runningTasksCount < 3")], closest=4)["closest"]
    assert [lack["detail"] for lack in full[-1]["lacks"]] == ["needs 1 more GPU", "fewer than 2 free ports in 40000-40002"]


def test_nothing_unplaced_means_no_reasons_and_an_available_count_when_asked():
    fleet = fleet_of(MIXED_FLEET)
    assert Placer(fleet).place(1, 0, 0, group="g", seed=1).reasons == {}
    placer = Placer(fleet)
    placer.sync()
    got = reasons(placer.state, placer.masks, Demand(0, 0), "g", [])
    assert got["available"] == 7 and got["instances"] == 9 and len(got["closest"]) == 2    # the 2 ineligible


# -- the JSON shape -------------------------------------------------------------------------------------

def check_shape(r: dict) -> None:
    """Every key, and the identities between the counts."""
    assert {"instances", "available", "ineligible", "cpu", "memory", "gpu", "ports", "constraints", "funnel",
            "closest"} <= set(r)
    funnel = r["funnel"]
    assert [row["kind"] for row in funnel[:5]] == ["eligible", "cpu", "memory", "gpu", "ports"]
    leaves = [row for row in funnel if not row.get("clauses")]
    assert sum(row["removed"] for row in leaves) + r["available"] == r["instances"]
    assert [r["ineligible"], r["cpu"], r["memory"], r["gpu"], r["ports"]] == [row["removed"] for row in funnel[:5]]
    for j, row in enumerate(funnel):
        assert set(row) >= {"requirement", "kind", "removed", "failsAlone", "removedBefore"}
        assert row["failsAlone"] == row["removed"] + sum(b["count"] for b in row["removedBefore"])
        assert all(b["step"] < j and b["count"] > 0 and not funnel[b["step"]].get("clauses")
                   for b in row["removedBefore"])
        if row.get("clauses"):
            own = funnel[j + 1:j + 1 + row["clauses"]]
            assert all(c["kind"] == "clause" and c["of"] == j for c in own)
            assert row["removed"] == sum(c["removed"] for c in own)
        if "absent" in row:
            assert 0 <= row["absent"] <= row["removed"] and row["attribute"]
    keys = [(c["fails"], c["shortfall"], c["position"]) for c in r["closest"]]
    assert keys == sorted(keys) and len({c["position"] for c in r["closest"]}) == len(keys)
    for entry in r["closest"]:
        assert set(entry) == {"containerInstanceArn", "position", "fails", "shortfall", "lacks"}
        assert entry["fails"] == len(entry["lacks"]) > 0
        assert all(lack["detail"] and lack["requirement"] == funnel[lack["step"]]["requirement"]
                   for lack in entry["lacks"])
    json.dumps(r)


def fleet_files(tmp_path, name: str) -> list[str]:
    """``--fleet FILE --tasks FILE`` for the fleet ``name``."""
    document = FLEETS[name]
    path, tasks = tmp_path / f"{name}.json", tmp_path / f"{name}-tasks.json"
    path.write_text(json.dumps({"containerInstances": document["containerInstances"]}))
    tasks.write_text(json.dumps({"tasks": document.get("tasks", [])}))
    return ["--fleet", str(path), "--tasks", str(tasks)]


def test_json_shape_of_the_command(capsys, tmp_path):
    code = main(["place", *fleet_files(tmp_path, "mixed"), "--count", "2", "--cpu", "512", "--memory", "1024", "--port", "80",
                 "--port", "0", "--group", "service:web", "--constraint",
                 "memberOf:attribute:zone in [a, b] and attribute:stack == prod", "--constraint", "distinctInstance",
                 "--seed", "1", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1 and out["unplaced"] == 1
    check_shape(out["reasons"])
    assert out["reasons"]["funnel"][4] == {"requirement": "ports", "kind": "ports", "needs": [80, 0], "removed": 2,
                                           "failsAlone": 2, "removedBefore": []}
    assert out["reasons"]["closest"][0] == {
        "containerInstanceArn": "ci-3", "position": 3, "fails": 1, "shortfall": 0.5,
        "lacks": [{"step": 1, "requirement": "cpu", "detail": "needs 256 more cpu units"}]}


# -- golden: the rendered explanation ---------------------------------------------------------------

def golden_cases() -> list[tuple[str, str, str]]:
    """``### NAME`` then ``$ placement place ARGS`` ({fleet}: the fleet NAME), then its stdout."""
    cases, current = [], None
    for line in GOLDEN.read_text().splitlines():
        if line.startswith("### "):
            current = [line[4:], None, []]
            cases.append(current)
        elif current is not None and current[1] is None and line.startswith("$ placement place "):
            current[1] = line[len("$ placement place "):]
        elif current is not None and current[1] is not None:
            current[2].append(line)
    return [(name, args, "\n".join(lines).rstrip("\n")) for name, args, lines in cases]


def run_place(capsys, tmp_path, name: str, args: str) -> str:
    code = main(["place", *fleet_files(tmp_path, name), *shlex.split(args)])
    out = capsys.readouterr().out.rstrip("\n")
    assert code == 1, out
    return out


@pytest.mark.parametrize("name, args, expected", golden_cases())
def test_golden_rendered_explanation(capsys, tmp_path, name, args, expected):
    got = run_place(capsys, tmp_path, name, args)
    if os.environ.get("UPDATE_GOLDEN"):
        text = GOLDEN.read_text()
        GOLDEN.write_text(text.replace(expected, got, 1) if expected else text.replace(
            f"$ placement place {args}\n", f"$ placement place {args}\n{got}\n", 1))
        return
    assert got == expected


def test_golden_covers_every_fleet():
    assert {name for name, _, _ in golden_cases()} == set(FLEETS)


def test_render_without_closest_instances():
    r = explain_reference(fleet_of(SPEC_FLEET), Demand(0, 1024), "g", [MemberOf("attribute:stack == prod")], closest=0)
    text = render_unplaced(r, 1)
    assert text.startswith("1 task not placed. 0/200 instances are available: 150 insufficient memory, "
                           "50 attribute:stack is absent.\n") and "closest" not in text


# -- the fast computation against the reference, on random fleets ---------------------------------------

EXTRA_CONSTRAINTS = ["attribute:stack == prod and attribute:zone in [a, b]",
                     "attribute:zone exists and runningTasksCount <= 2 and not(attribute:stack == dev)",
                     "attribute:stack exists", "attribute:zone == c or attribute:stack == prod",
                     "task:group == service:web and attribute:zone != a"]


@st.composite
def explained_requests(draw):
    request = draw(placement_requests())
    extra = draw(st.lists(st.sampled_from(EXTRA_CONSTRAINTS), max_size=2))
    constraints = list(request["constraints"])
    for text in extra:
        constraints.insert(draw(st.integers(0, len(constraints))), MemberOf(text))
    request["constraints"] = constraints[:10]
    request["closest"] = draw(st.integers(0, 6))
    request["ephemeral"] = draw(st.sampled_from([(49153, 65535), (8079, 8081), (79, 81), (80, 80)]))
    return request


@st.composite
def explained_fleets(draw):
    """``placement_fleets``, some instances near the 100 reserved host ports."""
    document = draw(placement_fleets())
    for record in document["containerInstances"]:
        many = draw(st.sampled_from([0, 0, 0, 99, 100]))
        if many:
            ports = next(r for r in record["remainingResources"] if r["name"] == "PORTS")
            ports["stringSetValue"] = sorted(set(ports["stringSetValue"]) | {str(1000 + k) for k in range(many)})
    return document


SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(explained_fleets(), explained_requests())
def test_fast_explanation_equals_the_reference_on_the_fleet_as_it_is(document, request):
    fleet = Fleet.from_ecs(document, document["tasks"])
    demand = Demand(request["cpu"], request["memory"], request["gpu"], request["ports"])
    placer = Placer(fleet, ephemeral_ports=request["ephemeral"])
    placer.sync()
    got = reasons(placer.state, placer.masks, demand, request["group"], request["constraints"], request["closest"])
    expected = explain_reference(fleet, demand, request["group"], request["constraints"], request["closest"],
                                 request["ephemeral"])
    assert got == expected
    check_shape(got)


@SETTINGS
@given(explained_fleets(), explained_requests())
def test_fast_explanation_equals_the_reference_after_the_tasks_that_placed(document, request):
    fleet = Fleet.from_ecs(document, document["tasks"])
    demand = Demand(request["cpu"], request["memory"], request["gpu"], request["ports"])
    got = Placer(fleet, [Random()], ephemeral_ports=request["ephemeral"]).place(
        request["count"], demand.cpu, demand.memory, demand.gpu, demand.ports, request["group"],
        request["constraints"], request["seed"])
    expected = place_reference(fleet, demand, request["count"], request["group"], request["constraints"], [Random()],
                               request["seed"], ephemeral=request["ephemeral"])
    assert got.arns == expected.arns and got.reasons == expected.reasons
    if got.unplaced:
        check_shape(got.reasons)
        assert render_unplaced(got.reasons, got.unplaced).count("\n") >= 3
