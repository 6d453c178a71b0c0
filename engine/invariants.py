"""Invariants every step must keep: what the explorer and the property tests check on each state."""

from __future__ import annotations

from .model import Story
from .state import CARRIER, CLEAN, GameState


def broken(story: Story, before: GameState, after: GameState) -> list:
    """What a step from `before` to `after` broke, as sentences (empty when all holds).

    Most steps change little, so each part is compared whole first and only looked into
    when it changed.
    """
    out = []
    if after.turn != before.turn + 1:
        out.append(f"the turn went from {before.turn} to {after.turn}")
    if after.node not in story.nodes:
        out.append(f"the state is at {after.node!r}, which is not a node")
    if after.fates != before.fates:
        for i, (f0, f1) in enumerate(zip(before.fates, after.fates)):
            if f0 == "dead" and f1 != "dead":
                out.append(f"{story.characters[i].id} was dead and is now {f1}")
            elif f0 == "turned" and f1 not in ("turned", "dead"):
                out.append(f"{story.characters[i].id} had turned and is now {f1}")
    if after.items is not before.items and after.items != before.items:
        unknown = after.items - story.item_by_id.keys()
        if unknown:
            out.append(f"carrying undeclared items {sorted(unknown)}")
    if after.counters != before.counters:
        for c, v in zip(story.counters, after.counters):
            if not c.min <= v <= c.max:
                out.append(f"counter {c.id} is {v}, outside {c.min}..{c.max}")
    if after.infection != before.infection:
        for p, (c0, c1) in enumerate(zip(before.infection, after.infection)):
            if c0 >= 0 and c1 >= 0 and c1 < c0:
                who = "you" if p == 0 else story.characters[p - 1].id
                out.append(f"the infection clock of {who} went back from {c0} to {c1}")
            if c1 < 0 and c1 not in (CLEAN, CARRIER):
                out.append(f"an infection clock holds {c1}")
    return out
