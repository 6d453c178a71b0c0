"""Invariants every step must keep: what the explorer and the property tests check on each state."""

from __future__ import annotations

from .model import Story
from .state import CARRIER, CLEAN, GameState


def broken(story: Story, before: GameState, after: GameState) -> list:
    """What a step from `before` to `after` broke, as sentences (empty when all holds).

    Most steps change little, so only the parts of the packed state that changed are
    looked into. (Undeclared items cannot be held: the packed state has no place for them.)
    """
    out = []
    if after.turn != before.turn + 1:
        out.append(f"the turn went from {before.turn} to {after.turn}")
    if after.node not in story.nodes:
        out.append(f"the state is at {after.node!r}, which is not a node")
    changed = before.bits ^ after.bits
    if not changed:
        return out
    layout = story.layout
    if changed & layout.fates_mask:
        for i, (f0, f1) in enumerate(zip(before.fates, after.fates)):
            if f0 == "dead" and f1 != "dead":
                out.append(f"{story.characters[i].id} was dead and is now {f1}")
            elif f0 == "turned" and f1 not in ("turned", "dead"):
                out.append(f"{story.characters[i].id} had turned and is now {f1}")
    if changed & layout.counters_mask:
        for c, v in zip(story.counters, after.counters):
            if not c.min <= v <= c.max:
                out.append(f"counter {c.id} is {v}, outside {c.min}..{c.max}")
    if changed & layout.clocks_mask:
        for p, (c0, c1) in enumerate(zip(before.infection, after.infection)):
            if c0 >= 0 and c1 >= 0 and c1 < c0:
                who = "you" if p == 0 else story.characters[p - 1].id
                out.append(f"the infection clock of {who} went back from {c0} to {c1}")
            if c1 < 0 and c1 not in (CLEAN, CARRIER):
                out.append(f"an infection clock holds {c1}")
    return out
