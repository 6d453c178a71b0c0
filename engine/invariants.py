"""Invariants every step must keep: what the explorer and the property tests check on each state."""

from __future__ import annotations

from .model import Story
from .state import CARRIER, CLEAN, GameState


def broken(story: Story, before: GameState, after: GameState) -> list:
    """What a step from `before` to `after` broke, as sentences (empty when all holds)."""
    out = []
    if after.node not in story.nodes:
        out.append(f"the state is at {after.node!r}, which is not a node")
    for i, (f0, f1) in enumerate(zip(before.fates, after.fates)):
        name = story.characters[i].id
        if f0 == "dead" and f1 != "dead":
            out.append(f"{name} was dead and is now {f1}")
        if f0 == "turned" and f1 not in ("turned", "dead"):
            out.append(f"{name} had turned and is now {f1}")
    unknown = after.items - story.item_by_id.keys()
    if unknown:
        out.append(f"carrying undeclared items {sorted(unknown)}")
    for c, v in zip(story.counters, after.counters):
        if not c.min <= v <= c.max:
            out.append(f"counter {c.id} is {v}, outside {c.min}..{c.max}")
    for p, (c0, c1) in enumerate(zip(before.infection, after.infection)):
        if c0 >= 0 and c1 >= 0 and c1 < c0:
            who = "you" if p == 0 else story.characters[p - 1].id
            out.append(f"the infection clock of {who} went back from {c0} to {c1}")
        if c1 < CARRIER or (c1 < 0 and c1 not in (CLEAN, CARRIER)):
            out.append(f"an infection clock holds {c1}")
    if after.turn != before.turn + 1:
        out.append(f"the turn went from {before.turn} to {after.turn}")
    return out
