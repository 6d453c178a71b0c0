"""The game state: one immutable value per moment of play, and its seeded generator."""

from __future__ import annotations

from dataclasses import dataclass, replace

from .model import PLAYER, Story

CLEAN = -1
CARRIER = -2
_MASK = (1 << 64) - 1


@dataclass(frozen=True, slots=True)
class GameState:
    """Where the player is and everything the story tracks.

    `fates` follows `story.characters`; `infection` has the player first, then the
    characters: CLEAN, CARRIER, or the number of choices made since the bite.
    `counters` follows `story.counters`.
    """

    node: str
    items: frozenset
    flags: frozenset
    counters: tuple
    fates: tuple
    infection: tuple
    rng: int
    turn: int = 0

    def with_(self, **changes) -> "GameState":
        return replace(self, **changes)


def initial_state(story: Story, seed: int) -> GameState:
    """The state before the first choice (the start node's own effects not yet applied)."""
    return GameState(
        node=story.start,
        items=frozenset(story.start_items),
        flags=frozenset(f.id for f in story.flags if f.start),
        counters=tuple(c.start for c in story.counters),
        fates=tuple(c.fate for c in story.characters),
        infection=(CLEAN,) * (1 + len(story.characters)),
        rng=seed_generator(seed),
    )


def seed_generator(seed: int) -> int:
    """The generator state for a seed (any integer)."""
    return _mix(seed & _MASK)


def _mix(z: int) -> int:
    z = (z + 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def draw(rng: int, bound: int) -> tuple[int, int]:
    """A number in range(bound) and the generator's next state (splitmix64)."""
    nxt = _mix(rng)
    return nxt % bound, nxt


def person_index(story: Story, who: str) -> int:
    """The index of `you` or a character in `GameState.infection`."""
    return 0 if who == PLAYER else 1 + story.character_index[who]


def stage(story: Story, state: GameState, who: str) -> str:
    """The infection stage of `you` or a character, by the story's clock."""
    clock = state.infection[person_index(story, who)]
    if who != PLAYER and state.fates[story.character_index[who]] == "turned":
        return "turned"
    if clock == CLEAN:
        return "clean"
    if clock == CARRIER:
        return "carrier"
    return clock_stage(story, who, clock)


def clock_stage(story: Story, who: str, clock: int) -> str:
    inf = story.infection
    if clock >= story.person_turns(who):
        return "turned"
    if clock >= inf.turning:
        return "turning"
    if clock >= inf.feverish:
        return "feverish"
    return "bitten"


def fate(story: Story, state: GameState, who: str) -> str:
    return state.fates[story.character_index[who]]


def counter(story: Story, state: GameState, name: str) -> int:
    if name == "turn":
        return state.turn
    return state.counters[story.counter_index[name]]


def group(story: Story, state: GameState) -> list:
    """The characters with the player now, in declaration order."""
    return [c for c, f in zip(story.characters, state.fates) if f == "in-group"]
