"""A story directory's files as bytes, and their content hash: no YAML, so a cache hit needs no parser."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

MAX_FILE_BYTES = 16 * 1024 * 1024
MANIFEST_NAME = "story.yaml"


@dataclass(frozen=True, slots=True)
class Source:
    """One story file as read: its bytes, or why it could not be read."""

    rel: str  # relative to the story directory, with forward slashes
    shown: str  # the path as messages show it: the directory as given, joined with rel
    data: Optional[bytes]  # None when the file is too large or unreadable
    size: int = 0  # set when the file is too large
    error: Optional[str] = None  # the OS's reason when it is unreadable


def story_files(directory) -> list:
    """The story's files, relative to `directory`, in a stable order."""
    root = Path(directory)
    found = []
    for path in root.rglob("*.yaml"):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        found.append(rel.as_posix())
    return sorted(found)


def read_sources(directory: str) -> tuple[list, str]:
    """(every story file as a Source, the story's content hash as Story.content_hash has it)."""
    digest = hashlib.sha256()
    out = []
    for rel in story_files(directory):
        shown = os.path.join(directory, rel)
        path = Path(directory, rel)
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                out.append(Source(rel, shown, None, size=size))
                continue
            data = path.read_bytes()
        except OSError as err:
            out.append(Source(rel, shown, None, error=f"{err.strerror}"))
            continue
        digest.update(rel.encode() + b"\0" + data + b"\0")
        out.append(Source(rel, shown, data))
    return out, digest.hexdigest()
