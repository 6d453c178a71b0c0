"""Conditions: a tiny expression language, parsed by hand and compiled to closures (no eval)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .model import FATES, PLAYER, STAGES
from .state import CARRIER, CLEAN, FATE_CODE, GONE_CODES

KEYWORDS = {"and", "or", "not", "has", "with", "is", "are", "true", "false"}
COMPARISONS = {"<", "<=", "==", "!=", ">=", ">"}
FATE_WORDS = set(FATES) | {"alive"}
STAGE_WORDS = set(STAGES) | {"infected"}

_TOKEN = re.compile(
    r"\s*(?:(?P<num>-?\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_.\-]*)|(?P<op><=|>=|==|!=|<|>|=|\(|\)))"
)


class ConditionError(Exception):
    """A condition that cannot be parsed or names something undeclared."""

    def __init__(self, message: str, offset: int, rule: str = "condition-syntax"):
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.rule = rule


@dataclass
class Names:
    """What a condition may name, and what compiling it needs to know (from the manifest)."""

    items: set = field(default_factory=set)
    flags: set = field(default_factory=set)
    counters: dict = field(default_factory=dict)  # id -> index
    characters: dict = field(default_factory=dict)  # id -> index
    turns: dict = field(default_factory=dict)  # person id -> turns until turned
    feverish: int = 3
    turning: int = 6
    layout: object = None  # state.Layout: where compiled conditions find each value
    memo: dict = field(default_factory=dict, repr=False, compare=False)  # source -> understood (see understand)

    @classmethod
    def from_story(cls, story) -> "Names":
        """The names a loaded story declares (for conditions written outside it: scripts, tools)."""
        turns = {c.id: story.person_turns(c.id) for c in story.characters}
        turns[PLAYER] = story.person_turns(PLAYER)
        return cls(
            items={i.id for i in story.items},
            flags={f.id for f in story.flags},
            counters=dict(story.counter_index),
            characters=dict(story.character_index),
            turns=turns,
            feverish=story.infection.feverish,
            turning=story.infection.turning,
            layout=story.layout,
        )

    def kind_of(self, name: str) -> str | None:
        if name in self.items:
            return "item"
        if name in self.flags:
            return "flag"
        if name in self.counters or name == "turn":
            return "counter"
        if name in self.characters or name == PLAYER:
            return "character"
        return None

    def all_names(self) -> list:
        return [*self.items, *self.flags, *self.counters, *self.characters, PLAYER, "turn"]


def tokenize(source: str) -> list:
    tokens = []
    pos = 0
    source = source.rstrip()
    while pos < len(source):
        m = _TOKEN.match(source, pos)
        if m is None or m.end() == pos:
            bad = len(source) - len(source[pos:].lstrip())
            raise ConditionError(
                f"unexpected character {source[bad]!r} in condition; expected a name, a number, "
                "a comparison or a parenthesis",
                bad,
            )
        kind = m.lastgroup
        text = m.group(kind)
        tokens.append((kind, text, m.start(kind)))
        pos = m.end()
    tokens.append(("end", "", len(source)))
    return tokens


class _Parser:
    def __init__(self, source: str):
        self.source = source
        self.tokens = tokenize(source)
        self.i = 0

    def peek(self):
        return self.tokens[self.i]

    def take(self):
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def word(self, text: str) -> bool:
        kind, value, _ = self.peek()
        if kind == "name" and value == text:
            self.i += 1
            return True
        return False

    def parse(self) -> tuple:
        kind, _, _ = self.peek()
        if kind == "end":
            raise ConditionError("empty condition; expected something like `has mop` or `noise < 3`", 0)
        tree = self.parse_or()
        kind, value, off = self.peek()
        if kind != "end":
            raise ConditionError(
                f"unexpected {value!r} after a complete condition; expected `and`, `or` or the end", off
            )
        return tree

    def parse_or(self):
        parts = [self.parse_and()]
        while self.word("or"):
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else ("or", *parts)

    def parse_and(self):
        parts = [self.parse_not()]
        while self.word("and"):
            parts.append(self.parse_not())
        return parts[0] if len(parts) == 1 else ("and", *parts)

    def parse_not(self):
        if self.word("not"):
            return ("not", self.parse_not())
        return self.parse_atom()

    def expect_name(self, after: str):
        kind, value, off = self.take()
        if kind != "name" or value in KEYWORDS:
            found = value or "the end"
            raise ConditionError(f"expected a name after `{after}`, found {found!r}", off)
        return value, off

    def parse_atom(self):
        kind, value, off = self.take()
        if kind == "op" and value == "(":
            inner = self.parse_or()
            kind2, value2, off2 = self.take()
            if value2 != ")":
                raise ConditionError(f"expected `)` to close the `(` at column {off + 1}, found {value2 or 'the end'!r}", off2)
            return inner
        if kind != "name":
            raise ConditionError(
                f"expected a condition, found {value or 'the end'!r}; "
                "hint: conditions look like `has mop`, `with on-jo`, `noise >= 3`",
                off,
            )
        if value == "true":
            return ("true",)
        if value == "false":
            return ("false",)
        if value == "has":
            name, noff = self.expect_name("has")
            return ("has", name, noff)
        if value == "with":
            name, noff = self.expect_name("with")
            return ("with", name, noff)
        if value in KEYWORDS:
            raise ConditionError(f"`{value}` cannot start a condition", off)
        nkind, nvalue, noff = self.peek()
        if nkind == "name" and nvalue in ("is", "are"):
            self.i += 1
            negate = self.word("not")
            wkind, word, woff = self.take()
            if wkind != "name":
                raise ConditionError(
                    f"expected a fate or an infection stage after `{nvalue}`, found {word or 'the end'!r}", woff
                )
            if word in STAGE_WORDS and (value == PLAYER or word not in FATE_WORDS):
                tree = ("stage", value, word, off)  # `you are turned` asks about your stage: you have no fate
            elif word in FATE_WORDS:
                tree = ("fate", value, word, off)
            else:
                raise ConditionError(
                    f"expected a fate ({', '.join(sorted(FATE_WORDS))}) or an infection stage "
                    f"({', '.join(sorted(STAGE_WORDS))}) after `{nvalue}`, found {word!r}"
                    + _did_you_mean(word, FATE_WORDS | STAGE_WORDS),
                    woff,
                )
            return ("not", tree) if negate else tree
        if nkind == "op" and nvalue in COMPARISONS | {"="}:
            if nvalue == "=":
                raise ConditionError("`=` is not a comparison; hint: did you mean `==`?", noff)
            self.i += 1
            vkind, number, voff = self.take()
            if vkind != "num":
                raise ConditionError(f"expected a whole number after `{nvalue}`, found {number or 'the end'!r}", voff)
            return ("cmp", value, nvalue, int(number), off)
        return ("flag", value, off)


def understand(source: str, names: Names) -> tuple:
    """(tree or None, errors, compiled test or None, names read) for a condition's text.

    Remembered per Names, as a story repeats its conditions (`noise < 5` on many choices);
    the errors carry offsets into `source`, for the caller to locate.
    """
    found = names.memo.get(source)
    if found is None:
        try:
            tree = parse(source)
        except ConditionError as err:
            found = (None, [err], None, frozenset())
        else:
            bad = check_names(tree, names)
            found = (tree, bad, None if bad else compile_tree(tree, names), names_in(tree))
        names.memo[source] = found
    return found


def parse(source: str) -> tuple:
    """The syntax tree of a condition, or ConditionError with an offset into `source`."""
    return _Parser(source).parse()


def _did_you_mean(name: str, candidates) -> str:
    import difflib

    close = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def check_names(tree: tuple, names: Names) -> list:
    """Every undeclared or misused name in a tree, as ConditionErrors."""
    errors: list = []
    _check(tree, names, errors)
    return errors


def _check(tree, names: Names, errors: list) -> None:
    op = tree[0]
    if op in ("and", "or"):
        for sub in tree[1:]:
            _check(sub, names, errors)
    elif op == "not":
        _check(tree[1], names, errors)
    elif op == "has":
        _expect(tree[1], "item", tree[2], names, errors, names.items)
    elif op == "with":
        _expect(tree[1], "character", tree[2], names, errors, names.characters)
        if tree[1] == PLAYER:
            errors.append(ConditionError("`with you` is always true; expected a character", tree[2], "condition-meaning"))
    elif op == "fate":
        _expect(tree[1], "character", tree[3], names, errors, [*names.characters, PLAYER])
        if tree[1] == PLAYER:
            errors.append(ConditionError(
                f"`you` has no fate to test; expected a character before `is {tree[2]}`", tree[3], "condition-meaning"
            ))
    elif op == "stage":
        _expect(tree[1], "character", tree[3], names, errors, [*names.characters, PLAYER])
    elif op == "cmp":
        _expect(tree[1], "counter", tree[4], names, errors, [*names.counters, "turn"])
    elif op == "flag":
        _expect(tree[1], "flag", tree[2], names, errors, names.flags)


def _expect(name, kind, offset, names: Names, errors: list, pool) -> None:
    found = names.kind_of(name)
    if found == kind:
        return
    if found is None:
        hint = (_did_you_mean(name, pool) or _did_you_mean(name, names.all_names())
                or f"; hint: declare it under {kind}s: in story.yaml")
        errors.append(ConditionError(f"undeclared {kind} {name!r}{hint}", offset, "undeclared-name"))
        return
    usage = {"item": f"has {name}", "character": f"with {name}", "flag": name, "counter": f"{name} >= 1"}[found]
    errors.append(ConditionError(
        f"{name!r} is {'an' if found[0] in 'aeiou' else 'a'} {found}, not {'an' if kind[0] in 'aeiou' else 'a'} {kind}; "
        f"hint: test it as `{usage}`", offset, "wrong-kind"
    ))


def compile_tree(tree: tuple, names: Names):
    """A function of a GameState that evaluates the (already checked) tree.

    It reads the state's packed bits, at the places `names.layout` gives.
    """
    op = tree[0]
    if op == "true":
        return lambda s: True
    if op == "false":
        return lambda s: False
    if op == "and":
        subs = tuple(compile_tree(t, names) for t in tree[1:])
        if len(subs) == 2:
            a, b = subs
            return lambda s: a(s) and b(s)
        return lambda s: all(f(s) for f in subs)
    if op == "or":
        subs = tuple(compile_tree(t, names) for t in tree[1:])
        if len(subs) == 2:
            a, b = subs
            return lambda s: a(s) or b(s)
        return lambda s: any(f(s) for f in subs)
    if op == "not":
        inner = compile_tree(tree[1], names)
        return lambda s: not inner(s)
    layout = names.layout
    if op == "has":
        bit = layout.item_bit[tree[1]]
        return lambda s: s.bits & bit != 0
    if op == "flag":
        bit = layout.flag_bit[tree[1]]
        return lambda s: s.bits & bit != 0
    if op in ("with", "fate"):
        shift = layout.fate_shifts[names.characters[tree[1]]]
        word = "in-group" if op == "with" else tree[2]
        if word == "alive":
            return lambda s: (s.bits >> shift) & 7 not in GONE_CODES
        code = FATE_CODE[word]
        return lambda s: (s.bits >> shift) & 7 == code
    if op == "cmp":
        return _compile_cmp(tree, names)
    if op == "stage":
        return _compile_stage(tree[1], tree[2], names)
    raise ValueError(f"unknown condition node {op!r}")


def _compile_cmp(tree, names: Names):
    _, name, cmp, number, _ = tree
    if name == "turn":
        return {
            "<": lambda s: s.turn < number,
            "<=": lambda s: s.turn <= number,
            "==": lambda s: s.turn == number,
            "!=": lambda s: s.turn != number,
            ">=": lambda s: s.turn >= number,
            ">": lambda s: s.turn > number,
        }[cmp]
    shift, mask, low, _ = names.layout.counter_fields[names.counters[name]]
    n = number - low  # the field holds value - min
    return {
        "<": lambda s: (s.bits >> shift) & mask < n,
        "<=": lambda s: (s.bits >> shift) & mask <= n,
        "==": lambda s: (s.bits >> shift) & mask == n,
        "!=": lambda s: (s.bits >> shift) & mask != n,
        ">=": lambda s: (s.bits >> shift) & mask >= n,
        ">": lambda s: (s.bits >> shift) & mask > n,
    }[cmp]


def _compile_stage(who: str, word: str, names: Names):
    """Stages read the clock field, which holds the clock + 2 (carrier 0, clean 1, bitten from 2)."""
    layout = names.layout
    top = names.turns[who] + 2
    cm = layout.clock_mask
    if who == PLAYER:
        cs = layout.clock_shifts[0]
        is_turned = lambda s: (s.bits >> cs) & cm >= top  # noqa: E731
    else:
        c = names.characters[who]
        cs = layout.clock_shifts[1 + c]
        fs = layout.fate_shifts[c]
        turned = FATE_CODE["turned"]
        is_turned = lambda s: (s.bits >> fs) & 7 == turned or (s.bits >> cs) & cm >= top  # noqa: E731
    low = {"bitten": 0, "feverish": names.feverish, "turning": names.turning}
    if word in low:
        start = low[word] + 2
        return lambda s: start <= (s.bits >> cs) & cm and not is_turned(s)
    if word == "turned":
        return is_turned
    if word == "carrier":
        carrier = CARRIER + 2
        return lambda s: (s.bits >> cs) & cm == carrier
    clean = CLEAN + 2
    if word == "clean":
        return lambda s: (s.bits >> cs) & cm == clean and not is_turned(s)
    if word == "infected":
        return lambda s: (s.bits >> cs) & cm != clean or is_turned(s)
    raise ValueError(f"unknown stage {word!r}")


def names_in(tree: tuple) -> frozenset:
    """The ids a tree reads (for the checker and the explorer)."""
    out: set = set()

    def walk(t):
        op = t[0]
        if op in ("and", "or"):
            for sub in t[1:]:
                walk(sub)
        elif op == "not":
            walk(t[1])
        elif op in ("has", "with", "fate", "stage", "cmp", "flag"):
            out.add(t[1])

    walk(tree)
    return frozenset(out)
