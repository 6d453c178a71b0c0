"""Invariants every step must keep: what the explorer and the property tests check on each state."""

from __future__ import annotations

from .model import Story
from .state import GameState

MEMO_LIMIT = 8_192


def broken(story: Story, before: GameState, after: GameState) -> list:
    """What a step from `before` to `after` broke, as sentences (empty when all holds).

    Only the parts of the packed state that changed are looked into, and each part's
    verdict is remembered by its bits before and after: a run meets the same few
    combinations of fates, counters and clocks again and again. (Undeclared items and
    clocks below carrier cannot be held: the packed state has no place for them.)
    """
    out = []
    if after.turn != before.turn + 1:
        out.append(f"the turn went from {before.turn} to {after.turn}")
    if after.node not in story.nodes:
        out.append(f"the state is at {after.node!r}, which is not a node")
    out.extend(broken_bits(story, before.bits, after.bits, before.turn))
    return out


def broken_bits(story: Story, before: int, after: int, turn: int = 0) -> list:
    """What a step between two packed states broke in fates, counters and clocks (see `broken`).

    The explorer asks this of every new state it finds: it computes the turn and the node
    itself, so only the bits can be wrong, and it keeps them as ints, not GameStates.
    """
    changed = before ^ after
    if not changed:
        return []
    out = []
    layout = story.layout
    memo = story.machine.verdicts
    # A counter's verdict reads its value after the step alone: keyed by that, the verdicts fit
    # the memo (a run's counters pair up before and after in far more ways than they take values).
    for mask, check, reads_before in ((layout.fates_mask, _fates, True), (layout.counters_mask, _counters, False),
                                      (layout.clocks_mask, _clocks, True)):
        if changed & mask:
            key = (check, before & mask if reads_before else -1, after & mask)
            found = memo.get(key)
            if found is None:
                if len(memo) >= MEMO_LIMIT:
                    memo.clear()
                # The verdict reads only the bits under `mask`, so any node will do for the states.
                found = memo[key] = check(story, GameState(story.start, before, 0, turn, layout),
                                          GameState(story.start, after, 0, turn + 1, layout))
            out.extend(found)
    return out


def _fates(story: Story, before: GameState, after: GameState) -> tuple:
    out = []
    for i, (f0, f1) in enumerate(zip(before.fates, after.fates)):
        if f0 == "dead" and f1 != "dead":
            out.append(f"{story.characters[i].id} was dead and is now {f1}")
        elif f0 == "turned" and f1 not in ("turned", "dead"):
            out.append(f"{story.characters[i].id} had turned and is now {f1}")
    return tuple(out)


def _counters(story: Story, before: GameState, after: GameState) -> tuple:
    return tuple(f"counter {c.id} is {v}, outside {c.min}..{c.max}"
                 for c, v in zip(story.counters, after.counters) if not c.min <= v <= c.max)


def _clocks(story: Story, before: GameState, after: GameState) -> tuple:
    out = []
    for p, (c0, c1) in enumerate(zip(before.infection, after.infection)):
        if 0 <= c1 < c0:
            who = "you" if p == 0 else story.characters[p - 1].id
            out.append(f"the infection clock of {who} went back from {c0} to {c1}")
    return tuple(out)
