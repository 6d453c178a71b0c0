"""Shared fixtures: inline stories written to a temporary directory."""

pytest_plugins = ["pytester"]

import os
import textwrap
from pathlib import Path

import pytest

from engine.loader import load, load_story

BASIC_MANIFEST = """\
title: Test Story
start: a
"""


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """The story cache goes to a temporary directory, never the user's home (child processes inherit it)."""
    before = os.environ.get("AOUD_CACHE_DIR")
    os.environ["AOUD_CACHE_DIR"] = str(tmp_path_factory.mktemp("aoud-cache"))
    yield
    if before is None:
        os.environ.pop("AOUD_CACHE_DIR", None)
    else:
        os.environ["AOUD_CACHE_DIR"] = before


def write_story(root: Path, files: dict) -> Path:
    """Write {relative path: YAML text} under root/story and return that directory."""
    directory = root / "story"
    for rel, body in files.items():
        path = directory / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(body), encoding="utf-8")
    return directory


@pytest.fixture
def story_dir(tmp_path):
    """A function: files -> story directory."""
    return lambda files: write_story(tmp_path, files)


@pytest.fixture
def make_story(tmp_path):
    """A function: (manifest, nodes yaml) -> loaded Story (fails the test on load errors)."""

    def make(manifest: str, nodes: str = ""):
        files = {"story.yaml": manifest}
        if nodes:
            files["scene.yaml"] = nodes
        directory = write_story(tmp_path, files)
        return load(directory)

    return make


@pytest.fixture
def problems_of(tmp_path):
    """A function: files -> list of problem strings (the story is expected not to load)."""

    def run(files: dict):
        directory = write_story(tmp_path, files)
        story, problems = load_story(directory)
        return [str(p).replace(str(directory) + "/", "") for p in problems]

    return run
