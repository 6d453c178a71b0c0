"""Save files and the endings gallery: versioned JSON, validated on load, written atomically."""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .model import Story
from .preset import PresetError, decode_state
from .session import LogEntry, Session, describe_restore, restore
from .state import CARRIER, CLEAN, GameState

SAVE_FORMAT = "aoud-adventure-save"
SAVE_VERSION = 1
GALLERY_FILE = "gallery.json"
AUTOSAVE = "autosave"
MAX_SAVE_BYTES = 8 * 1024 * 1024
_SLOT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
_RESERVED = {"gallery", "con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}


class SaveError(Exception):
    """A save that cannot be written or read; the message says why, for the player."""


@dataclass(frozen=True)
class Restored:
    """A loaded save: the session rebuilt from it, and what the player should be told."""

    session: Session
    message: str
    exact: bool  # True when the save resumed exactly where it was made


@dataclass(frozen=True)
class SaveInfo:
    slot: str
    saved_at: float
    node: str
    turn: int
    title: str


def save_dir(option: Optional[str] = None) -> Path:
    """--save-dir, else $AOUD_SAVE_DIR, else saves/ in the current directory."""
    return Path(option or os.environ.get("AOUD_SAVE_DIR") or "saves")


def check_slot(name: str) -> str:
    """The slot name, or SaveError: slots are plain names that cannot leave the save directory."""
    if not isinstance(name, str) or not _SLOT.match(name):
        shown = repr(name) if len(str(name)) < 60 else repr(str(name)[:57] + "...")
        raise SaveError(f"a slot name is 1 to 40 letters, digits, '-' or '_', starting with a letter or digit; "
                        f"found {shown}")
    if name.lower() in _RESERVED:
        raise SaveError(f"{name!r} is a reserved name; choose another slot name")
    return name


def slot_path(directory: Path, slot: str) -> Path:
    return Path(directory) / f"{check_slot(slot)}.json"


def encode_state(story: Story, state: GameState) -> dict:
    return {
        "node": state.node,
        "items": sorted(state.items),
        "flags": sorted(state.flags),
        "counters": {c.id: v for c, v in zip(story.counters, state.counters)},
        "fates": {c.id: f for c, f in zip(story.characters, state.fates)},
        "infection": dict(zip(["you", *(c.id for c in story.characters)], map(_clock_name, state.infection))),
        "rng": state.rng,
        "turn": state.turn,
    }


def _clock_name(clock: int):
    return "clean" if clock == CLEAN else "carrier" if clock == CARRIER else clock


def encode(session: Session, slot: str) -> dict:
    story = session.story
    return {
        "format": SAVE_FORMAT,
        "version": SAVE_VERSION,
        "story": {"title": story.title, "hash": story.content_hash},
        "seed": session.seed,
        "slot": slot,
        "saved_at": time.time(),
        "log": [e.as_dict() for e in session.log],
        "state": encode_state(story, session.state),
        **({"start": encode_state(story, session.history[0])} if session.preset else {}),
    }


def write_save(directory, slot: str, session: Session) -> Path:
    """Write a save atomically: the previous file in the slot survives any failure."""
    import json  # here, not at the top: a game's first screen needs neither json nor tempfile

    path = slot_path(Path(directory), slot)
    data = json.dumps(encode(session, slot), indent=1, ensure_ascii=False).encode("utf-8")
    _atomic_write(path, data)
    return path


def _atomic_write(path: Path, data: bytes) -> None:
    directory = path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise SaveError(f"cannot create the save directory {str(directory)!r}: {err.strerror}") from None
    import tempfile

    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.stem}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
        tmp = None
        _sync_dir(directory)
    except OSError as err:
        raise SaveError(f"could not write {str(path)!r}: {err.strerror or err}; "
                        "any earlier save in that slot is untouched") from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _sync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_json(path: Path) -> dict:
    import json

    try:
        if path.stat().st_size > MAX_SAVE_BYTES:
            raise SaveError(f"{str(path)!r} is too large to be a save file")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SaveError(f"there is no save {path.stem!r} in {str(path.parent)!r}") from None
    except OSError as err:
        raise SaveError(f"cannot read {str(path)!r}: {err.strerror}") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        where = f" (line {err.lineno}, column {err.colno})" if isinstance(err, json.JSONDecodeError) else ""
        raise SaveError(f"{str(path)!r} is not a readable save file{where}: it may be damaged") from None
    if not isinstance(data, dict):
        raise SaveError(f"{str(path)!r} is not a save file: expected a JSON object")
    return data


def read_save(directory, slot: str, story: Story) -> Restored:
    """Rebuild a session from a save by replaying its choice log against `story`."""
    path = slot_path(Path(directory), slot)
    data = read_json(path)
    shown = str(path)
    if data.get("format") != SAVE_FORMAT:
        raise SaveError(f"{shown!r} is not an aoud-adventure save file")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise SaveError(f"{shown!r} has no format version; it may be damaged")
    if version > SAVE_VERSION:
        raise SaveError(f"{shown!r} was made by a newer version of the game (save format {version}; "
                        f"this game reads up to {SAVE_VERSION}); update the game to load it")
    meta = data.get("story")
    if not isinstance(meta, dict) or not isinstance(meta.get("title"), str):
        raise SaveError(f"{shown!r} does not say which story it belongs to; it may be damaged")
    if meta["title"] != story.title:
        raise SaveError(f"{shown!r} belongs to another story ({meta['title']!r}), not {story.title!r}")
    seed = data.get("seed")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise SaveError(f"{shown!r} has no seed; it may be damaged")
    log = _read_log(data.get("log"), shown)
    start = None
    if "start" in data:
        try:
            start = decode_state(story, data["start"], seed)
        except PresetError as err:
            raise SaveError(f"{shown!r} starts from a state this story cannot have: {err}") from None
    session, divergence = restore(story, seed, log, start)
    same_story = meta.get("hash") == story.content_hash
    if same_story:
        if divergence is not None:
            raise SaveError(f"{shown!r} does not match its own story (choice {divergence.step}: "
                            f"{divergence.reason}); it may have been edited by hand")
        stored = data.get("state")
        if stored != encode_state(story, session.state):
            raise SaveError(f"{shown!r} records a state its own choices do not lead to; it may have been edited "
                            "by hand")
        return Restored(session, f"Loaded {slot!r}: turn {session.state.turn}.", True)
    what = f"The story has changed since {slot!r} was saved"
    return Restored(session, describe_restore(what, len(log), divergence, session.state.turn), False)


def _read_log(log, shown: str) -> list:
    if not isinstance(log, list):
        raise SaveError(f"{shown!r} has no choice log; it may be damaged")
    out = []
    for n, entry in enumerate(log, 1):
        if not (isinstance(entry, dict) and isinstance(entry.get("node"), str)
                and isinstance(entry.get("choice"), str) and isinstance(entry.get("text", ""), str)):
            raise SaveError(f"{shown!r}: entry {n} of the choice log is damaged")
        out.append(LogEntry(entry["node"], entry["choice"], entry.get("text", "")))
    return out


def list_saves(directory) -> list:
    """The saves in a directory, newest first; unreadable files are left out."""
    out = []
    d = Path(directory)
    if not d.is_dir():
        return out
    for path in d.glob("*.json"):
        if path.name == GALLERY_FILE or not _SLOT.match(path.stem):
            continue
        try:
            data = read_json(path)
            state = data.get("state") or {}
            out.append(SaveInfo(path.stem, float(data.get("saved_at", 0)), str(state.get("node", "?")),
                                int(state.get("turn", 0)), str((data.get("story") or {}).get("title", "?"))))
        except (SaveError, TypeError, ValueError, AttributeError):
            continue
    out.sort(key=lambda s: s.saved_at, reverse=True)
    return out


def latest_slot(directory, story: Story) -> Optional[str]:
    for info in list_saves(directory):
        if info.title == story.title:
            return info.slot
    return None


def read_gallery(directory, story: Story) -> dict:
    """Ending id -> when it was first found, for this story (by title)."""
    path = Path(directory) / GALLERY_FILE
    if not path.exists():
        return {}
    try:
        data = read_json(path)
    except SaveError:
        return {}
    found = (data.get("stories") or {}).get(story.title) if isinstance(data.get("stories"), dict) else None
    if not isinstance(found, dict):
        return {}
    return {k: v for k, v in found.items() if isinstance(k, str)}


def record_ending(directory, story: Story, ending_id: str) -> bool:
    """Add an ending to the gallery; True if it was new. A damaged gallery is rebuilt, not trusted."""
    path = Path(directory) / GALLERY_FILE
    data: dict = {}
    if path.exists():
        try:
            data = read_json(path)
        except SaveError:
            data = {}
    stories = data.get("stories") if isinstance(data.get("stories"), dict) else {}
    found = stories.get(story.title) if isinstance(stories.get(story.title), dict) else {}
    if ending_id in found:
        return False
    found[ending_id] = time.strftime("%Y-%m-%d %H:%M")
    stories[story.title] = found
    import json

    _atomic_write(path, json.dumps({"format": "aoud-adventure-gallery", "version": 1, "stories": stories},
                                   indent=1, ensure_ascii=False).encode("utf-8"))
    return True
