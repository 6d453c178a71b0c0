"""The game state: one immutable value per moment of play, packed into one int, and its seeded generator."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from .model import FATES, PLAYER, Story

CLEAN = -1
CARRIER = -2
_MASK = (1 << 64) - 1
FATE_CODE = {fate: code for code, fate in enumerate(FATES)}
GONE_CODES = (FATE_CODE["dead"], FATE_CODE["turned"])


@dataclass(frozen=True, eq=False)
class Layout:
    """Where each tracked variable lives in a state's `bits`, derived from the story's declarations.

    Items and flags take one bit each; a counter takes a field holding `value - min`; a
    character takes three bits of fate (its index in FATES); each person (the player
    first) takes a clock field holding the clock + 2, so carrier is 0 and clean is 1.
    Packing everything in one int makes a step a few integer operations, and lets the
    explorer mask out whole groups of variables at once.
    """

    item_bits: tuple  # ((id, bit), ...) in declaration order
    flag_bits: tuple
    counter_fields: tuple  # ((shift, mask, min, max), ...) by counter index
    fate_shifts: tuple  # by character index
    clock_shifts: tuple  # by person: the player, then the characters
    clock_mask: int
    turns: tuple  # by person: choices after a bite until turned
    start_bits: int
    item_bit: dict = field(repr=False)  # id -> bit
    flag_bit: dict = field(repr=False)
    fates_mask: int = 0
    clocks_mask: int = 0
    counters_mask: int = 0
    running: int = 0  # the bits that are set only in a clock field whose clock runs (>= 0)

    @classmethod
    def build(cls, items, flags, counters, characters, infection, start_items=()) -> "Layout":
        """The layout for the declarations (model Item, Flag, Counter, Character; Infection)."""
        # The player's clock first and flags last: the explorer keeps a state's live bits as
        # one int, whose size follows its highest live bit, and the clock is always live.
        shift = 0
        turns = (infection.turns, *(c.turns if c.turns is not None else infection.turns for c in characters))
        clock_bits = (max(turns) + 2).bit_length()
        clock_mask = (1 << clock_bits) - 1
        clock_shifts = []
        clocks_mask = running = 0
        for _ in turns:
            clock_shifts.append(shift)
            clocks_mask |= clock_mask << shift
            running |= (clock_mask & ~1) << shift  # a stored value >= 2 is a running clock
            shift += clock_bits
        fate_shifts = []
        fates_mask = 0
        for _ in characters:
            fate_shifts.append(shift)
            fates_mask |= 7 << shift
            shift += 3
        counter_fields = []
        counters_mask = 0
        for c in counters:
            width = max(1, (c.max - c.min).bit_length())
            counter_fields.append((shift, (1 << width) - 1, c.min, c.max))
            counters_mask |= ((1 << width) - 1) << shift
            shift += width
        item_bits = []
        for item in items:
            item_bits.append((item.id, 1 << shift))
            shift += 1
        flag_bits = []
        for flag in flags:
            flag_bits.append((flag.id, 1 << shift))
            shift += 1
        item_bit = dict(item_bits)
        flag_bit = dict(flag_bits)
        start = 0
        for item in start_items:
            start |= item_bit[item]
        for flag in flags:
            if flag.start:
                start |= flag_bit[flag.id]
        for (s, _, low, _), c in zip(counter_fields, counters):
            start |= (c.start - low) << s
        for s, c in zip(fate_shifts, characters):
            start |= FATE_CODE[c.fate] << s
        for s in clock_shifts:
            start |= (CLEAN + 2) << s
        return cls(tuple(item_bits), tuple(flag_bits), tuple(counter_fields), tuple(fate_shifts),
                   tuple(clock_shifts), clock_mask, turns, start, item_bit, flag_bit, fates_mask, clocks_mask,
                   counters_mask, running)

    # -- reading -----------------------------------------------------------------------------

    def items(self, bits: int) -> frozenset:
        return frozenset(name for name, bit in self.item_bits if bits & bit)

    def flags(self, bits: int) -> frozenset:
        return frozenset(name for name, bit in self.flag_bits if bits & bit)

    def counters(self, bits: int) -> tuple:
        return tuple(low + ((bits >> s) & m) for s, m, low, _ in self.counter_fields)

    def fates(self, bits: int) -> tuple:
        return tuple(FATES[(bits >> s) & 7] for s in self.fate_shifts)

    def infection(self, bits: int) -> tuple:
        m = self.clock_mask
        return tuple(((bits >> s) & m) - 2 for s in self.clock_shifts)

    def clock(self, bits: int, person: int) -> int:
        return ((bits >> self.clock_shifts[person]) & self.clock_mask) - 2

    # -- writing -----------------------------------------------------------------------------

    def encode(self, items, flags, counters, fates, infection) -> int:
        """The bits for these values (names must be declared; counters are clamped by the caller)."""
        bits = 0
        for name in items:
            bits |= self.item_bit[name]
        for name in flags:
            bits |= self.flag_bit[name]
        for (s, m, low, _), value in zip(self.counter_fields, counters):
            bits |= ((value - low) & m) << s
        for s, fate in zip(self.fate_shifts, fates):
            bits |= FATE_CODE[fate] << s
        for s, clock in zip(self.clock_shifts, infection):
            bits |= (clock + 2) << s
        return bits


class GameState(NamedTuple):
    """Where the player is, everything the story tracks (packed in `bits`), the generator and the turn.

    Read the values through `items`, `flags`, `counters` (following `story.counters`),
    `fates` (following `story.characters`) and `infection` (the player first, then the
    characters: CLEAN, CARRIER, or the number of choices made since the bite). A named
    tuple rather than a frozen dataclass: a step makes one, and a tuple is made three
    times faster. Two states are equal when node, bits, generator and turn are.
    """

    node: str
    bits: int
    rng: int
    turn: int
    layout: Layout

    def __eq__(self, other) -> bool:
        return isinstance(other, GameState) and self[:4] == other[:4]

    def __ne__(self, other) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(self[:4])

    @classmethod
    def of(cls, layout: Layout, node: str, items=(), flags=(), counters=(), fates=(), infection=(), rng: int = 0,
           turn: int = 0) -> "GameState":
        return cls(node, layout.encode(items, flags, counters, fates, infection), rng, turn, layout)

    @property
    def items(self) -> frozenset:
        return self.layout.items(self.bits)

    @property
    def flags(self) -> frozenset:
        return self.layout.flags(self.bits)

    @property
    def counters(self) -> tuple:
        return self.layout.counters(self.bits)

    @property
    def fates(self) -> tuple:
        return self.layout.fates(self.bits)

    @property
    def infection(self) -> tuple:
        return self.layout.infection(self.bits)

    def with_(self, **changes) -> "GameState":
        """A copy with some values changed, by name (node, rng, turn, items, flags, counters, fates, infection)."""
        node, rng, turn = changes.pop("node", self.node), changes.pop("rng", self.rng), changes.pop("turn", self.turn)
        bits = self.bits
        if changes:
            values = {n: changes.pop(n) if n in changes else getattr(self, n) for n in _VALUES}
            if changes:
                raise TypeError(f"GameState has no value {', '.join(sorted(changes))}")
            bits = self.layout.encode(**values)
        return GameState(node, bits, rng, turn, self.layout)


_VALUES = ("items", "flags", "counters", "fates", "infection")


def initial_state(story: Story, seed: int) -> GameState:
    """The state before the first choice (the start node's own effects not yet applied)."""
    return GameState(story.start, story.layout.start_bits, seed_generator(seed), 0, story.layout)


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
    clock = state.layout.clock(state.bits, person_index(story, who))
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
