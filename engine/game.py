"""A game as both players drive it: choices with autosave, save/load/undo, the endings gallery."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from . import present, saves
from .model import Story
from .runtime import render
from .saves import AUTOSAVE, SaveError
from .preset import PresetError, decode_state
from .session import Session, describe_restore, restore

QUICKSAVE = "quicksave"


class Game:
    """One player's game: a Session plus the files it keeps (saves, autosave, gallery)."""

    def __init__(self, story: Story, save_dir, seed: int, start=None):
        self.story = story
        self.save_dir = Path(save_dir)
        self.session = Session(story, seed, start)
        self.newly_found = False
        self.notes: list = []  # what the last action should tell the player

    @property
    def state(self):
        return self.session.state

    def new_game(self, seed: int) -> None:
        self.session = Session(self.story, seed)
        self.notes = []

    def choose(self, choice) -> list:
        """Take a choice; autosave; at an ending, record it in the gallery. Returns notes to show."""
        before = self.session.state
        turn = self.session.choose(choice)
        notes = []
        if turn.outcome is not None and turn.outcome.text is not None:
            notes.append(render(self.story, before, turn.outcome.text))
        notes += present.changes(self.story, before, turn.state)
        if self.session.ended:
            try:
                self.newly_found = saves.record_ending(self.save_dir, self.story, self.session.node.ending.id)
            except SaveError as err:
                self.newly_found = False
                notes.append(f"(The endings gallery could not be updated: {err})")
        notes += self.autosave()
        self.notes = notes
        return notes

    def choose_number(self, number: int) -> Optional[list]:
        offered = [o for o in self.session.offers() if o.enabled]
        if not 1 <= number <= len(offered):
            return None
        return self.choose(offered[number - 1].choice)

    def autosave(self) -> list:
        try:
            saves.write_save(self.save_dir, AUTOSAVE, self.session)
        except SaveError as err:
            return [f"(Autosave failed: {err})"]
        return []

    def save(self, slot: Optional[str] = None) -> str:
        slot = slot or QUICKSAVE
        try:
            path = saves.write_save(self.save_dir, slot, self.session)
        except SaveError as err:
            return f"Not saved: {err}"
        return f"Saved to slot {slot!r} ({path})."

    def load(self, slot: Optional[str] = None) -> str:
        """Load a slot (default: the latest save); on any problem the current game goes on."""
        try:
            if slot is None:
                slot = saves.latest_slot(self.save_dir, self.story)
                if slot is None:
                    return f"There are no saves in {str(self.save_dir)!r} yet."
            restored = saves.read_save(self.save_dir, slot, self.story)
        except SaveError as err:
            return f"Could not load: {err}. The current game goes on."
        self.session = restored.session
        self.newly_found = False
        problems = self.autosave()  # so that Continue resumes what was just loaded
        return " ".join([restored.message, *problems])

    def reload(self) -> str:
        """Read the story again from disk and replay this game's choices on it, as far as they still fit."""
        from .loader import load_story

        story, problems = load_story(self.story.root)
        if story is None:
            errors = [str(p) for p in problems if p.level == "error"]
            more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
            return ("The story now has errors, so the game goes on with the version already loaded:\n"
                    + "\n".join(errors[:3]) + more)
        old = self.session
        start = None
        if old.preset:
            try:
                start = decode_state(story, saves.encode_state(self.story, old.history[0]), old.seed)
            except PresetError as err:
                return f"Not reloaded: the state this game started from no longer fits the story ({err})."
        session, divergence = restore(story, old.seed, old.log, start)
        self.story, self.session = story, session
        self.autosave()
        return describe_restore("Reloaded the story", len(old.log), divergence, session.state.turn)

    def undo(self) -> str:
        if not self.session.undo():
            return "There is nothing to undo: this is the start."
        self.autosave()
        return "You take it back."

    def ending_lines(self) -> list:
        ending = self.session.node.ending
        gallery = set(saves.read_gallery(self.save_dir, self.story))
        found = len(gallery & set(self.story.endings))
        return present.ending_report(self.story, self.session.history, ending, self.newly_found, found,
                                     ending.id in gallery)

    def gallery_lines(self) -> list:
        found = saves.read_gallery(self.save_dir, self.story)
        endings = self.story.endings
        lines = [f"Endings found: {len(set(found) & set(endings))} of {len(endings)}"]
        for eid, node in endings.items():
            lines.append(f"  {node.ending.title}  (found {found[eid]})" if eid in found else "  ???")
        return lines

    def saves_list(self) -> list:
        return [s for s in saves.list_saves(self.save_dir) if s.title == self.story.title]
