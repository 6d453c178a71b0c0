"""A sound static analysis of a story: what may hold at each node, and what that proves, without playing it."""

from __future__ import annotations

import heapq
import math
import operator
from dataclasses import dataclass, field
from typing import Optional

from .model import FATES, PLAYER, Story

TRUE, FALSE, MAYBE = "true", "false", "maybe"

FATE_BIT = {fate: 1 << i for i, fate in enumerate(FATES)}
ALL_FATES = (1 << len(FATES)) - 1
IN_GROUP = FATE_BIT["in-group"]
DEAD = FATE_BIT["dead"]
TURNED = FATE_BIT["turned"]
GONE = DEAD | TURNED
LIVING = ALL_FATES & ~GONE
CARRIER_BIT = 1  # a clock is a mask: bit v + 2 stands for the value v (CARRIER -2, CLEAN -1, 0..turns)
CLEAN_BIT = 2
WIDEN_AFTER = 3  # passes over a node before what arrives there widens its counters and turn to their bounds
MAX_CASES = 4096  # cases looked at to decide conditions over an abstract state
TRUE_TREE = ("true",)


@dataclass(frozen=True, slots=True)
class Abstract:
    """An over-approximation of the states at a node: each variable's possible values, independently."""

    held: int  # bit i: item i may be carried
    missing: int  # bit i: item i may not be carried
    raised: int  # bit i: flag i may be set
    lowered: int  # bit i: flag i may be clear
    counters: tuple  # ((lo, hi), ...) per counter
    fates: tuple  # a mask of FATE_BIT per character
    clocks: tuple  # a clock mask per person, the player first
    turn: tuple  # (lo, hi); hi may be math.inf


@dataclass(frozen=True, slots=True)
class Layout:
    """Where each declared name lives in an Abstract, and the story's clock limits."""

    items: dict  # id -> bit index
    flags: dict
    counters: dict  # id -> index
    bounds: tuple  # (min, max) per counter
    characters: dict  # id -> index
    limits: tuple  # turns until turned, per person (player first)
    feverish: int
    turning: int
    # (clocks, fates) -> the same after a choice's tick; the analysis ticks the same few combinations
    # thousands of times. Filled as it runs; never part of what the layout is.
    ticks: dict = field(default_factory=dict, compare=False, repr=False)

    def person(self, who: str) -> int:
        return 0 if who == PLAYER else 1 + self.characters[who]


@dataclass(frozen=True, slots=True)
class Edge:
    """One way out of a node in its abstract state: a choice, maybe an outcome, and where it leads."""

    choice: object
    outcome: object  # Outcome or None
    target: str
    pre: Optional[Abstract]  # the node's state where the choice (and outcome) can be taken; None: never
    post: Optional[Abstract]  # at the target after its entry effects, when the player stays there
    stays: bool  # False when a trigger or the player's turning always sends the player on
    diversions: tuple  # ((node id, Abstract, cause), ...): a trigger (its index) or "turned" may send the player
    blocked: object = None  # the Condition that rules the edge out, when pre is None


@dataclass(frozen=True)
class Analysis:
    """What the analysis proved. A node absent from `states` is unreachable."""

    states: dict  # node id -> Abstract
    unreachable: dict  # node id -> why, in a few words
    never_true: tuple  # ((Condition, why), ...): conditions never true where they are tested
    no_dead_end: frozenset  # nodes where some choice is offered in every possible state
    no_trap: frozenset  # nodes from whose every possible state an ending can be reached
    outcome_safe: frozenset  # (node id, choice key): random choices that always have an outcome when offered
    layout: Layout


# -- the abstract state ------------------------------------------------------------------------


def layout_of(story: Story) -> Layout:
    return Layout(
        items={item.id: i for i, item in enumerate(story.items)},
        flags={flag.id: i for i, flag in enumerate(story.flags)},
        counters=dict(story.counter_index),
        bounds=tuple((c.min, c.max) for c in story.counters),
        characters=dict(story.character_index),
        limits=(story.person_turns(PLAYER),) + tuple(story.person_turns(c.id) for c in story.characters),
        feverish=story.infection.feverish,
        turning=story.infection.turning,
    )


def initial(story: Story, lay: Layout) -> Abstract:
    """The one state before the first choice, the start node's entry effects applied."""
    all_items = (1 << len(story.items)) - 1
    held = sum(1 << lay.items[i] for i in set(story.start_items))
    raised = sum(1 << lay.flags[f.id] for f in story.flags if f.start)
    all_flags = (1 << len(story.flags)) - 1
    state = Abstract(
        held=held, missing=all_items & ~held, raised=raised, lowered=all_flags & ~raised,
        counters=tuple((c.start, c.start) for c in story.counters),
        fates=tuple(FATE_BIT[c.fate] for c in story.characters),
        clocks=(CLEAN_BIT,) * (1 + len(story.characters)),
        turn=(0, 0),
    )
    return apply_effects(state, story.nodes[story.start].effects, lay)


def join(a: Abstract, b: Abstract) -> Abstract:
    """The least state holding both; `a` itself when it already holds `b` (the fixpoint's common case)."""
    if a is b:
        return a
    held, missing, raised, lowered = a.held | b.held, a.missing | b.missing, a.raised | b.raised, a.lowered | b.lowered
    counters = a.counters if a.counters == b.counters else tuple(map(_span, a.counters, b.counters))
    fates = a.fates if a.fates == b.fates else tuple(map(operator.or_, a.fates, b.fates))
    clocks = a.clocks if a.clocks == b.clocks else tuple(map(operator.or_, a.clocks, b.clocks))
    turn = a.turn if a.turn == b.turn else _span(a.turn, b.turn)
    if (held == a.held and missing == a.missing and raised == a.raised and lowered == a.lowered
            and counters == a.counters and fates == a.fates and clocks == a.clocks and turn == a.turn):
        return a
    return Abstract(held, missing, raised, lowered, counters, fates, clocks, turn)


def _span(x: tuple, y: tuple) -> tuple:
    """The smallest interval holding two intervals."""
    return (min(x[0], y[0]), max(x[1], y[1]))


def _join_all(states) -> Optional[Abstract]:
    out = None
    for s in states:
        if s is not None:
            out = s if out is None else join(out, s)
    return out


def widen(old: Abstract, new: Abstract, lay: Layout) -> Abstract:
    """`new` (which contains `old`) with every growing interval pushed to its bound, so the fixpoint ends."""
    counters = tuple(
        (o[0] if n[0] >= o[0] else lo, o[1] if n[1] <= o[1] else hi)
        for o, n, (lo, hi) in zip(old.counters, new.counters, lay.bounds)
    )
    turn = (old.turn[0] if new.turn[0] >= old.turn[0] else 0, old.turn[1] if new.turn[1] <= old.turn[1] else math.inf)
    return Abstract(new.held, new.missing, new.raised, new.lowered, counters, new.fates, new.clocks, turn)


def _values(mask: int) -> list:
    """The clock values in a clock mask."""
    out = []
    v = -2
    while mask:
        if mask & 1:
            out.append(v)
        mask >>= 1
        v += 1
    return out


def _bit(value: int) -> int:
    return 1 << (value + 2)


# -- effects -----------------------------------------------------------------------------------


class _Work:
    """A mutable copy of an Abstract for the length of one transfer."""

    __slots__ = ("held", "missing", "raised", "lowered", "counters", "fates", "clocks", "turn")

    def __init__(self, a: Abstract):
        self.held, self.missing, self.raised, self.lowered = a.held, a.missing, a.raised, a.lowered
        self.counters = list(a.counters)
        self.fates = list(a.fates)
        self.clocks = list(a.clocks)
        self.turn = a.turn

    def freeze(self) -> Abstract:
        return Abstract(self.held, self.missing, self.raised, self.lowered, tuple(self.counters), tuple(self.fates),
                        tuple(self.clocks), self.turn)


def apply_effects(a: Abstract, effects, lay: Layout) -> Abstract:
    if not effects:
        return a
    work = _Work(a)
    for effect in effects:
        _apply(work, effect, lay)
    return work.freeze()


def _apply(w: _Work, e, lay: Layout) -> None:
    op = e.op
    if op == "gain":
        bit = 1 << lay.items[e.target]
        w.held |= bit
        w.missing &= ~bit
    elif op == "lose":
        bit = 1 << lay.items[e.target]
        w.missing |= bit
        w.held &= ~bit
    elif op in ("set", "clear"):
        i = lay.counters.get(e.target)
        if i is not None:
            lo, hi = lay.bounds[i]
            v = max(lo, min(hi, e.value))
            w.counters[i] = (v, v)
        else:
            bit = 1 << lay.flags[e.target]
            if op == "set" and e.value:
                w.raised |= bit
                w.lowered &= ~bit
            else:
                w.lowered |= bit
                w.raised &= ~bit
    elif op == "add":
        i = lay.counters[e.target]
        lo, hi = lay.bounds[i]
        a, b = w.counters[i]
        w.counters[i] = (max(lo, min(hi, a + e.value)), max(lo, min(hi, b + e.value)))
    elif op in ("join", "leave"):
        i = lay.characters[e.target]
        f = w.fates[i]
        w.fates[i] = (f & GONE) | (FATE_BIT["in-group" if op == "join" else "separated"] if f & LIVING else 0)
    elif op == "die":
        w.fates[lay.characters[e.target]] = DEAD
    elif op == "turn":
        i = lay.characters[e.target]
        f = w.fates[i]
        w.fates[i] = (f & DEAD) | (TURNED if f & ~DEAD else 0)
    elif op == "bite":
        p = lay.person(e.target)
        clock = w.clocks[p]
        if clock & CLEAN_BIT:
            w.clocks[p] = (clock & ~CLEAN_BIT) | _bit(0)
    elif op in ("cure", "carrier"):
        p = lay.person(e.target)
        value = CLEAN_BIT if op == "cure" else CARRIER_BIT
        f = LIVING if p == 0 else w.fates[p - 1]
        if not f & GONE:
            w.clocks[p] = value
        elif f & LIVING:
            w.clocks[p] |= value
    else:
        raise ValueError(f"unknown effect {op!r}")


def _tick(w: _Work, lay: Layout) -> None:
    """One choice passes: the turn counts up, running clocks tick, and a character whose clock runs out turns."""
    w.turn = (w.turn[0] + 1, w.turn[1] + 1)
    if max(w.clocks) < 4:  # no clock runs (bits 0 and 1 are carrier and clean): nothing else changes
        return
    for p, clock in enumerate(w.clocks):
        running = clock >> 2
        if not running:
            continue
        limit = lay.limits[p]
        ticked = running << 1
        if ticked >> (limit + 1):
            ticked = (ticked & ((1 << (limit + 1)) - 1)) | (1 << limit)
        if p == 0:
            w.clocks[0] = (clock & 3) | (ticked << 2)
            continue
        fate = w.fates[p - 1]
        new = clock & 3
        if fate & GONE:
            new |= running << 2
        if fate & LIVING:
            new |= ticked << 2
            if running >> (limit - 1):  # a clock may run out now
                if clock & 3 or running & ((1 << (limit - 1)) - 1):
                    w.fates[p - 1] = fate | TURNED
                else:  # every clock runs out: the living all turn
                    w.fates[p - 1] = (fate & GONE) | TURNED
        w.clocks[p] = new


def _move(pre: Abstract, choice, outcome, target_effects, lay: Layout) -> Abstract:
    """The state at the target after taking a choice (and outcome) from `pre`, before any trigger."""
    w = _Work(pre)
    ticked = lay.ticks.get((pre.clocks, pre.fates))
    if ticked is None:
        _tick(w, lay)
        lay.ticks[pre.clocks, pre.fates] = (tuple(w.clocks), tuple(w.fates))
    else:
        w.clocks, w.fates = list(ticked[0]), list(ticked[1])
        w.turn = (w.turn[0] + 1, w.turn[1] + 1)
    for effect in choice.effects:
        _apply(w, effect, lay)
    if outcome is not None:
        for effect in outcome.effects:
            _apply(w, effect, lay)
    for effect in target_effects:
        _apply(w, effect, lay)
    return w.freeze()


# -- conditions --------------------------------------------------------------------------------


def _stage_holds(word: str, fate: int, clock: int, limit: int, lay: Layout) -> bool:
    turned = clock >= limit or fate == TURNED
    if word == "bitten":
        return 0 <= clock and not turned
    if word == "feverish":
        return lay.feverish <= clock and not turned
    if word == "turning":
        return lay.turning <= clock and not turned
    if word == "turned":
        return turned
    if word == "carrier":
        return clock == -2
    if word == "clean":
        return clock == -1 and not turned
    if word == "infected":
        return clock != -1 or turned
    raise ValueError(f"unknown stage {word!r}")


def _stage_pairs(tree, a: Abstract, lay: Layout):
    """(fate bit, clock value, holds) for every combination the state allows."""
    _, who, word, _ = tree
    p = lay.person(who)
    limit = lay.limits[p]
    fates = [0] if p == 0 else [b for b in FATE_BIT.values() if a.fates[p - 1] & b]
    for fate in fates:
        for clock in _values(a.clocks[p]):
            yield fate, clock, _stage_holds(word, fate, clock, limit, lay)


_CMP = {
    "<": lambda v, n: v < n, "<=": lambda v, n: v <= n, "==": lambda v, n: v == n,
    "!=": lambda v, n: v != n, ">=": lambda v, n: v >= n, ">": lambda v, n: v > n,
}
_NEGATE = {"<": ">=", "<=": ">", "==": "!=", "!=": "==", ">=": "<", ">": "<="}


def _interval(tree, a: Abstract, lay: Layout) -> tuple:
    name = tree[1]
    return a.turn if name == "turn" else a.counters[lay.counters[name]]


def _cmp_may(op: str, n: int, lo, hi) -> bool:
    """Whether some value in lo..hi satisfies `value op n`."""
    if op == "<":
        return lo < n
    if op == "<=":
        return lo <= n
    if op == ">":
        return hi > n
    if op == ">=":
        return hi >= n
    if op == "==":
        return lo <= n <= hi
    return not lo == hi == n


def possible(tree, a: Abstract, lay: Layout) -> tuple:
    """(may be true, may be false) of a condition over an abstract state, atom by atom (Kleene)."""
    op = tree[0]
    if op == "and":
        may_true, may_false = True, False
        for sub in tree[1:]:
            t, f = possible(sub, a, lay)
            may_true = may_true and t
            may_false = may_false or f
        return may_true, may_false
    if op == "or":
        may_true, may_false = False, True
        for sub in tree[1:]:
            t, f = possible(sub, a, lay)
            may_true = may_true or t
            may_false = may_false and f
        return may_true, may_false
    if op == "not":
        t, f = possible(tree[1], a, lay)
        return f, t
    if op == "true":
        return True, False
    if op == "false":
        return False, True
    if op == "has":
        bit = 1 << lay.items[tree[1]]
        return bool(a.held & bit), bool(a.missing & bit)
    if op == "flag":
        bit = 1 << lay.flags[tree[1]]
        return bool(a.raised & bit), bool(a.lowered & bit)
    if op == "with":
        f = a.fates[lay.characters[tree[1]]]
        return bool(f & IN_GROUP), bool(f & ~IN_GROUP)
    if op == "fate":
        f = a.fates[lay.characters[tree[1]]]
        mask = LIVING if tree[2] == "alive" else FATE_BIT[tree[2]]
        return bool(f & mask), bool(f & ~mask)
    if op == "cmp":
        lo, hi = _interval(tree, a, lay)
        return _cmp_may(tree[2], tree[3], lo, hi), _cmp_may(_NEGATE[tree[2]], tree[3], lo, hi)
    if op == "stage":
        seen = {holds for _, _, holds in _stage_pairs(tree, a, lay)}
        return True in seen, False in seen
    raise ValueError(f"unknown condition node {op!r}")


def evaluate(tree, a: Abstract, lay: Layout) -> str:
    """TRUE, FALSE or MAYBE: the condition's value in every state `a` allows (MAYBE also when unsure)."""
    t, f = possible(tree, a, lay)
    if t and f:
        if covers([tree], a, lay):
            return TRUE
        if covers([("not", tree)], a, lay):
            return FALSE
        return MAYBE
    return TRUE if t else FALSE


def _surely_false(tree, a: Abstract, lay: Layout) -> bool:
    """evaluate(tree, a, lay) == FALSE, without first trying the case split that could only prove it TRUE."""
    t, f = possible(tree, a, lay)
    if not (t and f):
        return not t
    return covers([("not", tree)], a, lay) and not covers([tree], a, lay)


def covers(trees, a: Abstract, lay: Layout) -> bool:
    """Whether at least one of the conditions is true in every state `a` allows (False when unsure).

    Case by case: split the state on a name the conditions are unsure about, until each
    case makes one condition surely true (or none possibly), within MAX_CASES cases.
    """
    return _covered(list(trees), a, lay, [MAX_CASES])


def _covered(trees: list, a: Abstract, lay: Layout, budget: list) -> bool:
    budget[0] -= 1
    if budget[0] < 0:
        return False
    unsure = []
    for tree in trees:
        may_true, may_false = possible(tree, a, lay)
        if not may_false:
            return True
        if may_true:
            unsure.append(tree)
    if not unsure:
        return False
    atom = _unsure_atom(unsure[0], a, lay)
    return all(_covered(unsure, case, lay, budget) for case in _split(atom, a, lay))


def _unsure_atom(tree, a: Abstract, lay: Layout):
    """An atom of the tree whose value `a` does not decide (one exists when the tree is undecided)."""
    op = tree[0]
    if op in ("and", "or", "not"):
        for sub in tree[1:]:
            t, f = possible(sub, a, lay)
            if t and f:
                return _unsure_atom(sub, a, lay)
    return tree


def _split(atom, a: Abstract, lay: Layout) -> list:
    """Abstract states that together hold every state of `a`, each deciding the atom."""
    cases = [c for c in (refine(atom, a, True, lay), refine(atom, a, False, lay)) if c is not None]
    if all(not all(possible(atom, c, lay)) for c in cases):
        return cases
    if atom[0] == "cmp":  # `!=` inside the interval
        n = atom[3]
        lo, hi = _interval(atom, a, lay)
        out = []
        for low, high in ((lo, n - 1), (n, n), (n + 1, hi)):
            low, high = max(low, lo), min(high, hi)
            if low <= high:
                out.append(_refine_cmp(("cmp", atom[1], ">=", low, 0), a, True, lay))
                out[-1] = _refine_cmp(("cmp", atom[1], "<=", high, 0), out[-1], True, lay)
        return out
    p = lay.person(atom[1])  # a stage: one case per (fate, clock)
    out = []
    for fate, clock, _ in _stage_pairs(atom, a, lay):
        clocks = list(a.clocks)
        clocks[p] = _bit(clock)
        fates = list(a.fates)
        if p:
            fates[p - 1] = fate
        out.append(Abstract(a.held, a.missing, a.raised, a.lowered, a.counters, tuple(fates), tuple(clocks), a.turn))
    return out


def refine(tree, a: Optional[Abstract], want: bool, lay: Layout) -> Optional[Abstract]:
    """An abstract state holding every state of `a` where the condition is `want`; None when there is none."""
    if a is None:
        return None
    op = tree[0]
    if op == "not":
        return refine(tree[1], a, not want, lay)
    if op in ("and", "or"):
        if (op == "and") == want:  # every part must be `want`
            for sub in tree[1:]:
                a = refine(sub, a, want, lay)
                if a is None:
                    return None
            return a
        return _join_all(refine(sub, a, want, lay) for sub in tree[1:])
    if op in ("true", "false"):
        return a if (op == "true") == want else None
    t, f = possible(tree, a, lay)
    if not (t if want else f):
        return None
    if not (f if want else t):
        return a  # already `want` everywhere
    if op in ("has", "flag"):
        bit = 1 << (lay.items if op == "has" else lay.flags)[tree[1]]
        yes, no = (a.held, a.missing) if op == "has" else (a.raised, a.lowered)
        yes, no = (yes, no & ~bit) if want else (yes & ~bit, no)
        if op == "has":
            return Abstract(yes, no, a.raised, a.lowered, a.counters, a.fates, a.clocks, a.turn)
        return Abstract(a.held, a.missing, yes, no, a.counters, a.fates, a.clocks, a.turn)
    if op in ("with", "fate"):
        i = lay.characters[tree[1]]
        mask = IN_GROUP if op == "with" else (LIVING if tree[2] == "alive" else FATE_BIT[tree[2]])
        fate = a.fates[i] & (mask if want else ~mask)
        return _with_fate(a, i, fate)
    if op == "cmp":
        return _refine_cmp(tree, a, want, lay)
    if op == "stage":
        keep = [(fate, clock) for fate, clock, holds in _stage_pairs(tree, a, lay) if holds == want]
        p = lay.person(tree[1])
        clocks = list(a.clocks)
        clocks[p] = sum({_bit(clock) for _, clock in keep})
        fates = list(a.fates)
        if p:
            fates[p - 1] = sum({fate for fate, _ in keep})
        return Abstract(a.held, a.missing, a.raised, a.lowered, a.counters, tuple(fates), tuple(clocks), a.turn)
    raise ValueError(f"unknown condition node {op!r}")


def _with_fate(a: Abstract, i: int, fate: int) -> Abstract:
    fates = list(a.fates)
    fates[i] = fate
    return Abstract(a.held, a.missing, a.raised, a.lowered, a.counters, tuple(fates), a.clocks, a.turn)


def _refine_cmp(tree, a: Abstract, want: bool, lay: Layout) -> Optional[Abstract]:
    _, name, op, n, _ = tree
    if not want:
        op = _NEGATE[op]
    lo, hi = _interval(tree, a, lay)
    if op == "<":
        hi = min(hi, n - 1)
    elif op == "<=":
        hi = min(hi, n)
    elif op == ">":
        lo = max(lo, n + 1)
    elif op == ">=":
        lo = max(lo, n)
    elif op == "==":
        lo, hi = max(lo, n), min(hi, n)
    elif lo == n:
        lo += 1
    elif hi == n:
        hi -= 1
    if lo > hi:
        return None
    if name == "turn":
        return Abstract(a.held, a.missing, a.raised, a.lowered, a.counters, a.fates, a.clocks, (lo, hi))
    counters = list(a.counters)
    counters[lay.counters[name]] = (lo, hi)
    return Abstract(a.held, a.missing, a.raised, a.lowered, tuple(counters), a.fates, a.clocks, a.turn)


# -- the fixpoint ------------------------------------------------------------------------------


def _with_clock(a: Abstract, p: int, clock: int) -> Abstract:
    clocks = list(a.clocks)
    clocks[p] = clock
    return Abstract(a.held, a.missing, a.raised, a.lowered, a.counters, a.fates, tuple(clocks), a.turn)


def _diversions(story: Story, lay: Layout, pre: Abstract, post: Abstract, target: str) -> tuple:
    """(the states that stay at the target, or None; where a trigger or turning may send the player instead).

    The player stays when they did not just turn and no trigger fired; where the state before
    the choice decides it, the states that stay are narrowed accordingly.
    """
    if story.nodes[target].ending is not None:
        return post, ()
    out = []
    stay: Optional[Abstract] = post
    turn_at = story.infection.on_player_turned
    if turn_at is not None:
        top = _bit(lay.limits[0])
        after, before = post.clocks[0], pre.clocks[0]
        if after & top and before & (top - 1):
            turned = apply_effects(_with_clock(post, 0, top), story.nodes[turn_at].effects, lay)
            out.append((turn_at, turned, "turned"))
            if not before & top:  # the player had not turned: at the limit now, they are sent on
                stay = _with_clock(post, 0, after & ~top) if after & ~top else None
    for i, trigger in enumerate(story.triggers):
        tree = trigger.condition.tree
        after_true, after_false = possible(tree, post, lay)
        before_true, before_false = possible(tree, pre, lay)
        if not (after_true and before_false):
            continue
        fired = refine(tree, post, True, lay)
        if fired is None:
            continue
        fired = apply_effects(apply_effects(fired, trigger.effects, lay), story.nodes[trigger.goto].effects, lay)
        out.append((trigger.goto, fired, i))
        if not before_true:  # false before: to stay, it must still be false
            stay = refine(tree, stay, False, lay)
    return stay, tuple(out)


def _edges(story: Story, lay: Layout, node, a: Abstract) -> list:
    """Every way out of a (non-ending) node whose states are `a`, ruled out or not."""
    out = []
    for choice in node.choices:
        offered = a if choice.condition is None else refine(choice.condition.tree, a, True, lay)
        for outcome in choice.outcomes or (None,):
            target = choice.goto if outcome is None else outcome.goto
            pre, blocked = offered, choice.condition
            if pre is not None and outcome is not None and outcome.condition is not None:
                pre, blocked = refine(outcome.condition.tree, pre, True, lay), outcome.condition
            if pre is None:
                out.append(Edge(choice, outcome, target, None, None, False, (), blocked))
                continue
            post = _move(pre, choice, outcome, story.nodes[target].effects, lay)
            stay, diversions = _diversions(story, lay, pre, post, target)
            out.append(Edge(choice, outcome, target, pre, stay, stay is not None, diversions))
    return out


def _arrivals(edge: Edge) -> list:
    """(node id, Abstract) where taking the edge may leave the player."""
    out = [(edge.target, edge.post)] if edge.stays else []
    return out + [(dest, state) for dest, state, _ in edge.diversions]


def _jumps(story: Story) -> list:
    out = [t.goto for t in story.triggers]
    if story.infection.on_player_turned is not None:
        out.append(story.infection.on_player_turned)
    return out


def _order(story: Story) -> dict:
    """Node id -> its place in a reverse postorder of the node graph from the start (forward first)."""
    jumps = _jumps(story)
    successors = {}
    for nid, node in story.nodes.items():
        if node.ending is None:
            successors[nid] = [t for c in node.choices for t in c.targets] + jumps
        else:
            successors[nid] = []
    post: list = []
    seen = {story.start}
    stack = [(story.start, iter(successors[story.start]))]
    while stack:
        nid, rest = stack[-1]
        for nxt in rest:
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, iter(successors[nxt])))
                break
        else:
            stack.pop()
            post.append(nid)
    return {nid: i for i, nid in enumerate(reversed(post))}


def _fixpoint(story: Story, lay: Layout, order: dict) -> tuple:
    """(node id -> the join of every abstract state that can arrive there, absent when none can;
    node id -> its edges from that state)."""
    states = {story.start: initial(story, lay)}
    edges: dict = {}
    visits: dict = {}  # node id -> times its edges were followed; from WIDEN_AFTER on, what arrives is widened
    heap = [(order[story.start], story.start)]
    queued = {story.start}
    while heap:
        _, nid = heapq.heappop(heap)
        queued.discard(nid)
        node = story.nodes[nid]
        if node.ending is not None:
            continue
        visits[nid] = visits.get(nid, 0) + 1
        edges[nid] = node_edges = _edges(story, lay, node, states[nid])
        for edge in node_edges:
            if edge.pre is None:
                continue
            for dest, state in _arrivals(edge):
                old = states.get(dest)
                if old is not None:
                    new = join(old, state)
                    if new is old:
                        continue
                    state = widen(old, new, lay) if visits.get(dest, 0) >= WIDEN_AFTER else new
                states[dest] = state
                if dest not in queued:
                    queued.add(dest)
                    heapq.heappush(heap, (order.get(dest, len(order)), dest))
    return states, edges


# -- what it proves ----------------------------------------------------------------------------


def analyze(story: Story) -> Analysis:
    """Run the analysis to its fixpoint and draw every proof from it."""
    lay = layout_of(story)
    order = _order(story)
    states, edges = _fixpoint(story, lay, order)
    sources: dict = {}  # node id -> the nodes with a choice that leads there
    for src, node in story.nodes.items():
        for choice in node.choices:
            for target in choice.targets:
                sources.setdefault(target, set()).add(src)
    unreachable = {nid: _why_unreachable(story, lay, nid, sources.get(nid, set()), states, edges)
                   for nid in story.nodes if nid not in states}
    unreached = frozenset(unreachable)
    endings = frozenset(nid for nid, node in story.nodes.items() if node.ending is not None)
    return Analysis(
        states=states,
        unreachable=unreachable,
        never_true=tuple(_never_true(story, lay, states, edges)),
        no_dead_end=unreached | endings | _no_dead_end(story, lay, states),
        no_trap=unreached | _no_trap(story, lay, states, edges, order, endings),
        outcome_safe=_outcome_safe(story, lay, states),
        layout=lay,
    )


def _no_dead_end(story: Story, lay: Layout, states: dict) -> frozenset:
    out = set()
    for nid, a in states.items():
        node = story.nodes[nid]
        if node.ending is None and covers([_tree(c.condition) for c in node.choices], a, lay):
            out.add(nid)
    return frozenset(out)


def _tree(condition) -> tuple:
    return TRUE_TREE if condition is None else condition.tree


def _no_trap(story: Story, lay: Layout, states: dict, edges: dict, order: dict, endings: frozenset) -> frozenset:
    """Nodes from whose every state an ending can be reached (a least fixpoint: endings first, then back)."""
    safe = set(endings)
    ways: dict = {}  # node id -> [(choice, [(outcome, destinations)])]
    preds: dict = {}
    for nid, node_edges in edges.items():
        by_choice: dict = {}
        for edge in node_edges:
            if edge.pre is None:
                continue
            dests = frozenset(dest for dest, _ in _arrivals(edge))
            by_choice.setdefault(edge.choice.key, (edge.choice, []))[1].append((edge.outcome, dests))
            for dest in dests:
                preds.setdefault(dest, set()).add(nid)
        ways[nid] = list(by_choice.values())
    work = sorted(ways, key=lambda n: order.get(n, 0))
    pending = set(work)
    while work:
        nid = work.pop()
        pending.discard(nid)
        if nid in safe:
            continue
        trees = []
        for choice, outcomes in ways[nid]:
            good = [_tree(o.condition if o is not None else None) for o, dests in outcomes if dests and dests <= safe]
            if not good:
                continue
            inner = TRUE_TREE if TRUE_TREE in good else (good[0] if len(good) == 1 else ("or", *good))
            guard = _tree(choice.condition)
            trees.append(guard if inner == TRUE_TREE else inner if guard == TRUE_TREE else ("and", guard, inner))
        if trees and covers(trees, states[nid], lay):
            safe.add(nid)
            for p in preds.get(nid, ()):
                if p not in safe and p not in pending:
                    pending.add(p)
                    work.append(p)
    return frozenset(safe)


def _outcome_safe(story: Story, lay: Layout, states: dict) -> frozenset:
    out = set()
    for nid, node in story.nodes.items():
        a = states.get(nid)
        for choice in node.choices:
            if not choice.outcomes:
                continue
            offered = None if a is None else refine(_tree(choice.condition), a, True, lay)
            if offered is None or covers([_tree(o.condition) for o in choice.outcomes], offered, lay):
                out.add((nid, choice.key))
    return frozenset(out)


def _never_true(story: Story, lay: Layout, states: dict, edges: dict):
    """(Condition, why) for each condition false in every state where it is tested."""
    for nid, a in states.items():
        node = story.nodes[nid]
        if node.ending is not None:
            continue
        for choice in node.choices:
            offered = a
            if choice.condition is not None:
                offered = refine(choice.condition.tree, a, True, lay)
                if offered is None or _surely_false(choice.condition.tree, a, lay):
                    yield choice.condition, f"at {nid!r}, {describe(choice.condition.names, a, lay)}"
                    continue
            for outcome in choice.outcomes:
                if outcome.condition is None:
                    continue
                tree = outcome.condition.tree
                if refine(tree, offered, True, lay) is None or _surely_false(tree, offered, lay):
                    yield outcome.condition, f"at {nid!r}, {describe(outcome.condition.names, offered, lay)}"
    fires = {cause for node_edges in edges.values() for e in node_edges for _, _, cause in e.diversions}
    for i, trigger in enumerate(story.triggers):
        if i in fires:
            continue
        if all(_surely_false(trigger.condition.tree, a, lay) for a in states.values()):
            yield trigger.condition, "in every reachable state"


def _why_unreachable(story: Story, lay: Layout, nid: str, sources: set, states: dict, edges: dict) -> str:
    """A few words on why no state arrives at a node (`sources`: the nodes with a choice that leads there)."""
    reasons: list = []
    for src in sorted(s for s in sources if s in edges):
        for edge in edges[src]:
            if edge.target != nid:
                continue
            if edge.pre is None:
                known = describe(edge.blocked.names, states[src], lay)
                reason = f"`{edge.blocked.source}` is never true at {src!r} ({known})"
            else:
                reason = f"the player is always sent on from {nid!r} when arriving from {src!r}"
            if reason not in reasons:
                reasons.append(reason)
    for trigger in story.triggers:
        if trigger.goto == nid:
            reasons.append(f"the trigger `{trigger.condition.source}` never fires")
    if story.infection.on_player_turned == nid:
        reasons.append("the player never turns")
    dead = sorted(s for s in sources if s not in edges)
    if dead:
        shown = ", ".join(repr(s) for s in dead[:3]) + (", ..." if len(dead) > 3 else "")
        reasons.append(f"the other ways in are from nodes no path reaches ({shown})" if reasons
                       else f"it is reached only from nodes no path reaches ({shown})")
    if not reasons:
        return "no choice, outcome or trigger leads here"
    more = len(reasons) - 3
    return "; ".join(reasons[:3]) + (f"; and {more} more" if more > 0 else "")


def describe(names, a: Abstract, lay: Layout) -> str:
    """What an abstract state allows for some names, in words: `noise is 0..3, key is never carried`."""
    parts = []
    for name in sorted(names):
        if name in lay.items:
            bit = 1 << lay.items[name]
            t, f = a.held & bit, a.missing & bit
            parts.append(f"{name} is {'maybe' if t and f else 'always' if t else 'never'} carried")
        elif name in lay.flags:
            bit = 1 << lay.flags[name]
            t, f = a.raised & bit, a.lowered & bit
            parts.append(f"{name} is {'maybe' if t and f else 'always' if t else 'never'} set")
        elif name in lay.counters or name == "turn":
            lo, hi = a.turn if name == "turn" else a.counters[lay.counters[name]]
            span = f"{lo}" if lo == hi else f"{lo} or more" if hi == math.inf else f"{lo}..{hi}"
            parts.append(f"{name} is {span}")
        elif name in lay.characters:
            fates = [f for f, b in FATE_BIT.items() if a.fates[lay.characters[name]] & b]
            parts.append(f"{name} is {' or '.join(fates)}")
        elif name == PLAYER:
            stages = sorted({_stage_name(v, lay) for v in _values(a.clocks[0])})
            parts.append(f"you are {' or '.join(stages)}")
    return ", ".join(parts) if parts else "whatever the state"


def _stage_name(clock: int, lay: Layout) -> str:
    if clock == -2:
        return "carrier"
    if clock == -1:
        return "clean"
    for word in ("turned", "turning", "feverish", "bitten"):
        if _stage_holds(word, 0, clock, lay.limits[0], lay):
            return word
    return "bitten"


def contains(a: Abstract, state, lay: Layout) -> bool:
    """Whether a concrete game state is one the abstract state allows (for tests of soundness)."""
    for name, i in lay.items.items():
        if not (a.held if name in state.items else a.missing) >> i & 1:
            return False
    for name, i in lay.flags.items():
        if not (a.raised if name in state.flags else a.lowered) >> i & 1:
            return False
    if any(not lo <= v <= hi for v, (lo, hi) in zip(state.counters, a.counters)):
        return False
    if any(not mask & FATE_BIT[f] for f, mask in zip(state.fates, a.fates)):
        return False
    if any(not mask & _bit(v) for v, mask in zip(state.infection, a.clocks)):
        return False
    return a.turn[0] <= state.turn <= a.turn[1]
