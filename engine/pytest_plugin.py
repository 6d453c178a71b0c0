"""A pytest plugin: every `*.replay.yaml` file is a test that runs its replay script."""

from __future__ import annotations

import os

import pytest

from . import replay
from .loader import load_story

_STORIES = pytest.StashKey[dict]()


class ReplayFailure(Exception):
    """A replay script that failed an expectation or could not run; its message is the report."""


def pytest_collect_file(file_path, parent):
    if file_path.name.endswith(".replay.yaml"):
        return ReplayFile.from_parent(parent, path=file_path)
    return None


class ReplayFile(pytest.File):
    def collect(self):
        yield ReplayItem.from_parent(self, name=self.path.name[: -len(".replay.yaml")])


class ReplayItem(pytest.Item):
    def runtest(self) -> None:
        try:
            script = replay.parse_script(self.path)
        except replay.ScriptError as err:
            raise ReplayFailure(str(err)) from None
        if script.story is None:
            from .cli import bundled_story_dir

            directory = str(bundled_story_dir())
        else:
            directory = script.story
        story = self._story(directory)
        result = replay.run_script(script, story)
        if not result.passed:
            raise ReplayFailure(result.message)

    def _story(self, directory: str):
        cache = self.config.stash.setdefault(_STORIES, {})
        key = os.path.abspath(directory)
        if key not in cache:
            cache[key] = load_story(directory)
        story, problems = cache[key]
        if story is None:
            errors = "\n".join(str(p) for p in problems if p.level == "error")
            raise ReplayFailure(f"{self.path}:1: the story {directory!r} has errors:\n{errors}")
        return story

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, ReplayFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, 0, f"replay {self.name}"
