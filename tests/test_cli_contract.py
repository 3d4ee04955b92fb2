"""The command line's conventions, pinned: one spelling per option across commands, help on every
flag, the command's own usage on a bad flag, numbers in words, listings and their limit, seeds
only where something was drawn, quiet pipes, progress only for a person, the hints, the fleet
options, and the README synopsis matching the parser."""
import argparse
import io
import json
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

import placement
from placement import Fleet
from placement.cli import COMMANDS, arguments, main
from placement.cli.render import INSTANCE_NOTE, progress

README = Path(__file__).resolve().parents[1] / "README.md"
FLEET = {"containerInstances": [
    {"containerInstanceArn": "ci-1", "ec2InstanceId": "i-1", "status": "ACTIVE",
     "attributes": [{"name": "stack", "value": "prod"}]},
    {"containerInstanceArn": "ci-2", "ec2InstanceId": "i-2", "status": "ACTIVE"},
]}


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv):
    code, out, _ = run(capsys, *argv, "--json")
    return code, json.loads(out)


def commands() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in arguments()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def flags(parser: argparse.ArgumentParser) -> set[str]:
    return {flag for action in parser._actions for flag in action.option_strings}


# -- 1. one spelling per concept ------------------------------------------------------------------

def test_the_demo_fleet_is_spelt_the_same_on_every_command():
    for name, parser in commands().items():
        if name == "check" or "--demo" in flags(parser):
            assert {"--demo", "--demo-seed"} <= flags(parser), name
        assert "--size" not in flags(parser), name
        if "--seed" in flags(parser):
            seed = next(a for a in parser._actions if "--seed" in a.option_strings)
            assert "random" in seed.help, name
    assert {name for name, parser in commands().items() if "--seed" in flags(parser)} == {"place", "scale-in", "simulate", "trace"}


def test_the_demo_commands_hint_is_a_command_that_works(capsys):
    code, out, _ = run(capsys, "demo", "--demo", "60", "--demo-seed", "3")
    assert code == 0
    lines = out.splitlines()
    hint = shlex.split(lines[lines.index(next(l for l in lines if l.endswith("try next:"))) + 1])
    assert hint[:2] == ["placement", "eval"] and hint[-4:] == ["--demo", "60", "--demo-seed", "3"]
    code, out, err = run(capsys, *hint[1:])
    assert code == 0 and "of 60 instances match" in out and err == ""


# -- 2. conventions ------------------------------------------------------------------------------

def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"placement {placement.__version__}"


def test_every_flag_has_help():
    parsers = [arguments(), *commands().values()]
    for parser in parsers:
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            assert action.help and action.help.strip(), f"{parser.prog} {action.option_strings or action.dest}"


def test_every_command_takes_json():
    for name, parser in commands().items():
        if name == "repl":              # a conversation, not one document: scripts use eval --json
            continue
        assert "--json" in flags(parser), name


def test_a_bad_flag_shows_the_commands_usage(capsys):
    code, _, err = run(capsys, "eval", "attribute:a exists", "--demo", "3", "--bogus")
    assert code == 2 and err.startswith("usage: placement eval EXPR")
    assert "placement eval: error: unrecognized argument --bogus" in err
    code, _, err = run(capsys, "eval", "--bogus")
    assert code == 2 and err.startswith("usage: placement eval ")
    code, out = run_json(capsys, "demo", "--bogus")
    assert code == 2 and "--bogus" in out["error"]["message"]


def test_a_misspelt_flag_or_command_gets_the_nearest_one(capsys):
    code, _, err = run(capsys, "eval", "attribute:a exists", "--fleeet", "fleet.json")
    assert code == 2 and "unrecognized argument --fleeet (did you mean --fleet?)" in err
    assert "required" not in err                       # not mistaken for a missing --fleet
    code, _, err = run(capsys, "eval", "attribute:a exists", "--demo", "3", "--limt=2")
    assert code == 2 and "(did you mean --limit?)" in err
    code, _, err = run(capsys, "chek", "attribute:a exists")
    assert code == 2 and "unknown command 'chek' (did you mean check?)" in err


def test_numbers_in_words(capsys):
    _, out, _ = run(capsys, "eval", "attribute:ecs.os-type exists", "--demo", "1")
    assert "1 of 1 instance matches" in out
    _, out, _ = run(capsys, "eval", "attribute:ecs.os-type exists", "--demo", "3")
    assert "3 of 3 instances match" in out
    _, out, _ = run(capsys, "place", "--demo", "20", "--count", "1", "--cpu", "1", "--memory", "1",
                    "--group", "service:one", "--strategy", "binpack:memory")
    assert "placed 1 of 1 task of service:one on 1 instance\n" in out and "1 task\n" in out
    code, out, _ = run(capsys, "place", "--demo", "5", "--count", "1", "--cpu", "999999", "--memory", "1",
                       "--group", "service:one", "--strategy", "binpack:memory")
    assert code == 1 and "placed 0 of 1 task of service:one on 0 instances" in out
    assert "\n1 task not placed. 0/5 instances are available: 5 insufficient cpu.\n" in out


def test_listings_stop_at_the_limit(capsys):
    expression = "attribute:ecs.os-type exists"
    _, out, _ = run(capsys, "eval", expression, "--demo", "50")
    rows = [line for line in out.splitlines() if re.match(r"[0-9a-f]{12}\s", line)]
    assert len(rows) == 20 and "... and 30 more (--limit)" in out
    _, out, _ = run(capsys, "eval", expression, "--demo", "50", "--limit", "5")
    assert "... and 45 more (--limit)" in out
    _, out = run_json(capsys, "eval", expression, "--demo", "50")
    assert len(out["matches"]) == 50 and out["count"] == 50
    _, out = run_json(capsys, "eval", expression, "--demo", "50", "--limit", "5")
    assert len(out["matches"]) == 5 and out["count"] == 50
    _, out = run_json(capsys, "scale-in", "--demo", "50", "--group", "service:web", "--count", "4", "--limit", "2")
    assert len(out["stop"]) == 2
    code, _, err = run(capsys, "eval", expression, "--demo", "5", "--limit", "-1")
    assert code == 2 and "must not be negative" in err


def test_instance_ids_are_explained_once(capsys):
    _, out, _ = run(capsys, "eval", "attribute:ecs.os-type exists", "--demo", "5")
    assert out.count(INSTANCE_NOTE) == 1
    _, out, _ = run(capsys, "demo", "--demo", "50")
    assert out.count(INSTANCE_NOTE) == 1


PLACE = ("place", "--demo", "30", "--count", "6", "--cpu", "1", "--memory", "1", "--group", "service:web")


def test_a_seed_is_shown_only_when_something_was_drawn(capsys):
    for strategy in ("binpack:cpu", "spread:instanceId"):
        _, out, _ = run(capsys, *PLACE, "--strategy", strategy)
        assert "seed" not in out
        _, out = run_json(capsys, *PLACE, "--strategy", strategy)
        assert out["seed"] is None
    _, out, _ = run(capsys, *PLACE, "--strategy", "random", "--seed", "7")
    assert "(seed 7)" in out
    _, out = run_json(capsys, *PLACE, "--strategy", "random", "--seed", "7")
    assert out["seed"] == 7
    _, out = run_json(capsys, *PLACE, "--strategy", "binpack:cpu", "--random-ties")
    assert isinstance(out["seed"], int)
    _, out, _ = run(capsys, "scale-in", "--demo", "30", "--group", "service:web", "--count", "2")
    assert "seed" not in out
    _, out = run_json(capsys, "scale-in", "--demo", "30", "--group", "service:web", "--count", "2")
    assert out["seed"] is None


@pytest.mark.parametrize("argv, lines", [
    (["eval", "attribute:ecs.os-type == linux", "--demo", "2000", "--limit", "2000"], 1),
    (["demo"], 3),
])
def test_output_piped_into_head_leaves_stderr_empty(argv, lines):
    proc = subprocess.Popen([sys.executable, "-m", "placement", *argv],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    for _ in range(lines):
        proc.stdout.readline()
    proc.stdout.close()                       # what head does after its lines
    _, err = proc.communicate(timeout=120)
    assert err == b"" and proc.returncode == 0


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_is_said_only_to_a_terminal_and_only_for_slow_work():
    terminal = _Terminal()
    with progress("reading fleet", after=0.01, stream=terminal):
        time.sleep(0.3)
    assert terminal.getvalue() == "reading fleet ...\n"
    terminal = _Terminal()
    with progress("reading fleet", after=5, stream=terminal):
        pass
    time.sleep(0.05)
    assert terminal.getvalue() == ""
    pipe = io.StringIO()
    with progress("reading fleet", after=0.01, stream=pipe):
        time.sleep(0.1)
    assert pipe.getvalue() == ""


# -- 3. hints ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, message, span, hint", [
    ("atribute:stack == x", "unknown subject 'atribute:stack'", [0, 14],
     ("did you mean attribute:stack? subjects: attribute:NAME, ec2InstanceId, agentConnected, agentVersion, "
      "registeredAt, runningTasksCount, task:group")),
    ("attribute:ecs.instance-type =~ t2.(", "unbalanced '(' in the pattern 't2.('", [34, 35],
     "a pattern with parentheses must be balanced and quoted, e.g. =~ '(m5|c5)\\..*'"),
    ("attribute:ecs.instance-type =~ t2.(micro|small)", "a pattern with '(' must be quoted", [31, 47],
     "write =~ 't2.(micro|small)'"),
    ("task:group == service:web,", "unexpected ',' after the value 'service:web'", [25, 26],
     "did you mean 'task:group in [service:web, ...]'? A value that contains a comma must be quoted"),
    ("attribute:a in [x] , attribute:b exists", "expected 'and', 'or' or the end of the expression, found ','",
     [19, 20], "join simple expressions with 'and' or 'or'"),
    ("attribute:a == x y", "expected 'and', 'or' or the end of the expression, found 'y'", [17, 18],
     "quote values that contain spaces"),
])
def test_hints_say_what_is_wrong(capsys, text, message, span, hint):
    code, out = run_json(capsys, "check", text)
    assert code == 2
    assert (out["error"]["message"], out["error"]["span"], out["error"]["hint"]) == (message, span, hint)


def test_the_length_hint_names_the_command_line_flag(capsys):
    text = "attribute:a == " + "x" * 2000
    code, _, err = run(capsys, "check", text)
    assert code == 2
    assert "  hint: ECS rejects memberOf expressions over 2000 characters; pass --max-length N to allow more" in err
    _, out = run_json(capsys, "eval", text, "--demo", "1")
    assert out["error"]["hint"].endswith("pass --max-length N to allow more")
    assert run(capsys, "check", text, "--max-length", "3000")[0] == 0
    with pytest.raises(placement.PlacementError) as error:
        placement.compile(text)
    assert "max_length" in error.value.hint and "--max-length" not in error.value.hint


# -- 4. the fleet options ------------------------------------------------------------------------

def test_fleet_warnings_go_to_stderr_and_into_the_json(capsys, monkeypatch):
    fleet = Fleet(Fleet.from_ecs(FLEET).columns, warnings=("GPU read as a count",))
    monkeypatch.setattr(Fleet, "read", classmethod(lambda cls, source, tasks=None: fleet))
    code, out, err = run(capsys, "eval", "attribute:stack exists", "--fleet", "fleet.json")
    assert code == 0 and "warning: GPU read as a count" in err and "GPU" not in out
    code, out = run_json(capsys, "eval", "attribute:stack exists", "--fleet", "fleet.json")
    assert out["warnings"] == [{"kind": "fleet", "message": "GPU read as a count"}]
    for argv in (["check", "attribute:stack exists"],
                 ["scale-in", "--group", "service:web", "--count", "0"],
                 ["place", "--count", "1", "--cpu", "0", "--memory", "0", "--group", "g"]):
        code, out = run_json(capsys, *argv, "--fleet", "fleet.json")
        assert {"kind": "fleet", "message": "GPU read as a count"} in out["warnings"], argv


def test_a_csv_fleet_with_assumptions_warns_end_to_end(capsys, tmp_path):
    path = tmp_path / "fleet.csv"
    path.write_text("containerInstanceArn,attribute:stack\nci-1,prod\nci-2,dev\n")
    code, out, err = run(capsys, "eval", "attribute:stack == prod", "--fleet", str(path))
    assert code == 0 and "1 of 2 instances matches" in out
    assert "warning: fleet.csv: no 'status' column" in err
    code, out = run_json(capsys, "eval", "attribute:stack == prod", "--fleet", str(path))
    assert out["matches"] == ["ci-1"] and out["warnings"]
    assert all(w["kind"] == "fleet" for w in out["warnings"])


def test_the_fleet_options_go_together(capsys):
    code, out = run_json(capsys, "eval", "attribute:a exists", "--fleet", "-", "--tasks", "-")
    assert code == 2 and "standard input" in out["error"]["message"]
    code, out = run_json(capsys, "eval", "attribute:a exists", "--fleet", "f.json", "--demo-seed", "2")
    assert code == 2 and "--demo-seed goes with --demo" in out["error"]["message"]
    code, out = run_json(capsys, "eval", "attribute:a exists", "--demo", "2", "--tasks", "t.json")
    assert code == 2 and "--tasks goes with --fleet" in out["error"]["message"]


def test_fleet_dash_reads_standard_input():
    done = subprocess.run([sys.executable, "-m", "placement", "eval", "attribute:stack == prod", "--fleet", "-",
                           "--json"], input=json.dumps(FLEET), capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["matches"] == ["ci-1"]


def test_check_takes_a_fleet_for_the_fleet_aware_lint(capsys):
    _, out = run_json(capsys, "check", "attribute:ecs.os-type == LINUX")
    assert out["warnings"] == []
    _, out = run_json(capsys, "check", "attribute:ecs.os-type == LINUX", "--demo", "20")
    assert [w["code"] for w in out["warnings"]] == ["case-mismatch"]


# -- 5. place reads the request as ECS does ---------------------------------------------------------

def test_place_echoes_the_request_and_carries_its_warnings(capsys, tmp_path):
    request = tmp_path / "run-task.json"
    request.write_text(json.dumps({"taskDefinition": "web:3", "count": 12}))
    argv = ("place", "--demo", "30", "--request", str(request), "--cpu", "1", "--memory", "1")
    code, out = run_json(capsys, *argv)
    assert out["request"]["group"] == "family:web" and out["request"]["count"] == 12
    assert [w["kind"] for w in out["warnings"]] == ["request"] and "limit of 10" in out["warnings"][0]["message"]
    code, out, err = run(capsys, *argv)
    assert "warning: count 12 is above" in err and "warning" not in out


def test_place_takes_both_spellings_of_constraints_and_strategies(capsys):
    _, out = run_json(capsys, "place", "--demo", "30", "--count", "2", "--cpu", "1", "--memory", "1", "--group", "g",
                      "--strategy", "type=binpack,field=memory", "--strategy", "spread:instanceId",
                      "--constraint", 'type=memberOf,expression="attribute:ecs.os-type == linux"',
                      "--constraint", "distinctInstance")
    assert out["request"]["strategies"] == [{"type": "binpack", "field": "memory"},
                                            {"type": "spread", "field": "instanceId"}]
    assert out["request"]["constraints"] == [{"type": "memberOf", "expression": "attribute:ecs.os-type == linux"},
                                             {"type": "distinctInstance"}]
    assert out["seed"] is None and out["warnings"] == []
    helps = {a.dest: a.help for a in commands()["place"]._actions}
    assert "memberOf:EXPR" in helps["constraint"] and "type=memberOf,expression=" in helps["constraint"]
    assert "binpack:cpu" in helps["strategy"] and "type=spread,field=FIELD" in helps["strategy"]


# -- 6. placement output ---------------------------------------------------------------------------

def test_placement_shows_the_group_per_zone_before_and_after(capsys):
    _, out, _ = run(capsys, "place", "--demo", "60", "--count", "12", "--cpu", "1", "--memory", "1",
                    "--group", "service:web", "--strategy", "spread:attribute:ecs.availability-zone")
    lines = out.splitlines()
    start = lines.index("service:web tasks per availability zone, before -> after:") + 1
    rows = []
    for line in lines[start:]:
        match = re.fullmatch(r"  (\S+)\s+(\d+) -> (\d+)", line)
        if not match:
            break
        rows.append((match[1], int(match[2]), int(match[3])))
    assert len(rows) >= 2 and sum(after - before for _, before, after in rows) == 12
    assert all(after >= before for _, before, after in rows)


def test_demo_warnings_sit_under_their_example(capsys):
    _, out, _ = run(capsys, "demo")
    lines = out.splitlines()
    warned = [i for i, line in enumerate(lines) if "warning:" in line]
    assert warned
    for i in warned:
        assert lines[i].startswith("    warning: ") and lines[i - 1].startswith("  ")


# -- 7. the README synopsis is the parser's ----------------------------------------------------------

def _synopsis() -> list[str]:
    """The README's synopsis entries, one per command, continuation lines joined."""
    text = README.read_text()
    block = text[text.index("## The command\n"):].split("\n\n")[1]
    entries: list[str] = []
    for line in block.splitlines():
        if line.startswith("    placement"):
            entries.append(line.strip())
        else:
            entries[-1] += " " + line.strip()
    return entries


def _normal(text: str) -> str:
    return " ".join(text.split())


def test_the_readme_synopsis_is_each_commands_usage():
    entries = {_normal(entry) for entry in _synopsis()}
    assert entries == {_normal(command.USAGE) for command in COMMANDS} | {"placement --version"}


def test_every_flag_of_the_synopsis_exists_and_every_command_is_in_it():
    parsers = commands()
    entries = _synopsis()
    named = {entry.split()[1] for entry in entries if not entry.split()[1].startswith("-")}
    assert named == set(parsers)
    for entry in entries:
        name = entry.split()[1]
        parser = parsers.get(name, arguments())
        mentioned = set(re.findall(r"--[a-z][a-z-]*", entry))
        assert mentioned <= flags(parser), (name, mentioned - flags(parser))
        if name in parsers:            # and the synopsis names every flag the command has
            assert flags(parser) - {"-h", "--help"} <= mentioned, (name, flags(parser) - mentioned)


def test_required_flags_stand_outside_brackets():
    for command in COMMANDS:
        parser = commands()[command.USAGE.split()[1]]
        outside = re.sub(r"\[[^\[\]]*\]", "", re.sub(r"\[[^\[\]]*\]", "", command.USAGE))
        for action in parser._actions:
            if action.required and action.option_strings:
                assert action.option_strings[0] in outside, (command.USAGE, action.option_strings)


def test_a_spread_over_an_attribute_no_instance_has_is_warned(capsys):
    code, out = run_json(capsys, "place", "--demo", "50", "--group", "service:w", "--cpu", "10", "--memory", "10",
                         "--count", "2", "--strategy", "spread:attribute:ecs.availability-zon")
    assert code == 0
    assert {"kind": "request", "message": "no instance has attribute 'ecs.availability-zon', so "
            "spread(attribute:ecs.availability-zon) puts every task in one bucket; did you mean "
            "attribute:ecs.availability-zone?"} in out["warnings"]
    _, out = run_json(capsys, "place", "--demo", "50", "--group", "service:w", "--cpu", "10", "--memory", "10",
                      "--strategy", "spread:attribute:ecs.availability-zone")
    assert out["warnings"] == []


def test_bad_json_files_are_said_alike_with_line_and_column(capsys, tmp_path):
    (tmp_path / "td.json").write_text('{"family": "x", "containerDefinitions": [{"name": "a", "memory": 5,}]}')
    (tmp_path / "empty.json").write_text("")
    (tmp_path / "fleet.txt").write_text("containerInstanceArn\na\n")
    code, _, err = run(capsys, "place", "--demo", "5", "--task-definition", str(tmp_path / "td.json"))
    assert code == 2 and f"the task definition file '{tmp_path / 'td.json'}' is not JSON: " \
                         "trailing comma in object at line 1, column 68" in err
    code, _, err = run(capsys, "place", "--demo", "5", "--request", str(tmp_path / "empty.json"))
    assert code == 2 and "the request file" in err and "is empty" in err
    code, _, err = run(capsys, "eval", "attribute:x exists", "--fleet", str(tmp_path / "fleet.txt"))
    assert code == 2 and "a table is read by its suffix" in err
