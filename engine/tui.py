"""The full-screen player: a title menu, the scene with its choices, a status panel, and keys for the rest."""

from __future__ import annotations

import os
import re
import string
import textwrap
from typing import Callable, NamedTuple, Optional

from prompt_toolkit.application import Application
from prompt_toolkit.buffer import Buffer
from prompt_toolkit.filters import Condition
from prompt_toolkit.key_binding import KeyBindings
from prompt_toolkit.layout import ConditionalContainer, DynamicContainer, HSplit, Layout, VSplit, Window
from prompt_toolkit.layout.controls import BufferControl, UIContent, UIControl
from prompt_toolkit.layout.processors import BeforeInput
from prompt_toolkit.output import ColorDepth
from prompt_toolkit.styles import Style

from . import present
from .model import PLAYER
from .runtime import StoryRuntimeError, scene_text
from .state import stage

NARROW = 70  # below this many columns the status panel goes under the scene instead of beside it
PANEL_WIDTH = 30
SELECTED = "class:selected"
# Keys the terminal sends as names; all of them close an overlay, and some also act.
NAMED_KEYS = ("up", "down", "enter", "escape", "pageup", "pagedown", "home", "end", "left", "right",
              "tab", "backspace", "delete", " ")
SCROLL_KEYS = {"pageup": -1, "pagedown": 1, " ": 1}
# The hanging indent of a wrapped line: its leading spaces, the cursor mark and a `3) ` number.
_HANG = re.compile(r"[> ]*(?:[-\d]+\) )?")

STYLE = Style.from_dict({
    "bar": "reverse",
    "heading": "bold",
    "ending": "bold ansired",
    "note": "italic ansicyan",
    "message": "ansiyellow",
    "choice": "",
    "selected": "reverse bold",
    "locked": "ansibrightblack",
    "hint": "ansibrightblack",
    "rule": "ansibrightblack",
    "dead": "ansibrightblack",
    "stage.clean": "ansigreen",
    "stage.carrier": "ansimagenta",
    "stage.bitten": "ansiyellow",
    "stage.feverish": "#ff8700",
    "stage.turning": "ansired bold",
    "stage.turned": "ansired bold",
})


class Entry(NamedTuple):
    """One line of a menu: its label, what taking it does (None when locked, with the reason), its hotkey."""

    label: str
    action: Optional[Callable] = None
    key: str = ""
    reason: str = ""


class Paragraphs(UIControl):
    """Styled paragraphs word-wrapped at every render, so a resize re-wraps them; scrolls itself.

    `top` is the first row shown. With `follow` set, the selected entry is kept in view; it is
    unset when a new screen starts at the top, so long scenes are read from their beginning.
    """

    def __init__(self, blocks: Callable[[], list]):
        self.blocks = blocks  # () -> [(style, text)], a text may hold several lines
        self.top = 0
        self.follow = False
        self.height = 1
        self.more = False

    def rows(self, width: int) -> tuple[list, Optional[tuple]]:
        rows, anchor = [], None
        for style, text in self.blocks():
            first = len(rows)
            for line in text.split("\n"):
                hang = " " * min(len(_HANG.match(line).group()), width // 2)
                wrapped = textwrap.wrap(line, max(1, width), subsequent_indent=hang) or [""]
                rows.extend([(style, part)] for part in wrapped)
            if style == SELECTED:
                anchor = (first, len(rows) - 1)
        return rows, anchor

    def page(self, direction: int) -> None:
        self.follow = False
        self.top += direction * max(1, self.height - 2)

    def reset(self) -> None:
        self.top, self.follow = 0, False

    def is_focusable(self) -> bool:
        return True

    def preferred_height(self, width, max_available_height, wrap_lines, get_line_prefix):
        return len(self.rows(width)[0])

    def create_content(self, width: int, height: int) -> UIContent:
        rows, anchor = self.rows(width)
        self.height = height
        if self.follow and anchor is not None:
            self.top = min(max(self.top, anchor[1] - height + 1), anchor[0])
        self.top = max(0, min(self.top, len(rows) - height))
        self.more = self.top + height < len(rows)
        shown = rows[self.top:self.top + height]
        return UIContent(get_line=lambda i: shown[i], line_count=len(shown))


class FullScreenPlayer:
    """The game on one screen. `mode` is what the main pane shows: title, saves (to load one) or play."""

    def __init__(self, game, *, input=None, output=None, idle=None):
        self.game = game
        self.idle = idle  # called once the first frame is on the screen
        self.mode = "title"
        self.back = "title"  # where Escape leaves the list of saves for
        self.in_game = False
        self.overlay: Optional[tuple] = None  # (heading, lines) shown in the pane until a key is pressed
        self.asking = False  # the slot-name line has the keyboard
        self.selected = 0
        self.notes: list = []
        self.message = ""
        self.seed = game.session.seed
        self.pane = Paragraphs(self.pane_blocks)
        self.pane_window = Window(self.pane)
        self.slot = Buffer(multiline=False)
        self.slot_window = Window(BufferControl(self.slot, input_processors=[
            BeforeInput(" Save to slot (Enter for quicksave): ", style="class:heading")]), height=1)
        self.app = Application(
            layout=Layout(self.root(), focused_element=self.pane_window),
            key_bindings=self.bindings(),
            style=STYLE,
            include_default_pygments_style=False,
            full_screen=True,
            input=input,
            output=output,
            # An output handed in (a test's, an embedder's) never went through NO_COLOR's check.
            color_depth=ColorDepth.DEPTH_1_BIT if os.environ.get("NO_COLOR") else None,
        )
        # How long a lone ESC byte waits for the rest of an arrow key's sequence; 0.5 s makes Escape feel stuck.
        self.app.ttimeoutlen = 0.1
        if idle is not None:
            self.app.after_render += self._first_frame_drawn

    def _first_frame_drawn(self, app) -> None:
        idle, self.idle = self.idle, None  # stays a handler, doing nothing after the first frame
        if idle is not None:
            idle()

    # Layout

    def root(self):
        def lines(blocks, **kw):  # as high as their text, so the scene gets the rest of the screen
            return Window(Paragraphs(blocks), dont_extend_height=True, **kw)

        wide = VSplit([self.pane_window, Window(width=1, char="│", style="class:rule"),
                       Window(Paragraphs(lambda: self.panel_blocks(True)), width=PANEL_WIDTH)], padding=1)
        narrow = HSplit([self.pane_window, Window(height=1, char="─", style="class:rule"),
                         lines(lambda: self.panel_blocks(False))])

        def body():
            if not self.in_game:
                return self.pane_window
            return wide if self.app.output.get_size().columns >= NARROW else narrow

        in_game = Condition(lambda: self.in_game)
        return HSplit([
            ConditionalContainer(lines(lambda: [("", " " + self.game.story.title)], style="class:bar"), in_game),
            VSplit([Window(width=1), DynamicContainer(body), Window(width=1)]),
            ConditionalContainer(lines(lambda: [("class:message", " " + self.message)]),
                                 Condition(lambda: bool(self.message) and not self.asking)),
            ConditionalContainer(self.slot_window, Condition(lambda: self.asking)),
            lines(lambda: [("", self.keys_line())], style="class:bar"),
        ])

    def pane_blocks(self) -> list:
        if self.overlay is not None:
            heading, lines = self.overlay
            return [("class:heading", heading), ("", ""), *(("", line) for line in lines), ("", ""),
                    ("class:hint", "(any key goes back)")]
        story = self.game.story
        if self.mode == "title":
            top = [("", ""), ("class:heading", story.title)]
            top += [("class:hint", f"by {story.author}")] if story.author else []
            return top + [("", "")] + self.entry_blocks()
        if self.mode == "saves":
            return [("class:heading", "Load a save"), ("", "")] + self.entry_blocks()
        blocks = [("class:note", note) for note in self.notes] + [("", "")] * bool(self.notes)
        blocks.append(("", scene_text(story, self.game.state)))
        if self.game.session.ended:
            title, *rest = self.game.ending_lines()
            blocks += [("", ""), ("class:ending", title), ("", "\n".join(rest))]
        return blocks + [("", "")] + self.entry_blocks()

    def entry_blocks(self) -> list:
        blocks, number = [], 0
        for i, entry in enumerate(self.entries()):
            mark = "> " if i == self.selected else "  "
            if entry.action is None:
                blocks.append(("class:locked", f"{mark}-) {entry.label} (unavailable: {entry.reason})"))
            else:
                number += 1
                blocks.append((SELECTED if i == self.selected else "class:choice", f"{mark}{number}) {entry.label}"))
        return blocks

    def panel_blocks(self, wide: bool) -> list:
        story, state = self.game.story, self.game.state
        you = stage(story, state, PLAYER)
        place = story.nodes[state.node].place or "-"
        people = [present.person_line(story, state, i) for i in present.known_people(story, state)]
        counters = [f"{c.name}: {v}/{c.max}" for c, v in zip(story.counters, state.counters) if c.show]
        items = [story.item_by_id[i].name for i in sorted(state.items)] or ["nothing"]
        meter = (f"class:stage.{you}", "You: " + present.infection_meter(story, state))
        if not wide:
            return [("class:heading", f"{place} · turn {state.turn}"), meter,
                    *([("", "; ".join(people))] if people else []),
                    ("", " · ".join(counters + ["Carrying: " + ", ".join(items)]))]
        blocks = [("class:heading", place), ("", f"Turn {state.turn}"), meter]
        if people:
            blocks += [("", ""), ("class:heading", "People")]
            blocks += [("class:dead" if line.endswith((": dead", ": turned")) else "", "  " + line)
                       for line in people]
        blocks += [("", "")] * bool(counters) + [("", line) for line in counters]
        return blocks + [("", ""), ("class:heading", "Carrying"), *(("", "  " + name) for name in items)]

    def keys_line(self) -> str:
        if self.asking:
            keys = "Enter: save · Esc: cancel"
        elif self.overlay is not None:
            keys = "any key: back"
        elif self.mode == "title":
            keys = "↑↓ Enter, a number or the first letter · Ctrl-C: quit"
        elif self.mode == "saves":
            keys = "↑↓ Enter or a number: load · Esc: back"
        elif self.game.session.ended:
            keys = "↑↓ Enter · u undo · b title · s save · q quit"
        else:
            keys = "1-9 or ↑↓ Enter: choose · s save · l load · u undo · i items · t status · h help · q quit"
        return (" ▼ PgDn: more · " if self.pane.more else " ") + keys

    # Menus

    def entries(self) -> list:
        game = self.game
        if self.mode == "title":
            saves = game.saves_list()
            none = "" if saves else "no saves yet"
            latest = f"Continue ({saves[0].slot}, turn {saves[0].turn})" if saves else "Continue"
            return [Entry("New game", self.new_game, "n"),
                    Entry(latest, None if none else lambda: self.load(None), "c", none),
                    Entry("Load", None if none else self.pick_save, "l", none),
                    Entry("Endings found", lambda: self.open("Endings", game.gallery_lines()), "e"),
                    Entry("Quit", self.quit, "q")]
        if self.mode == "saves":
            return [Entry(f"{s.slot}: turn {s.turn}, {self.where(s.node)}", lambda slot=s.slot: self.load(slot))
                    for s in game.saves_list()]
        if game.session.ended:
            return [Entry("Undo last choice", self.undo, "u"), Entry("Back to title", self.to_title, "b"),
                    Entry("Quit", self.quit, "q")]
        return [Entry(o.text, (lambda c=o.choice: self.choose(c)) if o.enabled else None, reason=o.locked_reason or "")
                for o in game.session.offers()]

    def where(self, node_id: str) -> str:
        node = self.game.story.nodes.get(node_id)
        return f"{node.place} ({node_id})" if node is not None and node.place else node_id

    def show(self, mode: str) -> None:
        """Start a screen: from its top, the cursor on its first entry that can be taken."""
        self.mode = mode
        self.overlay = None
        self.pane.reset()
        self.selected = next((i for i, e in enumerate(self.entries()) if e.action), 0)

    def move(self, step: int) -> None:
        entries = self.entries()
        i = self.selected + step
        while 0 <= i < len(entries) and entries[i].action is None:
            i += step
        if 0 <= i < len(entries):
            self.selected = i
        self.pane.follow = True

    # Actions

    def new_game(self) -> None:
        self.game.new_game(self.seed)
        self.seed += 1  # another new game in this sitting plays out differently
        self.notes, self.message, self.in_game = [], "", True
        self.show("play")

    def load(self, slot: Optional[str]) -> None:
        self.message = self.game.load(slot)
        self.notes, self.in_game = [], True
        self.show("play")

    def pick_save(self) -> None:
        if not self.game.saves_list():
            self.message = "There are no saves yet."
            return
        self.back = self.mode
        self.show("saves")

    def choose(self, choice) -> None:
        try:
            self.notes = self.game.choose(choice)
        except StoryRuntimeError as err:  # a story bug; the player can still undo, save or quit
            self.message = f"The story cannot go on from here: {err}"
            return
        self.message = ""
        self.show("play")

    def undo(self) -> None:
        self.message = self.game.undo()
        self.notes = []
        self.show("play")

    def reload(self) -> None:
        self.message = self.game.reload()
        self.notes = []
        self.show("play")

    def to_title(self) -> None:
        self.message, self.in_game = "", False
        self.show("title")

    def open(self, heading: str, lines: list) -> None:
        self.overlay = (heading, lines)
        self.pane.reset()

    def ask_slot(self) -> None:
        self.asking = True
        self.slot.reset()
        self.app.layout.focus(self.slot_window)

    def end_asking(self, save: bool) -> None:
        if save:
            self.message = self.game.save(self.slot.text.strip() or None)
        self.asking = False
        self.app.layout.focus(self.pane_window)

    def quit(self) -> None:
        self.app.exit(result=0)

    def commands(self) -> dict:
        story, state = self.game.story, self.game.state
        return {
            "s": self.ask_slot, "l": self.pick_save, "u": self.undo, "q": self.quit, "r": self.reload,
            "i": lambda: self.open("Inventory", present.inventory_lines(story, state)),
            "t": lambda: self.open("Status", present.status_lines(story, state)),
            "h": self.show_help, "?": self.show_help,
        }

    def show_help(self) -> None:
        self.open("Help", present.HELP.splitlines() + [
            "", "Up/Down and Enter also choose; PgUp/PgDn or Space scroll a long scene;",
            "Escape closes a list; Ctrl-C quits too."])

    # Keys

    def press(self, key: str) -> None:
        if self.overlay is not None:
            if key in SCROLL_KEYS:
                self.pane.page(SCROLL_KEYS[key])
            else:
                self.overlay = None
                self.pane.reset()
            return
        entries = self.entries()
        if key in ("up", "down"):
            self.move(-1 if key == "up" else 1)
        elif key in SCROLL_KEYS:
            self.pane.page(SCROLL_KEYS[key])
        elif key == "enter":
            if 0 <= self.selected < len(entries) and entries[self.selected].action:
                entries[self.selected].action()
        elif key == "escape":
            if self.mode == "saves":
                self.show(self.back)
            self.message = ""
        elif key.isdigit():
            enabled = [e for e in entries if e.action]
            if 1 <= int(key) <= len(enabled):
                enabled[int(key) - 1].action()
            elif self.mode == "play":
                self.message = f"There is no choice {key}."
        else:
            action = next((e.action for e in entries if e.key and e.key == key and e.action), None)
            if action is None and self.mode == "play":
                action = self.commands().get(key)
            if action is not None:
                action()
            elif self.mode == "play" and len(key) == 1 and key.isprintable():
                self.message = f"The key {key!r} does nothing here; press h for help."

    def bindings(self) -> KeyBindings:
        kb = KeyBindings()
        # While a slot name is typed, letters are text: the buffer's own bindings take them.
        playing = Condition(lambda: not self.asking)
        # Eager: a lone Escape acts now instead of waiting to see whether it starts an Alt-key.
        for key in NAMED_KEYS + tuple(string.ascii_letters + string.digits + "?"):
            kb.add(key, filter=playing, eager=key == "escape")(lambda event, key=key: self.press(key.lower()))
        # Any other key (F-keys, Ctrl-letters) only closes an overlay.
        kb.add("<any>", filter=playing)(lambda event: self.press("other"))
        kb.add("enter", filter=~playing)(lambda event: self.end_asking(True))
        kb.add("escape", filter=~playing, eager=True)(lambda event: self.end_asking(False))
        # Game autosaves after every choice, so leaving at any moment loses nothing.
        kb.add("c-c")(lambda event: self.quit())
        kb.add("c-d")(lambda event: self.quit())
        return kb

    def run(self, resume: bool = False, load: Optional[str] = None) -> int:
        if resume or load is not None:
            self.load(load)
        else:
            self.show("title")
        try:
            return self.app.run() or 0
        except (EOFError, KeyboardInterrupt):
            return 0


def run_fullscreen(game, resume: bool = False, load: Optional[str] = None, *, input=None, output=None,
                   idle=None) -> int:
    """Play `game` full-screen until the player quits; the exit status (0). `idle` runs once the first frame is drawn."""
    return FullScreenPlayer(game, input=input, output=output, idle=idle).run(resume, load)
