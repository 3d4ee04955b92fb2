"""The ``placement`` command's contract: output shapes and exit codes."""
import json
import subprocess
import sys

import pytest

from placement.cli import main

FLEET = {"containerInstances": [
    {"containerInstanceArn": "ci-1", "ec2InstanceId": "i-1", "status": "ACTIVE",
     "attributes": [{"name": "stack", "value": "prod"}, {"name": "ecs.instance-type", "value": "t2.micro"}]},
    {"containerInstanceArn": "ci-2", "ec2InstanceId": "i-2", "status": "ACTIVE",
     "attributes": [{"name": "stack", "value": "dev"}]},
    {"containerInstanceArn": "ci-3", "ec2InstanceId": "i-3", "status": "DRAINING"},
]}
TASKS = {"tasks": [{"group": "service:web", "containerInstanceArn": "ci-2", "desiredStatus": "RUNNING"}]}


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv):
    code, out, _ = run(capsys, *argv, "--json")
    return code, json.loads(out)


@pytest.fixture
def fleet_file(tmp_path):
    path = tmp_path / "fleet.json"
    path.write_text(json.dumps(FLEET))
    tasks = tmp_path / "tasks.json"
    tasks.write_text(json.dumps(TASKS))
    return str(path), str(tasks)


def test_check_json_valid(capsys):
    code, out = run_json(capsys, "check", "attribute:a==b AND NOT attribute:c exists")
    assert code == 0
    assert out == {"valid": True, "canonical": "attribute:a == b and not(attribute:c exists)", "warnings": []}


def test_check_json_reports_glob_like_patterns(capsys):
    code, out = run_json(capsys, "check", "attribute:ecs.instance-type =~ g4*")
    assert code == 0 and out["warnings"][0]["code"] == "glob-pattern"


@pytest.mark.parametrize("text, kind, span", [
    ("attribute:a ==", "syntax", [12, 14]),
    ("runningTasksCount > abc", "type", [20, 23]),
    ("attribute:a == ${x}", "syntax", [15, 19]),
])
def test_check_json_errors_exit_2(capsys, text, kind, span):
    code, out = run_json(capsys, "check", text)
    assert code == 2
    assert out["error"]["kind"] == kind and out["error"]["span"] == span and out["error"]["message"]


def test_check_for_people_shows_a_caret(capsys):
    code, out, err = run(capsys, "check", "runningTasksCount > abc")
    assert code == 2 and "^^^" in err and "runningTasksCount > abc" in err


def test_eval_json_lists_matches(capsys, fleet_file):
    fleet, tasks = fleet_file
    code, out = run_json(capsys, "eval", "attribute:stack in [prod, dev]", "--fleet", fleet)
    assert code == 0
    assert out["matches"] == ["ci-1", "ci-2"] and out["count"] == 2 and out["total"] == 3
    code, out = run_json(capsys, "eval", "task:group == service:web", "--fleet", fleet, "--tasks", tasks)
    assert out["matches"] == ["ci-2"]


def test_eval_warns_about_negation_on_missing_attributes(capsys, fleet_file):
    code, out = run_json(capsys, "eval", "attribute:stack != prod", "--fleet", fleet_file[0])
    assert out["matches"] == ["ci-2"]
    assert [w["code"] for w in out["warnings"]] == ["negation-skips-absent"]


def test_eval_warns_about_case_mismatches(capsys, fleet_file):
    code, out = run_json(capsys, "eval", "attribute:stack == PROD", "--fleet", fleet_file[0])
    assert code == 1 and out["matches"] == []
    assert out["warnings"][0]["code"] == "case-mismatch" and "'prod'" in out["warnings"][0]["message"]


def test_eval_exit_codes(capsys, fleet_file, tmp_path):
    fleet = fleet_file[0]
    assert run(capsys, "eval", "attribute:stack == qa", "--fleet", fleet)[0] == 1
    assert run(capsys, "eval", "attribute:stack ==", "--fleet", fleet)[0] == 2
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    code, out = run_json(capsys, "eval", "attribute:stack exists", "--fleet", str(bad))
    assert code == 2 and out["error"]["kind"] == "input"
    code, out = run_json(capsys, "eval", "attribute:stack exists", "--fleet", str(tmp_path / "missing.json"))
    assert code == 2 and "cannot read" in out["error"]["message"]
    bad.write_text(json.dumps([{"containerInstanceArn": "x", "runningTasksCount": "many"}]))
    code, out = run_json(capsys, "eval", "attribute:stack exists", "--fleet", str(bad))
    assert code == 2 and "runningTasksCount" in out["error"]["message"]


def test_eval_for_people_prints_a_table(capsys, fleet_file):
    code, out, _ = run(capsys, "eval", "attribute:stack exists", "--fleet", fleet_file[0])
    assert code == 0 and "ci-1" in out and "t2.micro" in out and "2 of 3 instances match" in out


def test_eval_on_the_demo_fleet(capsys):
    code, out = run_json(capsys, "eval", "attribute:ecs.os-type exists", "--demo", "50")
    assert code == 0 and out["total"] == 50 and out["count"] == 50


def test_usage_errors_exit_2_in_the_requested_shape(capsys):
    code, out = run_json(capsys, "eval", "attribute:a exists")
    assert code == 2 and out["error"]["kind"] == "input" and "--fleet" in out["error"]["message"]
    code, out, err = run(capsys, "eval", "attribute:a exists", "--fleet", "a", "--demo", "3")
    assert code == 2 and "not allowed with argument" in err


def test_demo_runs_every_documentation_example(capsys):
    from placement.examples import ECS_DOC_EXAMPLES, FLEET_EXAMPLES
    code, out, _ = run(capsys, "demo", "--demo", "100")
    assert code == 0
    for example in ECS_DOC_EXAMPLES + FLEET_EXAMPLES:
        assert example in out


def test_the_console_script_and_module_entry_points():
    done = subprocess.run([sys.executable, "-m", "placement", "check", "--json", "agentConnected == true"],
                          capture_output=True, text=True)
    assert done.returncode == 0 and json.loads(done.stdout)["valid"] is True


def test_plans_are_printed_on_request(capsys, fleet_file):
    code, out = run_json(capsys, "check", "attribute:stack == prod and runningTasksCount > 1", "--plan")
    assert out["plan"].startswith("plan: runningTasksCount > 1 and attribute:stack == prod")
    code, out, _ = run(capsys, "eval", "attribute:stack == prod", "--fleet", fleet_file[0], "--plan")
    assert "code range" in out


def test_eval_reads_parquet_and_feather_fleets(capsys, tmp_path):
    import pyarrow.feather
    import pyarrow.parquet
    from placement import Fleet
    table = Fleet.from_ecs(FLEET).to_arrow()
    pyarrow.parquet.write_table(table, tmp_path / "fleet.parquet")
    pyarrow.feather.write_feather(table, tmp_path / "fleet.feather")
    for name in ("fleet.parquet", "fleet.feather"):
        code, out = run_json(capsys, "eval", "attribute:stack == dev", "--fleet", str(tmp_path / name))
        assert code == 0 and out["matches"] == ["ci-2"]
    (tmp_path / "broken.parquet").write_text("nope")
    code, out = run_json(capsys, "eval", "attribute:stack == dev", "--fleet", str(tmp_path / "broken.parquet"))
    assert code == 2 and out["error"]["kind"] == "input"


def test_both_backends_from_the_command_line(capsys, fleet_file):
    for backend in ("compiled", "reference"):
        code, out = run_json(capsys, "eval", "attribute:stack exists", "--fleet", fleet_file[0], "--backend", backend)
        assert out["matches"] == ["ci-1", "ci-2"]


@pytest.mark.parametrize("text, code, span", [
    ("attribute:a exists and attribute:a !exists", "contradiction", [0, 42]),
    ("attribute:b == x and (runningTasksCount >= 0 or agentVersion > 1)", "tautology", [22, 44]),
    ("attribute:a == x and attribute:a == y", "contradiction", [0, 37]),
])
def test_check_reports_contradictions_and_tautologies(capsys, text, code, span):
    _, out = run_json(capsys, "check", text)
    assert [(w["code"], w["span"]) for w in out["warnings"]] == [(code, span)]


def test_no_constant_finding_where_the_absent_rule_makes_a_difference(capsys):
    _, out = run_json(capsys, "check", "attribute:a == x or attribute:a != x")
    assert out["warnings"] == []


def test_output_piped_into_head_ends_quietly():
    import subprocess
    import sys
    proc = subprocess.Popen([sys.executable, "-m", "placement.cli", "eval", "attribute:ecs.os-type == linux",
                             "--demo", "3000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()                       # what head does after its lines
    _, err = proc.communicate(timeout=120)
    assert b"Traceback" not in err and proc.returncode == 0
