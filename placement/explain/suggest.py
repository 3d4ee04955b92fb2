"""What lint suggests instead: near values in a column's dictionary, near attribute names, the
regex a glob-like pattern should have been, the ASCII a typographic character stood for.

Everything here reads a fleet's **dictionaries** (and, once per column snapshot, a count of the
rows per code with ``numpy.bincount``), never per-instance records, so lint on a million
instances costs what its distinct values cost. A column with many distinct values (the instance
ids of a big fleet) is searched with numpy over one flat buffer of its dictionary, using the
pigeonhole filter for edit distance: a value within ``k`` edits of a literal cut into ``k + 1``
pieces contains one of the pieces unchanged at (nearly) its place; only the few values that pass
are measured exactly. Results are cached on the column object, which a fleet replaces whenever
it changes.
"""
from __future__ import annotations

import re

import numpy as np

from placement.fleet.columns import DictionaryColumn

#: Above this many dictionary entries the numpy search replaces the plain loop.
VECTOR_THRESHOLD = 512
#: Up to this many entries a column's vocabulary (its words) is worth collecting.
VOCABULARY_LIMIT = 50_000


# -- edit distance ----------------------------------------------------------------------------

def edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance of ``a`` and ``b``, or ``limit + 1`` when it is above ``limit``
    (banded: only cells within ``limit`` of the diagonal are computed)."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    if a == b:
        return 0
    over = limit + 1
    previous = [j if j <= limit else over for j in range(len(b) + 1)]
    for i in range(1, len(a) + 1):
        low, high = max(1, i - limit), min(len(b), i + limit)
        current = [over] * (len(b) + 1)
        current[0] = i if i <= limit else over
        ca = a[i - 1]
        for j in range(low, high + 1):
            cost = previous[j - 1] + (ca != b[j - 1])
            cost = min(cost, previous[j] + 1, current[j - 1] + 1)
            current[j] = cost if cost <= limit else over
        if min(current[max(0, low - 1):high + 1]) > limit:
            return over
        previous = current
    return previous[len(b)]


def word_distance(a: str, b: str) -> int:
    """Edit distance where swapping two neighbours is one edit (``lrage`` / ``large``): the
    optimal string alignment distance, for short words."""
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            row[j] = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][len(b)]


def allowed_edits(literal: str) -> int:
    """How many edits still read as a typo: none for 1-2 characters, one up to 5, else two."""
    return 0 if len(literal) < 3 else 1 if len(literal) < 6 else 2


# -- per column facts, cached on the column ---------------------------------------------------

def _cache(column, key: str, build):
    found = column.__dict__.get(key)
    if found is None:
        found = column.__dict__[key] = build()
    return found


def code_counts(column: DictionaryColumn) -> np.ndarray:
    """Rows per code (values, absent, value-less), one ``bincount`` per column snapshot."""
    return _cache(column, "_lint_counts",
                  lambda: np.bincount(column.codes, minlength=column.code_count) if len(column.codes)
                  else np.zeros(column.code_count, dtype=np.int64))


def value_count(column: DictionaryColumn, value) -> int:
    code = column.code_of(value)
    return 0 if code is None else int(code_counts(column)[code])


def entry_counts(column: DictionaryColumn) -> np.ndarray:
    """Rows per dictionary entry, in dictionary order."""
    return code_counts(column)[column.value_codes]


def has_any(column: DictionaryColumn) -> bool:
    """Whether some instance has the field (a value or value-less): two passes, no histogram."""
    def build():
        codes = column.codes
        return np.bool_(len(codes) > 0 and (int(codes.min()) != column.absent_code or
                                            int(codes.max()) != column.absent_code))
    return bool(_cache(column, "_lint_any", build))


def absent_count(column: DictionaryColumn) -> int:
    return int(code_counts(column)[column.absent_code])


def valueless_count(column: DictionaryColumn) -> int:
    return int(code_counts(column)[column.valueless_code])


def _words(text: str) -> list[str]:
    return [w for w in re.findall(r"[^\W\d_]+", text.lower()) if len(w) > 1]


def _vocabulary(column: DictionaryColumn) -> tuple[frozenset, frozenset] | None:
    """(the words of the column's values, the characters they use); None for huge columns."""
    if len(column.dictionary) > VOCABULARY_LIMIT:
        return None

    def build():
        texts = [v for v in column.dictionary if isinstance(v, str)]
        words = {w for v in texts for w in _words(v)}
        return frozenset(words), frozenset("".join(texts).lower())
    return _cache(column, "_lint_vocabulary", build)


_PIECES = re.compile(r"[^\W_]+")


def typo_sized(literal: str, value: str) -> bool:
    """Whether each word of ``literal`` is within a typo of the word of ``value`` in its place
    (one edit for a word of up to 5 characters, two beyond): ``larg`` / ``large`` is, ``west`` /
    ``east`` is not. Values that split into a different number of words pass (a lost separator)."""
    mine, theirs = _PIECES.findall(literal.lower()), _PIECES.findall(value.lower())
    if len(mine) != len(theirs):
        return True
    return all(word_distance(a, b) <= max(1, allowed_edits(a)) for a, b in zip(mine, theirs))


def _id_like(piece: str) -> bool:
    """A piece of an identifier (``0abc1234def56789``): long, letters and digits mixed."""
    return len(piece) >= 6 and any(c.isdigit() for c in piece) and any(c.isalpha() for c in piece)


def looks_misspelt(literal: str, value: str, column: DictionaryColumn) -> bool:
    """Whether ``literal``, near ``value``, reads as a misspelling of it rather than as another
    value this fleet happens to lack. Evidence of a typo: a changed piece that is part of an
    identifier (ids differ by a digit when mistyped), or a word of two or more letters, or a
    separator, that no value of the column uses. So ``c5.large`` (beside ``c5.xlarge`` and
    ``m5.large``), ``us-east-1d`` (beside ``us-east-1a``) and ``t3.small`` (beside ``t2.small``)
    are not typos; ``t3.larg``, ``x86-64`` and ``i-0abc1234def56789`` are."""
    mine, theirs = _PIECES.findall(literal.lower()), _PIECES.findall(value.lower())
    if len(mine) == len(theirs) and any(_id_like(a) for a, b in zip(mine, theirs) if a != b):
        return True
    vocabulary = _vocabulary(column)
    if vocabulary is None:
        return True
    words, characters = vocabulary
    lowered = literal.lower()
    return any(w not in words for w in _words(lowered)) or \
        any(c not in characters and not c.isalnum() for c in lowered)


# -- near values ------------------------------------------------------------------------------

def _ascii_lower(codes: np.ndarray) -> np.ndarray:
    upper = (codes >= 65) & (codes <= 90)
    codes[upper] += 32
    return codes


def _buffer(column: DictionaryColumn):
    """(flat code points of the dictionary, ASCII-lowered; the same seen 8 bytes at a time from
    every position; start of each entry; its length)."""
    def build():
        texts = column.dictionary
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        starts = np.zeros(len(texts), dtype=np.int64)
        np.cumsum(lengths[:-1], out=starts[1:])
        joined = "".join(texts)
        try:
            flat = np.frombuffer(joined.encode("latin-1"), dtype=np.uint8)
        except UnicodeEncodeError:
            flat = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
        flat = _ascii_lower(np.concatenate([flat, np.zeros(8 // flat.itemsize, dtype=flat.dtype)]))
        # an unaligned view: wide[i] is the 8 bytes from flat[i] on, so one gather tests a few characters
        wide = np.ndarray(shape=(len(flat) - 8 // flat.itemsize + 1,), dtype="<u8", buffer=flat.data,
                          strides=(flat.itemsize,))
        return flat, wide, starts, lengths
    return _cache(column, "_lint_buffer", build)


def _candidates(column: DictionaryColumn, literal: str, limit: int) -> np.ndarray:
    """Dictionary positions that may lie within ``limit`` edits of ``literal`` (case aside):
    a superset, found with numpy (the pigeonhole filter)."""
    flat, wide, starts, lengths = _buffer(column)
    size = len(literal)
    rows = np.flatnonzero(np.abs(lengths - size) <= limit)
    if limit and size <= limit + 1:
        return rows                           # too short to cut: every entry of a fitting length
    target = [ord(c) + 32 if "A" <= c <= "Z" else ord(c) for c in literal]
    bits = 8 * flat.itemsize
    per = 8 // flat.itemsize                  # characters per 8-byte gather
    cuts = [size * p // (limit + 1) for p in range(limit + 2)]
    found = np.zeros(0, dtype=np.int64)
    row_starts, row_lengths = starts[rows], lengths[rows]
    shortest = int(row_lengths.min()) if len(rows) else 0
    for p in range(limit + 1):
        piece = target[cuts[p]:cuts[p + 1]]
        if max(piece) >> bits:
            continue                          # a character the dictionary's encoding cannot hold
        words = []                            # (offset in the piece, bits to compare, their value)
        for at in range(0, len(piece), per):
            chunk = piece[at:at + per]
            words.append((at, np.uint64((1 << (bits * len(chunk))) - 1 if len(chunk) < per else (1 << 64) - 1),
                          np.uint64(sum(code << (bits * k) for k, code in enumerate(chunk)))))
        if p == 0:
            anchors = [0]                     # the first piece starts the value
        elif p == limit:
            anchors = [None]                  # the last one ends it
        else:                                 # a middle one moves by the edits before it
            anchors = [cuts[p] + shift for shift in range(-limit, limit + 1)]
        for anchor in anchors:
            if anchor is not None and anchor < 0:
                continue
            need = len(piece) + (anchor or 0)
            alive, first, length = (rows, row_starts, row_lengths) if shortest >= need else \
                (rows[row_lengths >= need], row_starts[row_lengths >= need], row_lengths[row_lengths >= need])
            base = first + length - len(piece) if anchor is None else first + anchor
            for at, mask, value in words:
                keep = (wide[base + at] & mask) == value
                alive, base = alive[keep], base[keep]
                if not len(alive):
                    break
            found = np.union1d(found, alive)
    return found


def near_values(column: DictionaryColumn, literal: str, limit: int) -> list[tuple[int, int, str]]:
    """Values some instance has within ``limit`` edits of ``literal``, compared without case:
    ``(distance, -rows, value)`` sorted nearest and commonest first. Distance 0 is a value
    equal but for case."""
    texts = column.dictionary
    counts = entry_counts(column)
    if len(texts) > VECTOR_THRESHOLD:
        positions = _candidates(column, literal, limit).tolist()
    else:
        positions = [i for i, v in enumerate(texts) if isinstance(v, str) and abs(len(v) - len(literal)) <= limit]
    lowered = literal.lower()
    out = []
    for i in positions:
        value = texts[i]
        if value == literal or not counts[i]:
            continue
        distance = edit_distance(lowered, value.lower(), limit)
        if distance <= limit:
            out.append((distance, -int(counts[i]), value))
    return sorted(out)


# -- attribute names --------------------------------------------------------------------------

def near_names(name: str, names) -> list[str]:
    """Attribute names like ``name``: equal but for case, within a couple of edits (``os-tpye``),
    or the same name under another dotted prefix (``instance-type`` -> ``ecs.instance-type``)."""
    lowered = name.lower()
    limit = 1 if len(lowered.rsplit(".", 1)[-1]) < 5 else 2
    scored = []
    tail = lowered.rsplit(".", 1)[-1]
    for other in names:
        low = other.lower()
        if low == lowered:
            scored.append((0, other))
            continue
        distance = edit_distance(lowered, low, limit)
        if distance <= limit:
            scored.append((distance, other))
        elif low.endswith("." + lowered) or \
                (len(tail) > 5 and "." in low and low.rsplit(".", 1)[-1] == tail and "." in lowered):
            scored.append((limit + 1, other))
    return [other for _, other in sorted(scored)[:3]]


# -- glob-like patterns -----------------------------------------------------------------------

_PLAIN = re.compile(r"[\w\-:/@%#=,;'\"]")


def glob_stars(pattern: str) -> list[int]:
    """Positions of the ``*`` that repeat one plain character, the way a glob's ``*`` never
    does: ``g4*``, ``us-east-1*``, ``web-*-prod``; not ``.*``, ``\\d*``, ``(a|b)*``, ``[a-z]*``."""
    stars, i, in_class = [], 0, False
    previous_plain = False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            previous_plain = False
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "*" and previous_plain:
            stars.append(i)
        previous_plain = not in_class and c != "[" and bool(_PLAIN.fullmatch(c))
        i += 1
    return stars


def glob_rewrite(pattern: str, stars: list[int]) -> str:
    out, last = [], 0
    for at in stars:
        out.append(pattern[last:at] + ".*")
        last = at + 1
    out.append(pattern[last:])
    return "".join(out)


# -- typographic characters -------------------------------------------------------------------

TYPOGRAPHIC = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u00ab": '"', "\u00bb": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
    "\u2212": "-", "\ufe58": "-", "\ufe63": "-", "\uff0d": "-",
}
_NAMES = {"'": "quote", '"': "quote", "-": "dash"}


def typographic(text: str) -> list[str]:
    """The typographic characters in ``text``, in order of first appearance."""
    seen: list[str] = []
    for c in text:
        if c in TYPOGRAPHIC and c not in seen:
            seen.append(c)
    return seen


def ascii_text(text: str) -> str:
    return "".join(TYPOGRAPHIC.get(c, c) for c in text)


def describe_typographic(chars: list[str]) -> str:
    import unicodedata
    return ", ".join(f"{c} ({unicodedata.name(c, f'U+{ord(c):04X}').lower()}, for ASCII {_NAMES[TYPOGRAPHIC[c]]} "
                     f"{TYPOGRAPHIC[c]})" for c in chars)
