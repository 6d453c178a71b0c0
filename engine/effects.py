"""Effects: how a choice, an outcome, a node entry or a trigger changes the state."""

from __future__ import annotations

from .model import PLAYER, Story
from .state import CARRIER, CLEAN, GameState

EFFECT_OPS = ("gain", "lose", "join", "leave", "die", "turn", "bite", "cure", "carrier", "set", "clear", "add")
GONE = ("dead", "turned")


class Scratch:
    """A working copy of a GameState for the length of one step; frozen again at the end."""

    __slots__ = ("story", "node", "items", "flags", "counters", "fates", "infection", "rng", "turn")

    def __init__(self, story: Story, state: GameState):
        self.story = story
        self.node = state.node
        self.items = set(state.items)
        self.flags = set(state.flags)
        self.counters = list(state.counters)
        self.fates = list(state.fates)
        self.infection = list(state.infection)
        self.rng = state.rng
        self.turn = state.turn

    def freeze(self) -> GameState:
        return GameState(
            node=self.node,
            items=frozenset(self.items),
            flags=frozenset(self.flags),
            counters=tuple(self.counters),
            fates=tuple(self.fates),
            infection=tuple(self.infection),
            rng=self.rng,
            turn=self.turn,
        )

    def apply(self, effects) -> None:
        for effect in effects:
            _APPLY[effect.op](self, effect)

    def advance_infection(self) -> None:
        """One choice passes: every running clock ticks; characters whose clock runs out turn."""
        story = self.story
        infection = self.infection
        for p, clock in enumerate(infection):
            if clock < 0:
                continue
            if p == 0:
                limit = story.person_turns(PLAYER)
                infection[0] = min(clock + 1, limit)
                continue
            c = p - 1
            if self.fates[c] in GONE:
                continue
            limit = story.person_turns(story.characters[c].id)
            infection[p] = clock = min(clock + 1, limit)
            if clock >= limit:
                self.fates[c] = "turned"


def _person(scratch: Scratch, who: str) -> int:
    return 0 if who == PLAYER else 1 + scratch.story.character_index[who]


def _gain(s: Scratch, e) -> None:
    s.items.add(e.target)


def _lose(s: Scratch, e) -> None:
    s.items.discard(e.target)


def _fate_setter(fate: str, over_gone: bool):
    def apply(s: Scratch, e) -> None:
        i = s.story.character_index[e.target]
        if s.fates[i] in GONE and not over_gone:
            return  # the dead and the turned stay so
        if s.fates[i] == "dead" and fate == "turned":
            return
        s.fates[i] = fate

    return apply


def _bite(s: Scratch, e) -> None:
    p = _person(s, e.target)
    if s.infection[p] == CLEAN:
        s.infection[p] = 0


def _cure(s: Scratch, e) -> None:
    p = _person(s, e.target)
    if p and s.fates[p - 1] in GONE:
        return
    s.infection[p] = CLEAN


def _carrier(s: Scratch, e) -> None:
    p = _person(s, e.target)
    if p and s.fates[p - 1] in GONE:
        return
    s.infection[p] = CARRIER


def _set(s: Scratch, e) -> None:
    i = s.story.counter_index.get(e.target)
    if i is None:
        if e.value:
            s.flags.add(e.target)
        else:
            s.flags.discard(e.target)
    else:
        c = s.story.counters[i]
        s.counters[i] = max(c.min, min(c.max, e.value))


def _clear(s: Scratch, e) -> None:
    s.flags.discard(e.target)


def _add(s: Scratch, e) -> None:
    i = s.story.counter_index[e.target]
    c = s.story.counters[i]
    s.counters[i] = max(c.min, min(c.max, s.counters[i] + e.value))


_APPLY = {
    "gain": _gain,
    "lose": _lose,
    "join": _fate_setter("in-group", over_gone=False),
    "leave": _fate_setter("separated", over_gone=False),
    "die": _fate_setter("dead", over_gone=True),
    "turn": _fate_setter("turned", over_gone=True),
    "bite": _bite,
    "cure": _cure,
    "carrier": _carrier,
    "set": _set,
    "clear": _clear,
    "add": _add,
}
