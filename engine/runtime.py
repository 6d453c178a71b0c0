"""The runtime: which choices are offered now, and the step from one state to the next."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .effects import Scratch
from .model import PLAYER, Choice, Node, Outcome, Story
from .state import GameState, draw, initial_state
from .text import render


class StoryRuntimeError(Exception):
    """A state the story gives no way out of (a checker finds these before players do)."""


@dataclass(frozen=True, slots=True)
class Offer:
    """A choice as offered this turn: its number (1-based among the enabled), or locked."""

    choice: Choice
    number: Optional[int]
    text: str
    locked_reason: Optional[str] = None

    @property
    def enabled(self) -> bool:
        return self.number is not None


@dataclass(frozen=True, slots=True)
class Turn:
    """What one step did: the new state, the outcome drawn (if random), the trigger fired."""

    state: GameState
    outcome: Optional[Outcome] = None
    trigger_goto: Optional[str] = None


def start(story: Story, seed: int) -> GameState:
    """The state at the start node, its entry effects applied."""
    state = initial_state(story, seed)
    node = story.nodes[story.start]
    if node.effects:
        scratch = Scratch(story, state)
        scratch.apply(node.effects)
        state = scratch.freeze()
    return state


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
    """Take a choice with a given outcome (the explorer follows each in turn)."""
    scratch = Scratch(story, state)
    scratch.turn += 1
    scratch.advance_infection()
    scratch.apply(choice.effects)
    if outcome is not None:
        scratch.apply(outcome.effects)
        target = outcome.goto
    else:
        target = choice.goto
    _enter(story, scratch, target)
    if story.nodes[target].ending is not None:
        return Turn(scratch.freeze(), outcome, None)
    fired, after = _fire_triggers(story, state, scratch)
    return Turn(after if after is not None else scratch.freeze(), outcome, fired)


def _enter(story: Story, scratch: Scratch, target: str) -> None:
    scratch.node = target
    effects = story.nodes[target].effects
    if effects:
        scratch.apply(effects)


def _fire_triggers(story: Story, before: GameState, scratch: Scratch) -> tuple:
    """(the node a trigger sent the player to, or None; the state frozen to test them, if it was)."""
    turn_at = story.infection.on_player_turned
    if turn_at is not None:
        limit = story.person_turns(PLAYER)
        if scratch.infection[0] >= limit and before.infection[0] < limit:
            _enter(story, scratch, turn_at)
            return turn_at, None
    if not story.triggers:
        return None, None
    after = scratch.freeze()
    for trigger in story.triggers:
        if trigger.condition.test(after) and not trigger.condition.test(before):
            scratch.apply(trigger.effects)
            _enter(story, scratch, trigger.goto)
            return trigger.goto, None
    return None, after  # nothing fired: the frozen state is the step's result


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
