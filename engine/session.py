"""A game in progress: the one mutable holder of immutable states, with the choice log and undo."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from . import runtime
from .model import Choice, Story
from .runtime import Turn
from .state import GameState


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One choice made: where, which (by stable key), and the text the player saw."""

    node: str
    choice: str
    text: str

    def as_dict(self) -> dict:
        return {"node": self.node, "choice": self.choice, "text": self.text}


@dataclass(frozen=True, slots=True)
class Divergence:
    """Where replaying a log stopped matching the story, and why."""

    step: int  # 1-based index of the log entry that could not be replayed
    reason: str


class Session:
    """The states of one run so far (for undo), the choices that led there, and the seed."""

    def __init__(self, story: Story, seed: int, start: Optional[GameState] = None):
        self.story = story
        self.seed = seed
        self.preset = start is not None  # started somewhere other than the story's start (play --from)
        self.history: list = [start if start is not None else runtime.start(story, seed)]
        self.turns: list = [None]  # the Turn that produced each state (None for the start)
        self.log: list = []

    @property
    def state(self) -> GameState:
        return self.history[-1]

    @property
    def last_turn(self) -> Optional[Turn]:
        return self.turns[-1]

    @property
    def node(self):
        return self.story.nodes[self.state.node]

    @property
    def ended(self) -> bool:
        return self.node.ending is not None

    def offers(self) -> list:
        return runtime.offers(self.story, self.state)

    def choose(self, choice: Choice, forced=None) -> Turn:
        """Take a choice; `forced` fixes the outcome of a random choice (replay scripts, explorer)."""
        state = self.state
        text = runtime.render(self.story, state, choice.text)
        turn = runtime.step(self.story, state, choice, forced)
        self.history.append(turn.state)
        self.turns.append(turn)
        self.log.append(LogEntry(state.node, choice.key, text))
        return turn

    def choose_number(self, number: int) -> Optional[Turn]:
        choice = runtime.find_choice(self.story, self.state, number)
        return None if choice is None else self.choose(choice)

    def can_undo(self) -> bool:
        return len(self.history) > 1

    def undo(self) -> bool:
        if not self.can_undo():
            return False
        self.history.pop()
        self.turns.pop()
        self.log.pop()
        return True

    def replay(self, log: list) -> Optional[Divergence]:
        """Make each logged choice in turn; stop at the first that no longer fits the story."""
        for n, entry in enumerate(log, 1):
            state = self.state
            if self.ended:
                return Divergence(n, f"the story now ends at {state.node!r} before this choice")
            if entry.node != state.node:
                return Divergence(n, f"the choice was made at {entry.node!r}, but the story is now at {state.node!r}")
            choice = runtime.find_choice(self.story, state, entry.choice)
            if choice is None:
                return Divergence(n, f"the choice {entry.choice!r} ({entry.text!r}) is no longer offered at "
                                  f"{entry.node!r}")
            try:
                self.choose(choice)
            except runtime.StoryRuntimeError as err:
                return Divergence(n, str(err))
        return None


def restore(story: Story, seed: int, log: list, start: Optional[GameState] = None) -> tuple:
    """A session rebuilt by replaying `log` from the start; (session, Divergence or None)."""
    session = Session(story, seed, start)
    return session, session.replay(log)


def describe_restore(what: str, total: int, divergence: Optional[Divergence], turn: int) -> str:
    if divergence is None:
        return f"{what}: all {total} choices were replayed and the game resumes at turn {turn}."
    return (f"{what}: resumed after {divergence.step - 1} of {total} choices, because at choice "
            f"{divergence.step} {divergence.reason}.")
