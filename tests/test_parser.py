"""The parser: what it accepts, the AST it builds, and the syntax errors it reports."""
import pytest

from placement.errors import QuerySyntaxError, Span
from placement.lang import ast
from placement.lang.ast import Op
from placement.lang.parser import parse


def canonical(text: str) -> str:
    return ast.to_text(parse(text))


@pytest.mark.parametrize("text, expected", [
    ("attribute:flavor==test", "attribute:flavor == test"),
    ("a == b&&c == d", "a == b and c == d"),
    ("a == b||c == d", "a == b or c == d"),
    ("a == x&y", "a == x&y"),
    ("a == x|y", "a == x|y"),
    ("attribute:op == and", "attribute:op == and"),
    ("attribute:op == 'and'", "attribute:op == and"),
    ("x IN [a,b , c]", "x in [a, b, c]"),
    ("x NOT_IN ['a b', \"c\"]", "x !in ['a b', c]"),
    ("x not_exists", "x !exists"),
    ("x Equals y", "x == y"),
    ("x greater_than_equal 3", "x >= 3"),
    ("NOT a exists AND b exists", "not(a exists) and b exists"),
    ("!a exists && !(b exists)", "not(a exists) and not(b exists)"),
    ("not not a exists", "not(not(a exists))"),
    ("a exists and b exists or c exists", "(a exists and b exists) or c exists"),
    ("a exists or b exists and c exists", "a exists or (b exists and c exists)"),
    ("(a exists or b exists) and c exists", "(a exists or b exists) and c exists"),
    ("((a exists))", "a exists"),
    ("a exists and (b exists and c exists)", "a exists and (b exists and c exists)"),
    ("notable exists or order exists", "notable exists or order exists"),
    ("x =~ '(m5|c5)\\..*'", "x =~ '(m5|c5)\\\\..*'"),
    ("x == '\\.'", "x == \\."),
    ("x == 'it\\'s'", "x == 'it\\'s'"),
    ("x == ''", "x == ''"),
    ("x\n==\ty", "x == y"),
])
def test_canonical_form(text, expected):
    assert canonical(text) == expected
    assert parse(expected) == parse(text)


def test_quoted_escapes_keep_unknown_backslashes():
    (literal,) = parse(r"x == 'a\.b\'c\\d\"e'").args
    assert literal.value == "a\\.b'c\\d\"e"
    assert literal.quoted


def test_bare_word_ends_at_double_ampersand_only():
    tree = parse("a == b&&c == d")
    assert isinstance(tree, ast.And) and [c.args[0].value for c in tree.operands] == ["b", "d"]


def test_and_or_chains_are_flat_and_nested_groups_are_kept():
    assert len(parse("a exists and b exists and c exists").operands) == 3
    nested = parse("a exists and (b exists and c exists)")
    assert isinstance(nested.operands[1], ast.And)


def test_spans_point_at_the_source():
    text = "attribute:stack  !=  prod"
    node = parse(text)
    assert node.op is Op.NE
    assert text[node.subject_span.start:node.subject_span.end] == "attribute:stack"
    assert text[node.op_span.start:node.op_span.end] == "!="
    assert text[node.args[0].span.start:node.args[0].span.end] == "prod"
    assert node.span == Span(0, len(text))


def syntax_error(text: str, **kwargs) -> QuerySyntaxError:
    with pytest.raises(QuerySyntaxError) as raised:
        parse(text, **kwargs)
    return raised.value


@pytest.mark.parametrize("text, message, span", [
    ("", "empty expression", (0, 0)),
    ("blieptuut", "has no operator", (0, 9)),
    ("attribute:ecs.ami-id", "has no operator", (0, 20)),
    ("a ==", "missing value", (2, 4)),
    ("a in x", "takes a list in brackets", (5, 6)),
    ("a == [b]", "takes one value, not a list", (5, 6)),
    ("a in []", "empty list", (5, 7)),
    ("a in [b,]", "trailing comma", (7, 8)),
    ("a in [,b]", "starts with a comma", (6, 7)),
    ("a in [b", "missing ']'", (7, 7)),
    ("a in [b c]", "expected ',' or ']'", (8, 9)),
    ("a == 'b", "unterminated quoted string", (5, 7)),
    ("(a exists", "missing ')'", (9, 9)),
    ("a exists)", "unmatched ')'", (8, 9)),
    ("a exists b", "takes no argument", (9, 10)),
    ("attribute:a@b == c", "'@' cannot appear in a subject", (11, 12)),
    ("a == (b)", "cannot contain '('", (5, 6)),
    ("a exists and", "ends after 'and'", (12, 12)),
    ("a == b c", "expected 'and', 'or'", (7, 8)),
    ("a == b and or c", "found the keyword 'or'", (11, 13)),
    ("x equalsy", "expected an operator after 'x'", (2, 9)),
])
def test_syntax_errors(text, message, span):
    error = syntax_error(text)
    assert message in error.message
    if span is not None:
        assert error.span == Span(*span)
    assert error.source == text
    assert "^" in error.render()


def test_bare_subject_hints_at_exists():
    assert "attribute:ecs.ami-id exists" in syntax_error("attribute:ecs.ami-id").hint
    assert "attribute:blieptuut exists" in syntax_error("blieptuut").hint


@pytest.mark.parametrize("text, residue", [
    ("attribute:stack == ${var.stack}", "${var.stack}"),
    ("attribute:stack == '${var.stack}'", "${var.stack}"),
    ("attribute:stack == {{ env }}", "{{ env }}"),
    ("attribute:stack == \"{{env}}\"", "{{env}}"),
    ("attribute:stack == #{stack}", "#{stack}"),
    ("attribute:stack == <stack-name>", "<stack-name>"),
    ("attribute:stack == ${unclosed", "${unclosed"),
    ("attribute:stack == {{ unclosed", "{{ unclosed"),
])
def test_template_residue_is_reported_as_unrendered(text, residue):
    error = syntax_error(text)
    assert "un-rendered" in error.message
    assert text[error.span.start:error.span.end] == residue


def test_named_regex_group_is_not_residue():
    parse("x =~ '(?P<zone>us-east-1[a-f])'")


def test_residue_is_checked_before_syntax_and_length_before_residue():
    assert "un-rendered" in syntax_error("a == == ${x}").message
    assert "limit is 10" in syntax_error("a == ${x} and b exists", max_length=10).message


def test_length_limit_is_2000_and_can_be_raised():
    text = "attribute:a == " + "x" * 1985
    assert len(text) == 2000
    parse(text)
    error = syntax_error(text + "x")
    assert error.span == Span(2000, 2001)
    parse(text + "x", max_length=2001)


def test_long_flat_chains_do_not_recurse():
    text = " and ".join(["a exists"] * 5000)
    assert len(parse(text, max_length=len(text)).operands) == 5000


def test_multiline_errors_report_line_and_column():
    error = syntax_error("a exists and\n  b ==")
    assert "line 2, column 5" in error.render()
