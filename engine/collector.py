"""The cyclic garbage collector paused while a long search or check builds data that lives on."""

from __future__ import annotations

import gc
from contextlib import contextmanager


@contextmanager
def collector_paused():
    """The cyclic collector waits inside the block, and resumes after it if it was running.

    The checks and searches keep what they build (abstract states, edges, every state met)
    to the end, and none of it is cyclic garbage, so each collection would only re-scan it
    and the story: half the time of a check of a large story, a tenth of an exhaustive search.
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def keep_loaded() -> None:
    """What is alive now (a command's loaded story) lives to the command's end: the collector stops scanning it.

    Left in the young generations, a 10,000-node story is scanned again by the collector's
    passes as a random exploration runs: a third of its time. `release_kept` gives it back.
    """
    gc.freeze()


def release_kept() -> None:
    """The objects keep_loaded set aside become collectable again (when a process runs more than one command)."""
    gc.unfreeze()
