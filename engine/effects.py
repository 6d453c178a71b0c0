"""Effects: how a choice, an outcome, a node entry or a trigger changes the state, compiled to integer operations."""

from __future__ import annotations

from typing import Callable, Optional

from .model import PLAYER, Story
from .state import CARRIER, CLEAN, FATE_CODE, GONE_CODES, Layout

EFFECT_OPS = ("gain", "lose", "join", "leave", "die", "turn", "bite", "cure", "carrier", "set", "clear", "add")
GONE = ("dead", "turned")

TICK_MEMO_LIMIT = 8_192
_DEAD = FATE_CODE["dead"]
_TURNED = FATE_CODE["turned"]


def compile_effects(story: Story, layout: Layout, effects) -> Optional[Callable[[int], int]]:
    """One function from a state's bits to the bits after `effects`, in order (None when there are none)."""
    return chain(*(_compile(story, layout, e) for e in effects))


def chain(*fns) -> Optional[Callable[[int], int]]:
    """One function doing each of `fns` (None where there is nothing to do) in order; None if none."""
    fns = tuple(f for f in fns if f is not None)
    if not fns:
        return None
    if len(fns) == 1:
        return fns[0]
    if len(fns) == 2:
        first, second = fns
        return lambda b: second(first(b))

    def run(b: int) -> int:
        for fn in fns:
            b = fn(b)
        return b

    return run


def _compile(story: Story, layout: Layout, e) -> Callable[[int], int]:
    op, target = e.op, e.target
    if op == "gain":
        bit = layout.item_bit[target]
        return lambda b: b | bit
    if op == "lose":
        keep = ~layout.item_bit[target]
        return lambda b: b & keep
    if op in ("set", "clear"):
        i = story.counter_index.get(target)
        if i is not None:  # `set` on a counter
            s, m, low, high = layout.counter_fields[i]
            value = (max(low, min(high, e.value)) - low) << s
            keep = ~(m << s)
            return lambda b: (b & keep) | value
        bit = layout.flag_bit[target]
        if op == "set" and e.value:
            return lambda b: b | bit
        keep = ~bit
        return lambda b: b & keep
    if op == "add":
        s, m, low, high = layout.counter_fields[story.counter_index[target]]
        keep, top, k = ~(m << s), high - low, e.value

        def add(b: int) -> int:
            v = ((b >> s) & m) + k
            return (b & keep) | ((0 if v < 0 else top if v > top else v) << s)

        return add
    if op in ("join", "leave", "die", "turn"):
        return _fate_setter(layout.fate_shifts[story.character_index[target]], op)
    p = 0 if target == PLAYER else 1 + story.character_index[target]
    cs = layout.clock_shifts[p]
    cfield = layout.clock_mask << cs
    keep = ~cfield
    if op == "bite":
        clean, bitten = (CLEAN + 2) << cs, (0 + 2) << cs
        return lambda b: (b & keep) | bitten if b & cfield == clean else b
    value = ((CLEAN if op == "cure" else CARRIER) + 2) << cs
    if p == 0:
        return lambda b: (b & keep) | value
    fs = layout.fate_shifts[p - 1]
    return lambda b: b if (b >> fs) & 7 in GONE_CODES else (b & keep) | value


def _fate_setter(s: int, op: str) -> Callable[[int], int]:
    keep = ~(7 << s)
    if op in ("join", "leave"):  # the dead and the turned stay so
        value = FATE_CODE["in-group" if op == "join" else "separated"] << s
        return lambda b: b if (b >> s) & 7 in GONE_CODES else (b & keep) | value
    if op == "die":
        value = _DEAD << s
        return lambda b: (b & keep) | value
    value = _TURNED << s
    return lambda b: b if (b >> s) & 7 == _DEAD else (b & keep) | value


def compile_tick(story: Story, layout: Layout) -> Callable[[int], int]:
    """One choice passes: every running clock ticks; characters whose clock runs out turn.

    Call it only when `bits & layout.running` (some clock runs); the dead and the turned
    no longer tick.
    """
    cm = layout.clock_mask
    people = []
    for p, (cs, limit) in enumerate(zip(layout.clock_shifts, layout.turns)):
        fs = layout.fate_shifts[p - 1] if p else None
        people.append((cs, limit + 2, fs))
    people = tuple(people)
    part = layout.clocks_mask | layout.fates_mask
    rest = ~part
    memo: dict = {}  # the clocks and fates before -> after; a run meets few combinations

    def slow(b: int) -> int:
        for cs, top, fs in people:
            stored = (b >> cs) & cm
            if stored < 2:
                continue  # clean or carrier
            if fs is None:
                if stored < top:
                    b += 1 << cs
                continue
            if (b >> fs) & 7 in GONE_CODES:
                continue
            if stored < top:
                b += 1 << cs
                stored += 1
            if stored >= top:
                b = (b & ~(7 << fs)) | (_TURNED << fs)
        return b

    def tick(b: int) -> int:
        before = b & part
        after = memo.get(before)
        if after is None:
            if len(memo) >= TICK_MEMO_LIMIT:
                memo.clear()
            after = memo[before] = slow(before)
        return (b & rest) | after

    return tick
