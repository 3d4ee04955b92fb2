"""Walking expression trees without recursion: the AST, the IR, plans and explanations.

SPEC 1.1 limits an expression's length, not its depth, so within a raised limit an expression
can nest 10,000 levels deep, far past Python's recursion limit. Every stage therefore walks its
trees with the explicit stacks here. A node class names the field that holds its child nodes in
``CHILDREN``; ``Compound`` gives such a class an equality that compares two trees side by side,
a hash that is computed once per node and a repr written from a stack, so comparing, hashing,
caching (the plan cache is keyed by the simplified expression) or printing a deep tree does not
recurse either.
"""
from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterator


def children(node) -> tuple:
    """The child nodes of ``node``: the field its class names in ``CHILDREN``; none for a leaf."""
    name = getattr(type(node), "CHILDREN", None)
    if name is None:
        return ()
    value = getattr(node, name)
    return value if isinstance(value, tuple) else (value,)


def fold(root, combine: Callable, kids: Callable = children):
    """``combine(node, results)`` for every node, the results of its children (``kids(node)``)
    computed first: one bottom-up pass, in post-order; returns the root's result."""
    results: list = []
    stack: list = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        below = kids(node)
        if expanded or not below:
            if below:
                operands = results[len(results) - len(below):]
                del results[len(results) - len(below):]
            else:
                operands = []
            results.append(combine(node, operands))
        else:
            stack.append((node, True))
            stack.extend((kid, False) for kid in reversed(below))
    return results[0]


def preorder(root, kids: Callable = children) -> Iterator[tuple[object, int | None]]:
    """Every node with the position of its parent in this order (None for the root): parents
    before children, children left to right, the order plans and kernels number nodes in."""
    stack: list = [(root, None)]
    position = 0
    while stack:
        node, parent = stack.pop()
        yield node, parent
        stack.extend((kid, position) for kid in reversed(kids(node)))
        position += 1


def text(root, pieces: Callable) -> str:
    """The text of a tree: ``pieces(node)`` lists the node's text in order, as strings and child
    nodes; joined once at the end, so a deep tree's text costs its length, not length x depth."""
    out: list[str] = []
    stack: list = [root]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
        else:
            stack.extend(reversed(pieces(item)))
    return "".join(out)


@functools.cache
def _own_fields(cls) -> tuple[str, ...]:
    """The fields equality compares, besides the children."""
    return tuple(f.name for f in dataclasses.fields(cls) if f.compare and f.name != cls.CHILDREN)


class Compound:
    """Equality, hash and repr for a frozen dataclass (declared ``eq=False, repr=False``) whose
    ``CHILDREN`` field holds child nodes. The hash is computed when first asked, bottom-up over
    the nodes not yet hashed, and kept on the node (nodes are immutable); it is left out of
    pickles, since another process hashes strings differently. The repr is the dataclass one."""

    def _own(self) -> tuple:
        return tuple(getattr(self, name) for name in _own_fields(type(self)))

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        pairs = [(self, other)]
        while pairs:
            a, b = pairs.pop()
            if a is b:
                continue
            if not isinstance(a, Compound):
                if a != b:
                    return False
                continue
            if type(a) is not type(b) or a._own() != b._own():
                return False
            left, right = children(a), children(b)
            if len(left) != len(right):
                return False
            pairs.extend(zip(left, right))
        return True

    def __hash__(self):
        known = self.__dict__.get("_hash")
        if known is not None:
            return known
        stack = [self]
        while stack:
            node = stack[-1]
            if "_hash" in node.__dict__:
                stack.pop()
                continue
            pending = [kid for kid in children(node) if isinstance(kid, Compound) and "_hash" not in kid.__dict__]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            object.__setattr__(node, "_hash", hash((type(node), node._own(), tuple(map(hash, children(node))))))
        return self.__dict__["_hash"]

    def __repr__(self) -> str:
        return text(self, _repr_pieces)

    def __getstate__(self):
        return {name: value for name, value in self.__dict__.items() if name != "_hash"}


def _repr_pieces(node) -> list:
    """The pieces of the repr a dataclass would write, children left for ``text`` to expand."""
    if not isinstance(node, Compound):
        return [repr(node)]
    out: list = [type(node).__qualname__ + "("]
    for k, f in enumerate(f for f in dataclasses.fields(node) if f.repr):
        value = getattr(node, f.name)
        out.append(("" if k == 0 else ", ") + f.name + "=")
        if f.name != node.CHILDREN:
            out.append(repr(value))
        elif not isinstance(value, tuple):
            out.append(value)
        else:
            out.append("(")
            for i, child in enumerate(value):
                out.extend((", ", child) if i else (child,))
            out.append(",)" if len(value) == 1 else ")")
    out.append(")")
    return out
