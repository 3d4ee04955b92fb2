"""Stage ``parse``: text -> ``ast.Expr``. The only module that imports lark.

Checks run in the order SPEC 1.4 fixes: length limit, template residue, syntax. Lark's errors
are translated into ``QuerySyntaxError`` with a span and a message written for the person who
typed the expression. Every stage walks trees without recursion (SPEC 1.1): the LALR parser
keeps its own stack, and the parse tree is converted to the AST bottom-up.

One depth limit remains, ``MAX_DEPTH`` levels of and / or / not (parentheses do not count, and
2,000 characters hold fewer than 2,000 levels, so only a raised length limit can reach it): the
compiled kernel (``engine/_kernels.pyx``) keeps an explicit stack and one 4 KB block of scratch
per level for each worker thread, so 50,000 levels take 200 MB per thread an evaluation runs on
(``threads=8``: 1.6 GB). Deeper expressions get a syntax error with a span instead.
"""
from __future__ import annotations

import functools
import re
from importlib import resources
from pathlib import Path

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput

from placement.errors import InputError, Problem, QuerySyntaxError, Span, preview
from placement.lang import ast
from placement.lang.patterns import PatternError, compile_pattern
from placement.values import is_unicode

DEFAULT_MAX_LENGTH = 2000      # the ECS API's limit on a memberOf expression
TOO_LONG = "too-long"           # the code of the length error, so a caller can name its own knob
TOO_DEEP = "too-deep"
MAX_DEPTH = 50_000              # and / or / not levels: the kernel's scratch, a block a level (see above)

_RESIDUE = re.compile(
    r"\$\{[^}]*\}?"                           # ${var.x}   Terraform, CloudFormation Sub, shell
    r"|\{\{.*?(?:\}\}|$)"                     # {{ env }}  Jinja, Helm, Go templates
    r"|#\{[^}]*\}?"                           # #{x}       Ruby, Octopus
    r"|(?<!\(\?P)(?<!\(\?)<[A-Za-z_][\w.-]*>",  # <name>     doc placeholders; not (?P<name>...)
    re.S,
)
_OPERATORS = ", ".join(op.value for op in ast.Op)


@functools.lru_cache(maxsize=1)
def _lark() -> Lark:
    try:
        text = resources.files("placement.grammar").joinpath("cluster_query.lark").read_text()
    except (ModuleNotFoundError, FileNotFoundError):     # running from a source tree
        text = (Path(__file__).resolve().parents[2] / "grammar" / "cluster_query.lark").read_text()
    # Spans are computed from the tokens in _to_ast: cheaper than lark's propagate_positions.
    # cache=True: the LALR tables are kept in a file in the temp folder (keyed by the grammar and
    # lark's version), so a command starts without rebuilding them; lark rebuilds when it cannot.
    return Lark(text, parser="lalr", lexer="contextual", cache=True)


def parse(text: str, max_length: int = DEFAULT_MAX_LENGTH) -> ast.Expr:
    """Parse one expression; raise ``QuerySyntaxError`` with a span on any problem."""
    if not isinstance(text, str):
        raise QuerySyntaxError(f"an expression must be a string, not {type(text).__name__}")
    if type(max_length) is not int or max_length < 1:
        raise InputError(f"max_length must be a positive integer, got {preview(max_length)}")
    if not is_unicode(text):
        at = next(i for i, char in enumerate(text) if 0xD800 <= ord(char) <= 0xDFFF)
        raise QuerySyntaxError("a lone surrogate (like \\ud800) is not text: no pattern or value can hold it",
                               source=text, span=Span(at, at + 1),
                               hint="the expression was probably decoded from bytes that are not UTF-8")
    if len(text) > max_length:
        message = f"expression is {len(text)} characters long; the limit is {max_length}"
        raise QuerySyntaxError(message, source=text, problems=(Problem(
            message, Span(max_length, len(text)), code=TOO_LONG,
            hint="ECS rejects memberOf expressions over 2000 characters; pass max_length to allow more"),))
    residue = _RESIDUE.search(text)
    if residue:
        raise QuerySyntaxError(
            f"expression looks un-rendered: template placeholder {residue.group()!r}",
            source=text, span=Span(residue.start(), residue.end()),
            hint="render the template (Terraform, CloudFormation, Jinja, ...) before using the expression")
    try:
        tree = _lark().parse(text)
    except UnexpectedInput as error:
        raise _syntax_error(text, error) from None
    return _to_ast(tree, text)


# ---------------------------------------------------------------------------------------------
# parse tree -> AST

def _edge_token(item: Token | Tree, side: int) -> Token:
    """The first (side 0) or last (side -1) token under ``item``, without recursion."""
    while isinstance(item, Tree):
        item = item.children[side]
    return item


def _span_of(item: Token | Tree) -> Span:
    return Span(_edge_token(item, 0).start_pos, _edge_token(item, -1).end_pos)


def _literal(token: Token) -> ast.Literal:
    span = Span(token.start_pos, token.end_pos)
    if token.type == "QUOTED":
        return ast.Literal(_unquote(token.value[1:-1]), span, quoted=True)
    return ast.Literal(token.value, span)


def _unquote(body: str) -> str:
    """Undo the escapes \\' \\" \\\\; any other backslash stays as it is (SPEC 1.4)."""
    return re.sub(r"\\(['\"\\])", r"\1", body)


def _comparison(tree: Tree) -> ast.Comparison:
    subject, op_token, *args = tree.children
    last = args[-1] if args else op_token
    end = last.end_pos + (1 if tree.data == "listed" else 0)      # the closing ']'
    return ast.Comparison(
        subject=subject.value,
        op=ast.OP_SPELLINGS[op_token.value.lower()],
        args=tuple(_literal(a) for a in args),
        span=Span(subject.start_pos, end), subject_span=_span_of(subject), op_span=_span_of(op_token))


def _to_ast(tree: Tree | Token, text: str) -> ast.Expr:
    """Bottom-up, iterative conversion (``iter_subtrees`` yields children before parents)."""
    if not isinstance(tree, Tree):
        raise QuerySyntaxError("not an expression", source=text, span=Span(0, len(text)))
    built: dict[int, ast.Expr] = {}
    extent: dict[int, int] = {}              # where a node's text ends, its closing parentheses included
    depth: dict[int, int] = {}               # and / or / not levels at and below a node
    for node in tree.iter_subtrees():
        kids = [c for c in node.children if isinstance(c, Tree)]
        below = max((depth[id(k)] for k in kids), default=0)
        if node.data in ("single", "listed", "unary"):
            result: ast.Expr = _comparison(node)
        elif node.data == "group":
            result = built[id(kids[0])]
            end = extent.get(id(kids[0]), result.span.end)
            extent[id(node)] = text.index(")", end) + 1     # the parser has seen it: only blanks before
        elif node.data == "negation":
            operand = built[id(kids[0])]
            end = extent.get(id(kids[0]), operand.span.end)
            result = ast.Not(operand, Span(node.children[0].start_pos, end))   # not(...) with its ')'
            below += 1
        else:
            operands = tuple(built[id(k)] for k in kids)
            span = operands[0].span.cover(operands[-1].span)
            result = (ast.And if node.data == "and_expr" else ast.Or)(operands, span)
            below += 1
        if below > MAX_DEPTH:
            message = f"expression nests more than {MAX_DEPTH:,} levels of and / or / not"
            raise QuerySyntaxError(message, source=text, problems=(Problem(
                message, result.span, code=TOO_DEEP,
                hint="the compiled engine evaluates at most that many levels; parentheses alone do not count"),))
        built[id(node)] = result
        depth[id(node)] = below
    return built[id(tree)]


# ---------------------------------------------------------------------------------------------
# lark errors -> messages for people

_EXPECTING_OPERATOR = {"VALUE_OP", "LIST_OP", "UNARY_OP"}
_EXPECTING_VALUE = {"BARE", "QUOTED"}


def _syntax_error(text: str, error: UnexpectedInput) -> QuerySyntaxError:
    expected = set(getattr(error, "expected", None) or getattr(error, "allowed", None) or ())
    stack = error.interactive_parser.parser_state.value_stack if getattr(error, "interactive_parser", None) else []
    previous = stack[-1] if stack else None
    if isinstance(error, UnexpectedCharacters):
        at = error.pos_in_stream
        found, span = text[at], Span(at, at + 1)
        if found in "'\"":
            return QuerySyntaxError(f"unterminated quoted string starting with {found}", source=text,
                                    span=Span(at, len(text)), hint=f"close the string with a matching {found}")
    else:
        token = error.token
        if token.type == "$END":
            found, span = None, Span(len(text), len(text))
        else:
            found, span = token.value, Span(token.start_pos, token.end_pos)

    def fail(message: str, where: Span = span, hint: str | None = None) -> QuerySyntaxError:
        return QuerySyntaxError(message, source=text, span=where, hint=hint)

    prev_text = previous.value if isinstance(previous, Token) else None
    prev_span = _span_of(previous) if previous is not None else None

    brackets = [item.type for item in stack if isinstance(item, Token) and item.type in ("LSQB", "RSQB")]
    in_list = bool(brackets) and brackets[-1] == "LSQB"         # a '[' not closed yet

    if expected & _EXPECTING_OPERATOR:                        # after a subject
        subject = prev_text or ""
        if subject.lower() in ("and", "or") and len(stack) > 1:
            return fail(f"expected an expression after {stack[-2].value!r}, found the keyword {subject!r}",
                        prev_span)
        if found is None:
            name = subject.split(":", 1)[1] if subject.startswith("attribute:") else subject
            return fail(f"{subject!r} has no operator", prev_span,
                        hint=f"a simple expression is 'subject operator [argument]'; to select instances "
                             f"that have the attribute, write 'attribute:{name} exists'")
        if prev_span is not None and span.start == prev_span.end:
            return fail(f"{found[0]!r} cannot appear in a subject", Span(span.start, span.start + 1),
                        hint="subjects are letters, digits and _ . : / \\ -, e.g. attribute:ecs.instance-type")
        return fail(f"expected an operator after {subject!r}, found {found!r}",
                    hint=f"operators: {_OPERATORS}")
    if expected & _EXPECTING_VALUE:                           # after an operator, '[' or ','
        if prev_text == "[":
            if found == "]":
                return fail("empty list", prev_span.cover(span), hint="a list needs at least one item")
            if found == ",":
                return fail("list starts with a comma", hint="remove the leading ','")
        if prev_text == ",":
            if found == "]":
                return fail("trailing comma in list", prev_span, hint="remove the ',' before ']'")
            if found == ",":
                return fail("empty item in list", hint="remove the extra ','")
        if found is None:
            return fail(f"missing value after {prev_text!r}", prev_span.cover(span) if prev_span else span)
        if found == "[":
            return fail(f"{prev_text!r} takes one value, not a list",
                        hint="use 'in [a, b]' to compare with several values")
        if found in "()":
            return fail(f"a value cannot contain {found!r} unless quoted",
                        hint="quote patterns with parentheses, e.g. =~ '(m5|c5)\\..*'")
        return fail(f"unexpected {found!r} where a value was expected")
    if expected == {"LSQB"}:                                  # after in / !in
        return fail(f"{prev_text!r} takes a list in brackets", span if found else prev_span,
                    hint=f"write {prev_text} [a, b]")
    if in_list:
        if found is None:
            return fail("missing ']' to close the list")
        return fail(f"expected ',' or ']' in the list, found {found!r}",
                    hint="quote list items that contain spaces or special characters")
    if expected & {"SUBJECT", "NOT", "LPAR"}:                 # where an expression must start
        if found is None:
            if prev_text is None:
                return fail("empty expression", Span(0, len(text)))
            return fail(f"expression ends after {prev_text!r}", hint="add the expression that follows")
        if found == ")":
            return fail("unexpected ')'", hint="parentheses must enclose an expression")
        return fail(f"expected a subject, found {found!r}",
                    hint="a simple expression starts with a subject such as attribute:NAME, ec2InstanceId, "
                         "task:group, runningTasksCount, agentVersion, agentConnected or registeredAt")
    # after a complete simple expression or group
    if found is None:
        return fail("missing ')'", hint="every '(' needs a matching ')'")
    if found == ")":
        return fail("unmatched ')'", hint="remove it or add the matching '('")
    if prev_text is not None and previous.type == "UNARY_OP":
        return fail(f"{prev_text!r} takes no argument", hint=f"remove {found!r}")
    if (prev_text is not None and previous.type in _EXPECTING_VALUE and len(stack) >= 3
            and isinstance(stack[-2], Token) and stack[-2].type == "VALUE_OP"):
        problem = _after_value(text, stack[-3].value, stack[-2].value, previous, found, span)
        if problem is not None:
            return fail(*problem)
    return fail(f"expected 'and', 'or' or the end of the expression, found {found!r}",
                hint="join simple expressions with 'and' or 'or'")


_PATTERN_OPS = {"=~", "!~", "matches", "not_matches"}
_LIST_OF = {"==": "in", "equals": "in", "!=": "!in", "not_equals": "!in"}


def _after_value(text: str, subject: str, op: str, value: Token, found: str, span: Span):
    """(message, span, hint) for what follows a one-value comparison, when we can say what the
    writer meant: a pattern or value with parentheses, a list written without ``in [..]``, or a
    value with a space; ``None`` otherwise."""
    adjacent = span.start == value.end_pos
    if found in "()" and adjacent and value.type == "BARE":
        end = re.compile(r"\S*").match(text, value.start_pos).end()   # the word as it was meant
        word, where = text[value.start_pos:end], Span(value.start_pos, end)
        if op.lower() not in _PATTERN_OPS:
            return f"a value cannot contain {found!r} unless quoted", where, f"write {op} {_quoted(word)}"
        at = _unbalanced(word)
        if at is not None:
            return (f"unbalanced {word[at]!r} in the pattern {word!r}", Span(where.start + at, where.start + at + 1),
                    "a pattern with parentheses must be balanced and quoted, e.g. =~ '(m5|c5)\\..*'")
        try:
            compile_pattern(word)
        except PatternError as error:
            return f"the pattern {word!r} does not compile: {error}", where, "fix the pattern, then quote it"
        return f"a pattern with {found!r} must be quoted", where, f"write {op} {_quoted(word)}"
    if found == ",":
        listed = _LIST_OF.get(op.lower())
        hint = (f"did you mean '{subject} {listed} [{value.value}, ...]'? A value that contains a comma must be quoted"
                if listed else "a value that contains a comma must be quoted")
        return f"unexpected ',' after the value {value.value!r}", span, hint
    if not adjacent and found not in "()[]":
        return (f"expected 'and', 'or' or the end of the expression, found {found!r}", span,
                "quote values that contain spaces")
    return None


def _unbalanced(pattern: str) -> int | None:
    """Where the first unmatched parenthesis of a regular expression is (escapes and classes
    skipped), or ``None``."""
    opened, i, in_class = [], 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 1
        elif in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "(":
            opened.append(i)
        elif c == ")":
            if not opened:
                return i
            opened.pop()
        i += 1
    return opened[0] if opened else None


def _quoted(word: str) -> str:
    """``word`` as a quoted literal that reads back as ``word`` (SPEC 1.4's escapes)."""
    quote = "'" if "'" not in word else '"'
    return quote + re.sub(r"\\(?=[\\'\"]|$)", r"\\\\", word).replace(quote, "\\" + quote) + quote
