"""Any nesting within the length limit (SPEC 1.1): every stage works at any depth without
recursion, and compile-time work grows linearly (or n log n) with the expression.

Each shape is tried at the deepest nesting that fits in 2,000 characters (about 1,000 levels)
and at 10,000 levels with a raised limit, under the interpreter's default recursion limit;
past ``MAX_DEPTH`` levels of and / or / not (only a raised limit gets there) the parser refuses,
since the compiled kernel keeps a block of scratch per level.
Performance is not timed here; the linearity tests count the work itself.
"""
import sys

import numpy as np
import pytest

import placement
from placement import Fleet, QuerySyntaxError, QueryTypeError
from placement.engine import reference
from placement.lang import intervals, simplify
from placement.lang.parser import DEFAULT_MAX_LENGTH, MAX_DEPTH, TOO_DEEP, TOO_LONG

DOC = {"containerInstances": [
    {"containerInstanceArn": f"ci-{i}", "ec2InstanceId": f"i-{i}", "runningTasksCount": i % 3,
     "versionInfo": {"agentVersion": version}, "registeredAt": "2018-06-18T22:28:28Z",
     "attributes": [{"name": "zone", "value": zone}, {"name": "cores", "value": str(i)}]
     + ([{"name": "gpu"}] if i % 4 == 0 else [])}
    for i, (zone, version) in enumerate(zip("abcadefb", ["1.14.0", "2.0.0", "1.1048575.1048575", "1.9.5",
                                                         "4194303.1048575.1048575", "0.0.1", "1.14.5", "1.14.0"]))]}
TASKS = {"tasks": [{"group": "service:web", "containerInstanceArn": "ci-1", "desiredStatus": "RUNNING"}]}
LEAF = "attribute:zone == a"


@pytest.fixture(autouse=True)
def default_recursion_limit():
    """Run under CPython's default limit, whatever the test runner set."""
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    yield
    sys.setrecursionlimit(before)


@pytest.fixture(scope="module")
def fleet():
    return Fleet.from_ecs(DOC, TASKS)


def nested(opening: str, closing: str, depth: int, leaf: str = LEAF) -> str:
    return opening * depth + leaf + closing * depth


def mixed(depth: int) -> str:
    """Levels that cycle through not(, and (, or (, ! and ((, over several fields."""
    openings = ["not(", "runningTasksCount > 0 and (", "attribute:gpu exists or (", "!(", "(("]
    closings = [")", ")", ")", ")", "))"]
    closed = "".join(closings[k % 5] for k in reversed(range(depth)))
    return "".join(openings[k % 5] for k in range(depth)) + LEAF + closed


def chain(word: str, n: int) -> str:
    leaves = ["attribute:zone == a", "attribute:zone != b", "runningTasksCount < 2", "attribute:gpu exists",
              "not(task:group == service:web)", "agentVersion >= 1.10", "attribute:cores > 2"]
    return f" {word} ".join(leaves[k % len(leaves)].replace("== a", f"== {'abcdefgh'[k % 8]}") for k in range(n))


SHAPES = {
    "parentheses": lambda d: nested("(", ")", d),
    "not(": lambda d: nested("not(", ")", d),
    "!": lambda d: nested("!", "", d),
    "mixed": mixed,
    "or chain": lambda n: chain("or", n),
    "and chain": lambda n: chain("and", n),
}


def deepest_within_the_limit(shape) -> int:
    depth = 1
    while len(shape(depth + 1)) <= DEFAULT_MAX_LENGTH:
        depth += 1
    return depth


def compiled(text: str):
    return placement.compile(text, max_length=max(len(text), DEFAULT_MAX_LENGTH))


def check_every_stage(text: str, fleet: Fleet, draw: bool) -> None:
    """``draw``: also the JSON and the text drawing of the tree, which hold every node's text and
    indent each line by its depth, so that they are length x depth characters."""
    predicate = compiled(text)
    again = compiled(predicate.canonical)
    assert again.tree == predicate.tree and again.plan is predicate.plan   # compared and hashed without recursion
    mask = predicate.evaluate(fleet)
    assert (mask == predicate.evaluate(fleet, backend="reference")).all()
    assert predicate.explain_plan(fleet).startswith("plan: ")
    explanation = predicate.explain(fleet)
    assert explanation.count == int(mask.sum())
    nodes = list(explanation.nodes())
    for node in nodes[::max(1, len(nodes) // 3)]:                      # a sample: each check is O(depth)
        assert node.count == int(reference.evaluate(node.expr, fleet).sum()), node.id
    why = predicate.why(fleet, 3)
    assert why.selected == bool(mask[3])
    if draw:
        assert explanation.to_json()["tree"]["count"] == explanation.count
        assert explanation.render().count("\n") == len(nodes) - 1
    predicate.warnings()
    predicate.warnings(fleet)


@pytest.mark.parametrize("shape", SHAPES)
def test_every_stage_at_the_deepest_nesting_that_fits_in_2000_characters(shape, fleet):
    text = SHAPES[shape](deepest_within_the_limit(SHAPES[shape]))
    placement.compile(text)
    check_every_stage(text, fleet, draw=True)


@pytest.mark.parametrize("shape", SHAPES)
def test_every_stage_at_10000_levels_with_a_raised_limit(shape, fleet):
    text = SHAPES[shape](10_000)
    check_every_stage(text, fleet, draw=shape in ("parentheses", "or chain", "and chain"))


def test_nesting_past_the_length_limit_is_the_length_error():
    text = nested("(", ")", 10_000)
    with pytest.raises(QuerySyntaxError) as caught:
        placement.compile(text)
    assert caught.value.problems[0].code == TOO_LONG


@pytest.mark.parametrize("text, span, where", [
    (nested("(", ")", 10_000)[:-1], (20_018, 20_018), "line 1, column 20019"),          # one ')' missing
    (nested("not(", ")", 10_000, "attribute:zone =="), (40_017, 40_018), "line 1"),     # no value
    ("(" * 10_000 + LEAF + "\n" + ")" * 10_001, (20_020, 20_021), "line 2, column 10001"),  # one ')' too many
])
def test_a_syntax_error_at_depth_has_a_span_and_a_line_and_column(text, span, where):
    with pytest.raises(QuerySyntaxError) as caught:
        compiled(text)
    error = caught.value
    assert (error.span.start, error.span.end) == span
    assert f"at {where}" in error.render()


def test_past_the_kernels_depth_a_syntax_error_names_the_part_too_deep():
    """The compiled kernel keeps 4 KB of scratch per level: deeper is refused, with a span."""
    text = "attribute:gpu exists and " + nested("!", "", MAX_DEPTH + 1)
    with pytest.raises(QuerySyntaxError) as caught:
        compiled(text)
    error = caught.value
    assert error.problems[0].code == TOO_DEEP
    assert (error.span.start, error.span.end) == (len("attribute:gpu exists and "), len(text))
    assert "line 1, column 26" in error.render()
    compiled(nested("(", ")", 2 * MAX_DEPTH))                              # parentheses add no level


def test_a_type_error_at_depth_names_the_span():
    text = mixed(10_000).replace(LEAF, "attribute:zone =~ '(x'")
    with pytest.raises(QueryTypeError) as caught:
        compiled(text)
    at = text.index("'(x'")
    assert (caught.value.span.start, caught.value.span.end) == (at, at + 4)


def test_spellings_of_one_deep_expression_share_one_plan():
    words = mixed(3_000)
    symbols = words.replace("not(", "!(").replace(" and ", " && ").replace(" or ", " || ")
    assert compiled(words).plan is compiled(symbols).plan
    assert compiled(words).canonical == compiled(symbols).canonical


def test_a_contradiction_deep_inside_is_reported_once_at_its_outermost_node():
    text = nested("not(", ")", MAX_DEPTH - 2, "attribute:zone == a and attribute:zone == b")
    warnings = compiled(text).warnings()
    assert [w.code for w in warnings] == ["contradiction"]                 # an even number of nots
    assert (warnings[0].span.start, warnings[0].span.end) == (0, len(text))


def test_long_chains_match_the_reference(fleet):
    for word in ("and", "or"):
        predicate = compiled(chain(word, 5_000))
        assert (predicate.evaluate(fleet) == predicate.evaluate(fleet, backend="reference")).all()


# -- literals on the expression side ---------------------------------------------------------------

def test_an_instant_past_year_9999_utc_is_a_type_error_with_its_span():
    with pytest.raises(QueryTypeError) as caught:
        placement.compile("registeredAt < 9999-12-31T23:59:59-14:00")
    assert (caught.value.span.start, caught.value.span.end) == (15, 40)


@pytest.mark.parametrize("text", [
    "runningTasksCount < " + "9" * 5_000, "runningTasksCount in [1, " + "1" * 5_000 + "]",
    "agentVersion > 1." + "9" * 5_000, "attribute:cores > " + "9" * 5_000, "attribute:cores < -" + "9" * 5_000,
])
def test_digit_strings_past_the_int_conversion_limit_compare_as_written(text, fleet):
    predicate = compiled(text)
    assert (predicate.evaluate(fleet) == predicate.evaluate(fleet, backend="reference")).all()


@pytest.mark.parametrize("op", [">", ">=", "<", "<=", "==", "!="])
@pytest.mark.parametrize("version", ["1.1048576", "1.1048575.1048576", "4194304", "1.2.99999999999999999999999"])
def test_a_version_no_fleet_can_hold_compares_like_the_reference(op, version, fleet):
    predicate = placement.compile(f"agentVersion {op} {version}")
    assert (predicate.evaluate(fleet) == predicate.evaluate(fleet, backend="reference")).all()


# -- the work grows linearly ------------------------------------------------------------------------

def counted(monkeypatch, module, name: str, measure=lambda *args: 1) -> list[int]:
    """Wrap ``module.name`` so that every call adds ``measure(*args)`` to the returned counter."""
    total = [0]
    original = getattr(module, name)

    def wrapper(*args):
        total[0] += measure(*args)
        return original(*args)
    monkeypatch.setattr(module, name, wrapper)
    return total


def test_simplify_reads_each_leaf_a_bounded_number_of_times(monkeypatch):
    """Deciding one field's operands took (literals x leaves) leaf readings: 25 million for 5,000."""
    calls = counted(monkeypatch, simplify, "leaf_holds")
    work = {}
    for n in (1_000, 2_000, 4_000):
        typed = compiled(" or ".join(f"attribute:zone == x{k}" for k in range(n))).ir
        calls[0] = 0
        simplify.simplify(typed)
        work[n] = calls[0]
    assert work[2_000] <= 2 * work[1_000] and work[4_000] <= 2 * work[2_000]


@pytest.mark.parametrize("text", [
    "".join(f"attribute:zone == x{k} or (" if k % 2 else f"attribute:zone != y{k} and (" for k in range(4_000))
    + LEAF + ")" * 4_000,
    "".join(f"runningTasksCount == {k} or (" if k % 2 else "runningTasksCount < 100000 and (" for k in range(4_000))
    + "runningTasksCount == 1" + ")" * 4_000,
])
def test_joining_the_truths_of_a_deep_one_field_tree_is_n_log_n(monkeypatch, text):
    """A subtree's exact truth is joined into the largest operand's; the work is the size of the others."""
    def others(conjunction, parts):
        sizes = [len(p.flipped) if hasattr(p, "flipped") else len(p) for p in parts]
        return sum(sizes) - max(sizes)
    moved = counted(monkeypatch, simplify, "_join_strings", others)
    moved_keys = counted(monkeypatch, intervals, "join", others)
    typed = compiled(text).ir
    simplify.simplify(typed)
    n = 4_000
    assert moved[0] + moved_keys[0] <= 2 * n * np.log2(n)


def test_lint_folds_a_deep_expression_once(monkeypatch):
    """Lint asks which parts the optimiser decides; it used to simplify every node again."""
    predicate = compiled(mixed(5_000))
    runs = counted(monkeypatch, simplify._Folder, "run")
    predicate.warnings()
    assert runs[0] == 1


def test_explain_json_of_a_10000_deep_expression_through_the_command_line(capsys):
    """json.dumps recurses; the command line writes a document this deep with its own stack."""
    import json
    from placement.cli import main
    text = "not(" * 5000 + "attribute:a !exists" + ")" * 5000           # every instance matches: exit 0
    assert main(["explain", text, "--demo", "10", "--json", "--max-length", "100000"]) == 0
    written = capsys.readouterr().out
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(50_000)
    try:
        document = json.loads(written)
    finally:
        sys.setrecursionlimit(limit)
    node, depth = document["tree"], 0
    while node["children"]:
        node, depth = node["children"][0], depth + 1
    assert depth == 5000 and node["text"] == "attribute:a !exists" and document["total"] == 10


def test_the_deep_json_writer_writes_what_json_dumps_writes():
    import json
    from placement.cli.render import _dumps_deep
    for document in ({"a": [1, 2.5, {"b": None, "c": 'x"y\u00e9'}], "d": True, "e": [], "f": {}}, [], {}, "x", [[[]]]):
        assert _dumps_deep(document) == json.dumps(document)
    keys = {True: 1, False: 2, None: 3, 7: 4, 2.5: 5, 1e300: 6, float("inf"): 7, "s": 8}     # json's key text
    assert _dumps_deep(keys) == json.dumps(keys) and _dumps_deep([keys]) == json.dumps([keys])


def test_the_kernel_runs_25000_levels_without_recursion():
    """Alternating and / or / not that no simplification flattens, 25,000 levels: the kernel's
    explicit stack (the recursive one overflowed at 15-20,000), in one thread and two, and its
    trace mode, against the reference."""
    from tests.property.strategies import copied
    predicate = placement.compile(mixed(25_000), max_length=10 ** 7)
    small = placement.demo(6, 3)
    reference = predicate.evaluate(small, backend="reference")
    assert (predicate.evaluate(small) == reference).all()
    rows = [i % len(small) for i in range(70_000)]                 # 18 blocks, each row a copy of one of the six
    big = copied(small, len(rows))
    assert (predicate.evaluate(big) == reference[rows]).all()
    assert (predicate.evaluate(big, threads=2) == reference[rows]).all()
    assert predicate.explain(small).tree.count == int(reference.sum())
