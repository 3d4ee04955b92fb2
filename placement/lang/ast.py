"""Stage 1 output: the typed syntax tree of an expression, and its canonical printer.

Nodes are frozen dataclasses. Every node carries the ``Span`` of the text it came from; spans
(and whether a literal was quoted) are left out of equality, so ``parse(to_text(tree)) == tree``
compares meaning-bearing structure only. ``and`` / ``or`` are n-ary as written: a chain is one
node, a parenthesised compound inside another compound stays a nested node. Compound nodes
compare, hash and print without recursion (``placement.lang.trees``): nesting is not limited.
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

from placement.errors import Span
from placement.lang import trees


class Op(enum.Enum):
    """Operators, named by their canonical spelling."""

    EQ = "=="
    NE = "!="
    GT = ">"
    GE = ">="
    LT = "<"
    LE = "<="
    EXISTS = "exists"
    NOT_EXISTS = "!exists"
    IN = "in"
    NOT_IN = "!in"
    MATCHES = "=~"
    NOT_MATCHES = "!~"

    @property
    def takes_list(self) -> bool:
        return self in (Op.IN, Op.NOT_IN)

    @property
    def is_unary(self) -> bool:
        return self in (Op.EXISTS, Op.NOT_EXISTS)


#: Every spelling of every operator, lower-cased (keywords are case-insensitive).
OP_SPELLINGS: dict[str, Op] = {
    "==": Op.EQ, "equals": Op.EQ,
    "!=": Op.NE, "not_equals": Op.NE,
    ">": Op.GT, "greater_than": Op.GT,
    ">=": Op.GE, "greater_than_equal": Op.GE,
    "<": Op.LT, "less_than": Op.LT,
    "<=": Op.LE, "less_than_equal": Op.LE,
    "exists": Op.EXISTS,
    "!exists": Op.NOT_EXISTS, "not_exists": Op.NOT_EXISTS,
    "in": Op.IN,
    "!in": Op.NOT_IN, "not_in": Op.NOT_IN,
    "=~": Op.MATCHES, "matches": Op.MATCHES,
    "!~": Op.NOT_MATCHES, "not_matches": Op.NOT_MATCHES,
}


@dataclass(frozen=True)
class Literal:
    """An argument as written: ``value`` is the text after unquoting."""

    value: str
    span: Span = field(compare=False)
    quoted: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class Comparison:
    """A simple expression ``subject operator [argument]``."""

    subject: str
    op: Op
    args: tuple[Literal, ...]          # empty for exists / !exists, one item unless op takes a list
    span: Span = field(compare=False)
    subject_span: Span = field(compare=False)
    op_span: Span = field(compare=False)


@dataclass(frozen=True, eq=False, repr=False)
class Not(trees.Compound):
    CHILDREN = "operand"
    operand: "Expr"
    span: Span = field(compare=False)


@dataclass(frozen=True, eq=False, repr=False)
class And(trees.Compound):
    CHILDREN = "operands"
    operands: tuple["Expr", ...]
    span: Span = field(compare=False)


@dataclass(frozen=True, eq=False, repr=False)
class Or(trees.Compound):
    CHILDREN = "operands"
    operands: tuple["Expr", ...]
    span: Span = field(compare=False)


Expr = Comparison | Not | And | Or

# A literal can be printed bare when the lexer would read it back as one bare word.
_BARE_WORD = re.compile(r"(?:[^\s()\[\],'\"&|]|&(?!&)|\|(?!\|))+\Z")


def literal_text(value: str) -> str:
    """``value`` as it must be written in an expression: bare when possible, else single-quoted."""
    if _BARE_WORD.match(value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def to_text(node: Expr) -> str:
    """The canonical form: one spelling per operator, ``not(...)``, compounds in compounds parenthesised."""
    return trees.text(node, _pieces)


def _pieces(node: Expr) -> list:
    if isinstance(node, Comparison):
        if node.op.is_unary:
            return [f"{node.subject} {node.op.value}"]
        if node.op.takes_list:
            items = ", ".join(literal_text(a.value) for a in node.args)
            return [f"{node.subject} {node.op.value} [{items}]"]
        return [f"{node.subject} {node.op.value} {literal_text(node.args[0].value)}"]
    if isinstance(node, Not):
        return ["not(", node.operand, ")"]
    return junction_pieces(node.operands, " and " if isinstance(node, And) else " or ", (And, Or))


def junction_pieces(operands: tuple, word: str, compounds: tuple[type, ...]) -> list:
    """The pieces of ``a and b and (c or d)``: operands joined by ``word``, a compound one
    parenthesised (the AST's and the IR's printers share this)."""
    pieces: list = []
    for operand in operands:
        if pieces:
            pieces.append(word)
        pieces.extend(("(", operand, ")") if isinstance(operand, compounds) else (operand,))
    return pieces
