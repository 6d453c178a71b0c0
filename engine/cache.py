"""A cache of loaded stories and check reports, outside the story, keyed by the files' contents and the engine."""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import io
import os
import pickle
import sys
from pathlib import Path
from typing import Optional

from . import __version__
from .sources import read_sources

MAGIC = b"aoud-adventure cache 1\n"
_DIGEST = 32  # bytes of a sha256
_MODEL_CLASSES = frozenset({"Location", "Condition", "Template", "Effect", "Outcome", "Choice", "Ending", "Node",
                            "Character", "Item", "Flag", "Counter", "Trigger", "Infection", "Story"})


def cache_dir() -> Optional[Path]:
    """Where cached files go: $AOUD_CACHE_DIR, else $XDG_CACHE_HOME/aoud-adventure, else ~/.cache/...; None if off."""
    if os.environ.get("AOUD_NO_CACHE", "") not in ("", "0"):
        return None
    chosen = os.environ.get("AOUD_CACHE_DIR")
    if chosen:
        return Path(chosen)
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):  # the XDG spec says to ignore a relative path
        return Path(xdg) / "aoud-adventure"
    home = os.path.expanduser("~")
    if home == "~":  # no home directory to cache in
        return None
    return Path(home) / ".cache" / "aoud-adventure"


def engine_fingerprint() -> str:
    """The engine's version and the size and time of each of its modules: any edit to the engine is a miss."""
    here = Path(__file__).resolve().parent
    parts = [__version__, sys.version]
    try:
        for entry in sorted(os.scandir(here), key=lambda e: e.name):
            if entry.name.endswith(".py"):
                st = entry.stat()
                parts.append(f"{entry.name}:{st.st_size}:{st.st_mtime_ns}")
    except OSError:
        parts.append("unlisted")
    return "\n".join(parts)


class Store:
    """One kind of cached value for one story directory: a single file, rewritten whenever the key changes."""

    def __init__(self, folder: Path, directory: str, kind: str, options: tuple = ()):
        self.folder = folder
        name = hashlib.sha256(repr((kind, os.path.abspath(directory), directory, options)).encode()).hexdigest()
        self.path = folder / f"{name[:32]}.{kind}"

    @classmethod
    def open(cls, directory: str, kind: str, options: tuple = ()) -> Optional["Store"]:
        """A store for this story, or None when caching is off or would write inside the story."""
        folder = cache_dir()
        if folder is None:
            return None
        try:
            story = Path(directory).resolve()
            where = folder.resolve()
        except (OSError, RuntimeError):
            return None
        if where == story or story in where.parents:
            return None  # a cache must never land among the writer's files
        return cls(folder, directory, kind, options)

    def read(self, key: bytes) -> Optional[bytes]:
        """The payload stored under `key`, or None: missing, stale or damaged files are all a miss."""
        try:
            with open(self.path, "rb") as f:
                blob = f.read()
        except OSError:
            return None
        head = len(MAGIC)
        if not blob.startswith(MAGIC) or blob[head:head + _DIGEST] != key:
            return None
        payload = blob[head + 2 * _DIGEST:]
        if hashlib.sha256(payload).digest() != blob[head + _DIGEST:head + 2 * _DIGEST]:
            return None  # damaged on disk
        return payload

    def write(self, key: bytes, payload: bytes) -> None:
        """Store atomically (a temporary file renamed into place); failing to write is never an error."""
        import tempfile  # here, not at the top: a first start writes the cache after its first screen

        tmp = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix="." + self.path.suffix[1:])
            with os.fdopen(fd, "wb") as f:
                f.write(MAGIC + key + hashlib.sha256(payload).digest())
                f.write(payload)
            os.replace(tmp, self.path)
            tmp = None
        except OSError:
            pass
        finally:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass


def _key(*parts) -> bytes:
    return hashlib.sha256(repr(parts).encode()).digest()


# -- stories --------------------------------------------------------------------------------------


def load_story(directory) -> tuple:
    """loader.load_story(directory), from the cache when no file has changed since it was stored."""
    story, problems, store = load_story_later(directory)
    store()
    return story, problems


def load_story_later(directory) -> tuple:
    """(story, problems, store): as load_story, but a story just parsed is put in the cache only when
    store() is called, so that a player can call it once the first screen is up (pickling the
    campaign takes about as long as a third of parsing it)."""
    directory = str(directory)
    if not os.path.isdir(directory):
        from .loader import load_story as parse

        return (*parse(directory), _nothing)
    sources, content = read_sources(directory)
    store = Store.open(directory, "story")
    key = _key(engine_fingerprint(), directory, content)
    if store is not None:
        payload = store.read(key)
        if payload is not None:
            found = _unpickle(payload)
            if found is not None:
                return (*found, _nothing)
    from .loader import load_story as parse

    story, problems = parse(directory, (sources, content))
    if store is None or not all(s.data is not None for s in sources):  # an unreadable file may become readable
        return story, problems, _nothing

    def put() -> None:
        payload = _pickle(story, problems)
        if payload is not None:
            store.write(key, payload)

    return story, problems, _once(put)


def _nothing() -> None:
    return None


def _once(fn):
    """`fn`, callable any number of times, run on the first call only."""
    pending = [fn]

    def call() -> None:
        if pending:
            pending.pop()()

    return call


def _pickle(story, problems: list) -> Optional[bytes]:
    from .model import Condition, Story

    fields = [f.name for f in dataclasses.fields(Story) if f.init]
    table = {
        # A condition's test is a closure: store its syntax tree and compile it again on loading.
        Condition: lambda c: (Condition, (c.source, c.tree, None, c.where, c.names)),
        # Built with its constructor so that fields derived in __post_init__ are computed afresh.
        Story: lambda s: (Story, tuple(getattr(s, name) for name in fields)),
    }
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = table
    try:
        pickler.dump((story, problems))
    except (pickle.PicklingError, TypeError, AttributeError, RecursionError):
        return None  # a model this cache does not know how to store: simply not cached
    return buf.getvalue()


class _Unpickler(pickle.Unpickler):
    """Builds only the engine's own model classes: a cache file can never run code."""

    def __init__(self, data: bytes):
        super().__init__(io.BytesIO(data))
        self.conditions: list = []

    def find_class(self, module, name):
        if module == "engine.model" and name in _MODEL_CLASSES:
            from . import model

            cls = getattr(model, name)
            if name == "Condition":
                return self.condition
            return cls
        if module == "engine.problems" and name == "Problem":
            from .problems import Problem

            return Problem
        raise pickle.UnpicklingError(f"not allowed in a story cache: {module}.{name}")

    def condition(self, source, tree, test, where, names):
        from .model import Condition

        made = Condition(source, tree, test, where, names)
        self.conditions.append(made)
        return made


def _unpickle(payload: bytes) -> Optional[tuple]:
    from .conditions import Names, compile_tree
    from .model import Story

    paused = gc.isenabled()
    gc.disable()  # every object made here lives on: collecting would only re-scan them
    try:
        reader = _Unpickler(payload)
        story, problems = reader.load()
        if story is not None:
            if not isinstance(story, Story):
                return None
            names = Names.from_story(story)
            for condition in reader.conditions:
                object.__setattr__(condition, "test", compile_tree(condition.tree, names))
        return story, problems
    except Exception:  # noqa: BLE001 - any damage at all means a miss, never an error the user sees
        return None
    finally:
        if paused:
            gc.enable()


# -- check reports ----------------------------------------------------------------------------------


def cached_report(directory: str, options: tuple, make) -> tuple:
    """(stdout text, stderr text, exit status) of `check`: `make()` when any file or option changed."""
    import json  # only `check` caches reports: a game's start does not need json

    if not os.path.isdir(directory):
        return make(None)
    sources, content = read_sources(directory)
    store = Store.open(directory, "check", options)
    key = _key(engine_fingerprint(), directory, content, options)
    if store is not None:
        payload = store.read(key)
        if payload is not None:
            try:
                out, err, status = json.loads(payload.decode("utf-8"))
                if isinstance(out, str) and isinstance(err, str) and isinstance(status, int):
                    return out, err, status
            except (ValueError, TypeError):
                pass
    out, err, status = make((sources, content))
    if store is not None and all(s.data is not None for s in sources):
        store.write(key, json.dumps([out, err, status]).encode("utf-8"))
    return out, err, status
