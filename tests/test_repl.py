"""``placement repl``: driven end to end through prompt_toolkit's pipe input, its completer asked
as prompt_toolkit asks it, colour only where wanted, and a clear word when the extra is missing."""
import io
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prompt_toolkit.document import Document
from prompt_toolkit.history import FileHistory, InMemoryHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from placement import Fleet
from placement.cli import main
from placement.cli.completion import QueryCompleter, QueryLexer, Vocabulary, candidates
from placement.cli.repl import MISSING, Repl, history_path, loop, open_history

ARN = "arn:aws:ecs:us-east-1:123456789012:container-instance/test/"


def _instance(n, kind, zone, **attributes):
    return {"containerInstanceArn": f"{ARN}{n:04d}aaaabbbbcccc", "ec2InstanceId": f"i-{n:04d}",
            "status": "ACTIVE", "agentConnected": True,
            "remainingResources": [{"name": "CPU", "type": "INTEGER", "integerValue": 2048},
                                   {"name": "MEMORY", "type": "INTEGER", "integerValue": 4096}],
            "attributes": [{"name": "ecs.instance-type", "value": kind}, {"name": "ecs.os-type", "value": "linux"},
                           {"name": "ecs.availability-zone", "value": zone},
                           {"name": "com.amazonaws.ecs.capability.ecr-auth"},
                           *({"name": k.replace("_", "-"), "value": v} for k, v in attributes.items())]}


FLEET = {"containerInstances": [
    _instance(1, "t3.large", "us-east-1a", team="data science"),
    _instance(2, "t3.small", "us-east-1b"),
    _instance(3, "m5.large", "us-east-1a", team="web"),
]}
TASKS = {"tasks": [{"taskArn": "task-1", "group": "service:web", "containerInstanceArn": f"{ARN}0001aaaabbbbcccc",
                    "desiredStatus": "RUNNING"}]}


@pytest.fixture
def fleet():
    return Fleet.from_ecs(FLEET, tasks=TASKS)


def converse(fleet, typed: str, color: bool = False) -> tuple[int, str]:
    """Type ``typed`` into the repl (``\\r`` is Enter) and return its exit code and what it printed."""
    out = io.StringIO()
    with create_pipe_input() as pipe:
        pipe.send_text(typed)
        pipe.close()                                      # then the input ends, as with Ctrl-D
        code = loop(Repl(fleet, color=color), input=pipe, output=DummyOutput(), history=InMemoryHistory(), out=out)
    return code, out.getvalue()


# -- end to end ---------------------------------------------------------------------------------------

def test_an_expression_shows_its_count_a_sample_and_its_warnings(fleet):
    code, out = converse(fleet, "attribute:ecs.instance-type =~ t3.*\rattribute:ecs.os-type == LINUX\r:quit\r")
    assert code == 0
    assert "placement repl on a fleet of 3 instances" in out
    assert "2 of 3 instances match" in out and "0001aaaabbbb  i-0001" in out and "0002aaaabbbb  i-0002" in out
    assert "0 of 3 instances match" in out
    assert "warning: 'LINUX' matches no attribute:ecs.os-type value in the fleet, but 'linux' does" in out


def test_the_canonical_form_is_shown_when_it_differs(fleet):
    _, out = converse(fleet, "NOT task:group == service:web\r\x04")
    assert "= not(task:group == service:web)\n2 of 3 instances match" in out


def test_an_error_is_shown_with_its_caret_and_the_session_goes_on(fleet):
    _, out = converse(fleet, "runningTasksCount > abc\rtask:group exists\r\x04")
    assert ("type error: runningTasksCount >: expected a non-negative integer, got 'abc'\n"
            "  at line 1, column 21\n    runningTasksCount > abc\n                        ^^^\n") in out
    assert "1 of 3 instances matches" in out


def test_ctrl_c_clears_the_line_ctrl_d_and_quit_leave_with_0(fleet):
    code, out = converse(fleet, "attribute:team == web\x03task:group exists\r\x04")
    assert code == 0 and "1 of 3 instances matches" in out and out.count("match") == 1
    code, out = converse(fleet, ":quit\rtask:group exists\r")
    assert code == 0 and "match" not in out               # nothing is read after :quit
    code, out = converse(fleet, "")                       # the input ends: as Ctrl-D
    assert code == 0


SELECTIVE = "attribute:ecs.instance-type =~ t3.* and attribute:ecs.availability-zone == us-east-1a\r"


def test_explain_shows_the_parts_of_the_last_expression(fleet):
    _, plain = converse(fleet, SELECTIVE)
    _, out = converse(fleet, SELECTIVE + ":explain\r")
    explained = out[len(plain):]
    assert "├── attribute:ecs.instance-type =~ t3.*" in explained and "1/3" in explained
    assert "error" not in explained


def test_why_shows_one_instance(fleet):
    _, out = converse(fleet, SELECTIVE + ":why 0002aaaa\r:why i-0001 task:group exists\r:why i-9\r")
    assert "instance 0002aaaabbbb (position 1): not selected" in out
    assert "true   actual: t3.small" in out and "false  actual: us-east-1b" in out
    assert "instance 0001aaaabbbb (position 0): selected\ntask:group exists" in out    # by its ec2InstanceId
    assert "no container instance 'i-9' in the fleet" in out


def test_place_is_a_dry_run_under_the_last_expression(fleet):
    _, out = converse(fleet, SELECTIVE + ":place 2 2048 512 --group service:api\r:place 1 2048 0\r")
    assert "dry run with memberOf(attribute:ecs.instance-type =~ t3.* and " in out
    assert "placed 1 of 2 tasks of service:api on 1 instance" in out       # only i-0001, with cpu for one
    assert "1 task not placed" in out
    assert "placed 1 of 1 task of service:repl on 1 instance" in out       # the fleet is left as it was


def test_help_and_bad_commands(fleet):
    _, out = converse(fleet, ":help\r:nope\r:why\r:place two\r:place 1 2\r")
    assert ":explain [EXPR]" in out and ":quit" in out
    assert "unknown command :nope; :help lists them" in out
    assert ":why takes an instance" in out
    assert ":place: argument count: expected a whole number, got 'two'" in out
    assert ":place: the following arguments are required: memory" in out


def test_commands_before_any_expression_say_what_they_need(fleet):
    _, out = converse(fleet, ":explain\r:explain task:group exists\r\x04")
    assert "type an expression first" in out and "task:group" in out.split("first", 1)[1]


def test_why_knows_an_instance_by_its_ec2_instance_id_too(fleet):
    repl = Repl(fleet)
    assert repl.instance("i-0003") == f"{ARN}0003aaaabbbbcccc"
    assert repl.instance("0003aaaa") == "0003aaaa"                      # the rest is Predicate.why's to find


def test_the_toolbar_previews_the_count_or_the_error(fleet, monkeypatch):
    repl = Repl(fleet)
    assert repl.preview("task:group exists") == "1 of 3 instances"
    assert repl.preview("task:group ==").startswith("syntax error: ")
    assert "Tab" in repl.preview("")
    monkeypatch.setattr("placement.cli.repl.PREVIEW_LIMIT", 2)         # a large fleet: no count per keystroke
    assert repl.preview("task:group exists") == "valid; Enter to count"


def test_standard_input_is_for_what_is_typed(capsys):
    assert main(["repl", "--fleet", "-"]) == 2
    assert "give --fleet and --tasks as files" in capsys.readouterr().err


def test_lines_from_a_pipe_are_answered_without_the_editor(monkeypatch, capsys, tmp_path):
    path = tmp_path / "fleet.json"
    path.write_text(__import__("json").dumps(FLEET))
    monkeypatch.setattr(sys, "stdin", io.StringIO("attribute:team exists\n:quit\ntask:group exists\n"))
    code = main(["repl", "--fleet", str(path)])
    out, _ = capsys.readouterr()
    assert code == 0 and out.startswith("2 of 3 instances match\n") and out.count("match") == 1


# -- colour ---------------------------------------------------------------------------------------------

class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("argv, env, coloured", [
    ([], {}, True), (["--no-color"], {}, False), ([], {"NO_COLOR": "1"}, False),
])
def test_colour_only_on_a_terminal_and_never_when_asked_not_to(monkeypatch, argv, env, coloured):
    monkeypatch.delenv("NO_COLOR", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stdin", io.StringIO("runningTasksCount > abc\ntask:group exists\n"))
    monkeypatch.setattr(sys, "stdout", terminal)
    assert main(["repl", "--demo", "5", *argv]) == 0
    assert ("\x1b[" in terminal.getvalue()) is coloured
    assert "type error: runningTasksCount >" in terminal.getvalue()


def test_no_colour_into_a_file(monkeypatch, capsys):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setattr(sys, "stdin", io.StringIO("task:group exists\n"))
    assert main(["repl", "--demo", "5"]) == 0
    assert "\x1b[" not in capsys.readouterr().out


def test_a_coloured_session_paints_counts_and_errors(fleet):
    _, out = converse(fleet, "task:group exists\rtask:group ==\r\x04", color=True)
    assert "\x1b[1m1 of 3 instances matches\x1b[0m" in out and "\x1b[31msyntax error:" in out


# -- the extra ------------------------------------------------------------------------------------------

def test_without_prompt_toolkit_the_repl_says_what_to_install(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "prompt_toolkit", None)          # import prompt_toolkit -> ImportError
    assert main(["repl", "--demo", "5"]) == 2
    _, err = capsys.readouterr()
    assert MISSING in err and "pip install 'placement[repl]'" in err


def test_the_core_and_the_other_commands_do_not_import_prompt_toolkit():
    code = ("import sys, placement, placement.cli; placement.cli.arguments(); "
            "print('prompt_toolkit' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "False"


# -- history --------------------------------------------------------------------------------------------

def test_history_is_a_file_under_xdg_state_home(monkeypatch, tmp_path, fleet):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert history_path() == tmp_path / "placement" / "history"
    history = open_history()
    assert isinstance(history, FileHistory)
    with create_pipe_input() as pipe:
        pipe.send_text("task:group exists\r\x04")
        loop(Repl(fleet), input=pipe, output=DummyOutput(), out=io.StringIO())
    assert "task:group exists" in (tmp_path / "placement" / "history").read_text()


def test_history_stays_in_memory_when_the_file_cannot_be_written(monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_STATE_HOME", str(blocker / "below"))        # a directory under a file: refused
    assert isinstance(open_history(), InMemoryHistory)
    monkeypatch.setenv("XDG_STATE_HOME", "relative/path")              # not absolute: ignored, as XDG says
    monkeypatch.setenv("HOME", str(tmp_path))
    assert history_path() == tmp_path / ".local" / "state" / "placement" / "history"


# -- completion -----------------------------------------------------------------------------------------

def complete(fleet, text: str) -> list[str]:
    completer = QueryCompleter(Vocabulary(fleet))
    found = list(completer.get_completions(Document(text), None))
    assert all(-c.start_position <= len(text) for c in found)
    return [c.text for c in found]


def test_subjects_complete(fleet):
    assert complete(fleet, "") == ["attribute:", "ec2InstanceId", "agentConnected", "agentVersion", "registeredAt",
                                   "runningTasksCount", "task:group", "not(", "("]
    assert complete(fleet, "ag") == ["agentConnected", "agentVersion"]
    assert complete(fleet, "run") == ["runningTasksCount"]
    assert complete(fleet, "task:group exists and ") == complete(fleet, "(")
    assert complete(fleet, "no") == ["not("]
    completion = next(QueryCompleter(Vocabulary(fleet)).get_completions(Document("attribute:ecs.ins"), None))
    assert (completion.text, completion.start_position) == ("attribute:ecs.instance-type", -17)


def test_attribute_names_complete_after_attribute(fleet):
    assert complete(fleet, "attribute:") == ["attribute:com.amazonaws.ecs.capability.ecr-auth",
                                             "attribute:ecs.availability-zone", "attribute:ecs.instance-type",
                                             "attribute:ecs.os-type", "attribute:team"]
    assert complete(fleet, "not(attribute:ecs.o") == ["attribute:ecs.os-type"]


def test_operators_complete_as_the_subject_allows(fleet):
    assert complete(fleet, "attribute:team ") == ["==", "!=", "=~", "!~", "in", "not_in", "exists", "!exists",
                                                  ">", ">=", "<", "<="]
    assert complete(fleet, "agentVersion ") == ["==", "!=", ">", ">=", "<", "<="]
    assert complete(fleet, "ec2InstanceId ") == ["==", "!=", "=~", "!~", "in", "not_in"]
    assert complete(fleet, "attribute:team =") == ["==", "=~"]
    assert complete(fleet, "attribute:team!") == ["!=", "!~", "!exists"]
    assert complete(fleet, "task:group ex") == ["exists"]


def test_values_complete_from_the_fleet(fleet):
    assert complete(fleet, "attribute:ecs.instance-type == ") == ["m5.large", "t3.large", "t3.small"]
    assert complete(fleet, "attribute:ecs.instance-type =~ t3") == ["t3.large", "t3.small"]
    assert complete(fleet, "attribute:team == ") == ["'data science'", "web"]       # quoted where it must be
    assert complete(fleet, "attribute:team == \"da") == ['"data science"']
    assert complete(fleet, "ec2InstanceId != i-000") == ["i-0001", "i-0002", "i-0003"]
    assert complete(fleet, "agentConnected == ") == ["true", "false"]
    assert complete(fleet, "task:group == ") == ["service:web"]
    assert complete(fleet, "attribute:nothing == ") == []
    assert complete(fleet, "runningTasksCount > ") == []


def test_lists_and_what_follows_complete(fleet):
    assert complete(fleet, "attribute:team in ") == ["["]
    assert complete(fleet, "attribute:team in [") == ["'data science'", "web", "]"]
    assert complete(fleet, "attribute:team in [web ") == [",", "]"]
    assert complete(fleet, "attribute:team in [web, ") == ["'data science'", "web", "]"]
    assert complete(fleet, "attribute:team in [web] ") == ["and", "or"]
    assert complete(fleet, "(attribute:team exists ") == ["and", "or", ")"]
    assert complete(fleet, "attribute:team exists o") == ["or"]


def test_commands_complete(fleet):
    assert complete(fleet, ":") == [":explain", ":why", ":place", ":help", ":quit"]
    assert complete(fleet, ":p") == [":place"]
    assert complete(fleet, ":why ") == []


# -- highlighting ---------------------------------------------------------------------------------------

def styles(text: str) -> list[tuple[str, str]]:
    fragments = QueryLexer().lex_document(Document(text))(0)
    assert "".join(part for _, part in fragments) == text
    return [(style, part) for style, part in fragments if part.strip()]


def test_highlighting_follows_the_tokens():
    assert styles("not(attribute:a == 'x y') && task:group in [a,b]") == [
        ("class:keyword", "not"), ("class:punctuation", "("), ("class:subject", "attribute:a"),
        ("class:operator", "=="), ("class:string", "'x y'"), ("class:punctuation", ")"), ("class:keyword", "&&"),
        ("class:subject", "task:group"), ("class:operator", "in"), ("class:punctuation", "["),
        ("class:value", "a"), ("class:punctuation", ","), ("class:value", "b"), ("class:punctuation", "]")]
    assert styles("attribute:a@b ?? x") == [("class:subject", "attribute:a"), ("class:error", "@b"),
                                            ("class:error", "??"), ("class:error", "x")]
    assert styles(":why abc") == [("class:command", ":why"), ("", " abc")]


PIECES = [*"ab:=!~<>[](),'\" &|\\.-_", "and ", "not", " in ", "exists", "attribute:", "task:group"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=20).map("".join) | st.text(max_size=30))
def test_the_editor_never_fails_on_half_typed_text(text):
    text = text.replace("\n", " ").replace("\r", " ")
    fragments = QueryLexer().lex_document(Document(text))(0)
    assert "".join(part for _, part in fragments) == text
    back, words = candidates(text, VOCABULARY)
    assert 0 <= back <= len(text) and isinstance(words, list)


VOCABULARY = Vocabulary(Fleet.from_ecs(FLEET, tasks=TASKS))
