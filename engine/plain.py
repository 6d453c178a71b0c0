"""Plain mode: the game as lines of text, for pipes, screen readers and scripts."""

from __future__ import annotations

import shutil
import textwrap

from . import present
from .game import Game

PROMPT = "> "


class PlainPlayer:
    """Reads one line per turn from `inp`, writes plain text to `out` (no escape sequences)."""

    def __init__(self, game: Game, inp, out, width: int | None = None, idle=None):
        self.game = game
        self.inp = inp
        self.out = out
        self.idle = idle  # called once the first prompt is shown, while the player reads
        self.width = width or max(20, min(100, shutil.get_terminal_size((80, 24)).columns))

    def say(self, text: str = "") -> None:
        for para in text.split("\n"):
            if len(para) > self.width and not para.startswith(" "):
                para = textwrap.fill(para, self.width)
            self.out.write(para + "\n")

    def show_scene(self) -> None:
        for line in present.scene_lines(self.game.story, self.game.state):
            self.say(line)

    def show_ending(self) -> None:
        self.say()
        for line in self.game.ending_lines():
            self.say(line)

    def run(self) -> int:
        game = self.game
        self.show_scene()
        if game.session.ended:
            self.show_ending()
            return 0
        while True:
            self.out.write(PROMPT)
            self.out.flush()
            if self.idle is not None:
                idle, self.idle = self.idle, None
                idle()
            line = self.inp.readline()
            if not line:
                self.say()
                return 0
            word, _, arg = line.strip().partition(" ")
            arg = arg.strip() or None
            word = word.lower()
            if word.isdigit():
                notes = game.choose_number(int(word))
                if notes is None:
                    count = sum(1 for o in game.session.offers() if o.enabled)
                    self.say(f"There is no choice {word}; type a number from 1 to {count}, or 'help'.")
                    continue
                self.say()
                for note in notes:
                    self.say(note)
                if notes:
                    self.say()
                self.show_scene()
                if game.session.ended:
                    self.show_ending()
                    return 0
            elif word == "save":
                self.say(game.save(arg))
            elif word == "load":
                self.say(game.load(arg))
                self.say()
                self.show_scene()
                if game.session.ended:
                    self.show_ending()
                    return 0
            elif word == "reload":
                self.say(game.reload())
                self.say()
                self.show_scene()
                if game.session.ended:
                    self.show_ending()
                    return 0
            elif word == "undo":
                self.say(game.undo())
                self.say()
                self.show_scene()
            elif word == "status":
                for line_ in present.status_lines(game.story, game.state):
                    self.say(line_)
            elif word in ("inventory", "inv", "i"):
                for line_ in present.inventory_lines(game.story, game.state):
                    self.say(line_)
            elif word in ("help", "?", "h"):
                self.say(present.HELP)
            elif word in ("quit", "exit", "q"):
                self.say("Your progress is autosaved. Goodbye.")
                return 0
            elif word == "":
                continue
            else:
                self.say(f"I don't know {word!r}. Type a choice number, or 'help'.")
