"""The runtime: which choices are offered now, and the step from one state to the next."""

from __future__ import annotations

from typing import NamedTuple, Optional

from .model import Choice, Node, Outcome, Story
from .state import GameState, draw, initial_state
from .text import render


class StoryRuntimeError(Exception):
    """A state the story gives no way out of (a checker finds these before players do)."""


class Offer(NamedTuple):
    """A choice as offered this turn: its number (1-based among the enabled), or locked."""

    choice: Choice
    number: Optional[int]
    text: str
    locked_reason: Optional[str] = None

    @property
    def enabled(self) -> bool:
        return self.number is not None


class Turn(NamedTuple):
    """What one step did: the new state, the outcome drawn (if random), the trigger fired."""

    state: GameState
    outcome: Optional[Outcome] = None
    trigger_goto: Optional[str] = None


def start(story: Story, seed: int) -> GameState:
    """The state at the start node, its entry effects applied."""
    state = initial_state(story, seed)
    entry = story.machine.entry_of(story.start)
    return state if entry is None else GameState(state.node, entry(state.bits), state.rng, 0, state.layout)


def node_of(story: Story, state: GameState) -> Node:
    return story.nodes[state.node]


def is_ending(story: Story, state: GameState) -> bool:
    return story.nodes[state.node].ending is not None


def available(story: Story, state: GameState) -> list:
    """The choices that can be taken now, in story order."""
    return [c for c in story.nodes[state.node].choices if c.condition is None or c.condition.test(state)]


def offers(story: Story, state: GameState) -> list:
    """Everything to show at this node: enabled choices numbered, locked ones with a reason."""
    out = []
    number = 0
    for choice in story.nodes[state.node].choices:
        if choice.condition is None or choice.condition.test(state):
            number += 1
            out.append(Offer(choice, number, render(story, state, choice.text)))
        elif choice.locked is not None:
            out.append(Offer(choice, None, render(story, state, choice.text), render(story, state, choice.locked)))
    return out


def possible_outcomes(story: Story, state: GameState, choice: Choice) -> list:
    """The outcomes that can be drawn now, with their weights."""
    return [o for o in choice.outcomes if o.condition is None or o.condition.test(state)]


def step(story: Story, state: GameState, choice: Choice, forced: Optional[Outcome] = None) -> Turn:
    """Take a choice: draw its random outcome (with the state's generator) and move on.

    `forced` picks the outcome instead of the draw (replay scripts and the explorer use it);
    the draw is still made, so later random choices see the same generator either way.
    """
    if not choice.outcomes:
        return take(story, state, choice, None)
    outcomes = possible_outcomes(story, state, choice)
    if not outcomes:
        raise StoryRuntimeError(
            f"{choice.where}: every outcome of this random choice is ruled out by its condition"
        )
    total = sum(o.weight for o in outcomes)
    roll, rng = draw(state.rng, total)
    if forced is not None:
        return take(story, state.with_(rng=rng), choice, forced)
    for outcome in outcomes:
        roll -= outcome.weight
        if roll < 0:
            break
    return take(story, state.with_(rng=rng), choice, outcome)


def take(story: Story, state: GameState, choice: Choice, outcome: Optional[Outcome]) -> Turn:
    """Take a choice with a given outcome (the explorer follows each in turn).

    In order: the turn passes (running infection clocks tick), the choice's effects, the
    outcome's, the target node's entry effects; then, unless the target is an ending, the
    player's turning (infection.on_player_turned) or else the first trigger whose condition
    has just become true sends the player on.
    """
    target, bits, fired = advance(story, state, choice, outcome)
    return Turn(GameState(target, bits, state.rng, state.turn + 1, state.layout), outcome, fired)


def advance(story: Story, state: GameState, choice: Choice, outcome: Optional[Outcome],
            ticked: Optional[int] = None) -> tuple:
    """`take` without the new state made: (node, bits, the trigger's or turning's node or None).

    The explorer calls it for every edge of the state graph, where a state is a key; it may
    pass `ticked`, the state's bits after the clocks' tick (see `ticked_bits`), the same for
    every choice from the state.
    """
    machine = story.machine
    layout = state.layout
    bits = ticked_bits(story, state) if ticked is None else ticked
    key = id(choice) if outcome is None else id(outcome)
    try:
        target, effects = machine.edge[key]
    except KeyError:
        target, effects = machine.edge_of(key)
    if effects is not None:
        bits = effects(bits)
    if machine.ends[target]:
        return target, bits, None
    turn_at = machine.turn_at
    if turn_at is not None:
        cs, top, cm = machine.player_shift, machine.player_top, layout.clock_mask
        if (bits >> cs) & cm >= top > (state.bits >> cs) & cm:
            return _enter(machine, turn_at, bits)
    if machine.triggers:
        changed = state.bits ^ bits
        after = None
        for trigger, reads, reads_turn, effects in machine.triggers:
            if not (changed & reads or reads_turn):
                continue  # what it reads is as it was, so it cannot have just become true
            test = trigger.condition.test
            if after is None:
                after = GameState(target, bits, state.rng, state.turn + 1, layout)
            if test(after) and not test(state):
                if effects is not None:
                    bits = effects(bits)
                return _enter(machine, trigger.goto, bits)
    return target, bits, None


def ticked_bits(story: Story, state: GameState) -> int:
    """The state's bits once a choice has passed: the running clocks ticked (what `advance` starts from)."""
    bits = state.bits
    return story.machine.tick(bits) if bits & state.layout.running else bits


def _enter(machine, target: str, bits: int) -> tuple:
    effects = machine.entry_of(target)
    if effects is not None:
        bits = effects(bits)
    return target, bits, target


def find_choice(story: Story, state: GameState, key) -> Optional[Choice]:
    """An offered choice by id, by key (`#N`) or by 1-based number among those offered."""
    offered = available(story, state)
    if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
        n = int(key)
        return offered[n - 1] if 1 <= n <= len(offered) else None
    for choice in offered:
        if choice.key == key or choice.id == key:
            return choice
    return None


def scene_text(story: Story, state: GameState) -> str:
    return render(story, state, story.nodes[state.node].text)
