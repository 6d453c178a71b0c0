"""The loaded story: immutable definitions, each knowing the file:line it came from."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import Callable, Optional

PLAYER = "you"

FATES = ("in-group", "separated", "absent", "dead", "turned")
STAGES = ("clean", "bitten", "feverish", "turning", "turned", "carrier")


@dataclass(frozen=True, slots=True)
class Location:
    """Where something was written: a path as given, 1-based line and column."""

    path: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class Condition:
    """A parsed condition: its source text, its syntax tree, and a compiled test."""

    source: str
    tree: tuple
    test: Callable  # (GameState) -> bool
    where: Location
    names: frozenset = frozenset()  # the ids it reads: items, characters, flags, counters


@dataclass(frozen=True, slots=True)
class Template:
    """Story text with substitutions and conditional fragments, compiled for rendering."""

    source: str
    parts: tuple  # str | ("sub", name) | ("if", ((Condition|None, parts), ...))
    where: Location
    static: bool  # True when the text never changes with state

    def __str__(self) -> str:
        return self.source


@dataclass(frozen=True, slots=True)
class Effect:
    """One effect of a choice, an outcome, a node entry or a trigger."""

    op: str  # gain lose join leave die turn bite cure carrier set clear add
    target: str
    value: int = 0
    where: Optional[Location] = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """One weighted branch of a random choice."""

    goto: str
    weight: int
    condition: Optional[Condition]
    effects: tuple[Effect, ...]
    text: Optional[Template]
    where: Location


@dataclass(frozen=True, slots=True)
class Choice:
    """A choice as written in the story; the runtime decides whether it is offered."""

    key: str  # the id, or "#N" (its 1-based position) when it has none
    id: Optional[str]
    text: Template
    condition: Optional[Condition]
    locked: Optional[Template]
    effects: tuple[Effect, ...]
    goto: Optional[str]
    outcomes: tuple[Outcome, ...]
    where: Location

    @property
    def targets(self) -> tuple[str, ...]:
        if self.goto is not None:
            return (self.goto,)
        return tuple(o.goto for o in self.outcomes)


@dataclass(frozen=True, slots=True)
class Ending:
    id: str
    title: str
    epilogue: Optional[Template]
    where: Location


@dataclass(frozen=True, slots=True)
class Node:
    id: str
    text: Template
    place: str
    effects: tuple[Effect, ...]
    choices: tuple[Choice, ...]
    ending: Optional[Ending]
    where: Location


@dataclass(frozen=True, slots=True)
class Character:
    id: str
    name: str
    short: str
    fate: str
    turns: Optional[int]
    where: Location


@dataclass(frozen=True, slots=True)
class Item:
    id: str
    name: str
    description: str
    where: Location


@dataclass(frozen=True, slots=True)
class Flag:
    id: str
    description: str
    start: bool
    where: Location


@dataclass(frozen=True, slots=True)
class Counter:
    id: str
    name: str
    start: int
    min: int
    max: int
    show: bool
    where: Location


@dataclass(frozen=True, slots=True)
class Trigger:
    condition: Condition
    goto: str
    effects: tuple[Effect, ...]
    where: Location


@dataclass(frozen=True, slots=True)
class Infection:
    """The infection clock: choices after a bite until each stage."""

    turns: int = 8
    feverish: int = 3
    turning: int = 6
    on_player_turned: Optional[str] = None


@dataclass(frozen=True)
class Story:
    """A whole loaded story. Lookups by id are precomputed at construction."""

    title: str
    start: str
    author: str
    infection: Infection
    start_items: tuple[str, ...]
    characters: tuple[Character, ...]
    items: tuple[Item, ...]
    flags: tuple[Flag, ...]
    counters: tuple[Counter, ...]
    triggers: tuple[Trigger, ...]
    nodes: dict  # id -> Node, in file order; treated as read-only
    content_hash: str
    root: str
    files: tuple[str, ...]
    where: Location
    character_index: dict = field(init=False, repr=False, compare=False)
    counter_index: dict = field(init=False, repr=False, compare=False)
    item_by_id: dict = field(init=False, repr=False, compare=False)
    layout: object = field(init=False, repr=False, compare=False)  # state.Layout: where each value lives

    def __post_init__(self) -> None:
        from .state import Layout  # the state module builds on this one

        object.__setattr__(self, "character_index", {c.id: i for i, c in enumerate(self.characters)})
        object.__setattr__(self, "counter_index", {c.id: i for i, c in enumerate(self.counters)})
        object.__setattr__(self, "item_by_id", {i.id: i for i in self.items})
        object.__setattr__(self, "layout", Layout.build(self.items, self.flags, self.counters, self.characters,
                                                        self.infection, self.start_items))

    @cached_property
    def machine(self):
        """The story compiled for play (machine.Machine), made on first use."""
        from .machine import Machine  # it compiles this module's objects

        return Machine(self)

    def __getstate__(self) -> dict:
        # Only what the constructor takes: the derived fields are rebuilt, and the machine holds closures.
        return {f.name: getattr(self, f.name) for f in fields(self) if f.init}

    def __setstate__(self, state: dict) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)
        self.__post_init__()

    def person_turns(self, who: str) -> int:
        """Choices after a bite until this person turns."""
        if who != PLAYER:
            own = self.characters[self.character_index[who]].turns
            if own is not None:
                return own
        return self.infection.turns

    @property
    def endings(self) -> dict:
        """Ending id -> the first node that ends with it."""
        found: dict = {}
        for node in self.nodes.values():
            if node.ending is not None:
                found.setdefault(node.ending.id, node)
        return found
