"""The fast load path reports exactly what the careful one did: depth, tags, resolved types, positions."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from engine import loader, yamlsafe
from engine.loader import load_story

ROOT = Path(__file__).resolve().parent.parent
HEAD = "title: x\nstart: a\n"

TRICKY = {
    "flow 150 deep": HEAD + "nodes:\n  a:\n    text: " + "[" * 150 + "]" * 150 + "\n",
    "block 150 deep": HEAD + "nodes:\n" + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(150)),
    "compact 150 deep": HEAD + "nodes:\n  a:\n    choices:\n" + "      " + "- " * 150 + "x\n",
    "pairs in lists": HEAD + "nodes:\n  a:\n    text: " + "[a: " * 70 + "b" + "]" * 70 + "\n",
    "anchored deep": HEAD + "deep: &d " + "[" * 60 + "]" * 60 + "\nnodes:\n  a:\n    text: " + "[" * 50 + "*d"
    + "]" * 50 + "\n",
    "deep then broken": HEAD + "nodes:\n  a:\n    text: " + "[" * 120 + "\n  b: ]\n",
    "broken then deep": HEAD + "nodes: ]\n  a:\n    text: " + "[" * 120 + "]" * 120 + "\n",
    "two documents": HEAD + "---\n" + "[" * 110 + "]" * 110 + "\n",
    "tags": HEAD + "nodes:\n  a: !!python/object:os.system\n    text: !foo " + "[" * 30 + "]" * 30 + "\n",
}


def _shown(directory, problems) -> list:
    return [str(p).replace(f"{directory}/", "") for p in problems]


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_composing_first_reports_what_scanning_first_did(story_dir, monkeypatch, name):
    directory = story_dir({"story.yaml": TRICKY[name]})
    fast = _shown(directory, load_story(directory)[1])
    monkeypatch.setattr(loader, "compose_budget", lambda: yamlsafe.MAX_DEPTH)  # always scan before composing
    careful = _shown(directory, load_story(directory)[1])
    assert fast == careful and fast


def test_the_deep_cases_point_at_the_token_that_passes_the_limit(story_dir):
    expected = {
        "flow 150 deep": "story.yaml:5:108",
        "block 150 deep": "story.yaml:103:101",
        "compact 150 deep": "story.yaml:6:201",
        "deep then broken": "story.yaml:5:108",
        "two documents": "story.yaml:4:101",
    }
    for name, where in expected.items():
        directory = story_dir({"story.yaml": TRICKY[name]})
        problems = _shown(directory, load_story(directory)[1])
        assert problems[0] == (f"{where}: error: expected mappings and lists nested at most 100 deep, found deeper "
                               "nesting here [too-deep]"), name


@pytest.mark.parametrize("command", ["check", "replay"])
def test_compact_nesting_deep_enough_to_crash_libyaml_is_refused(tmp_path, command):
    body = "- " * 100_000 + "x\n"  # composing this recursed past the C stack: a segmentation fault
    if command == "check":
        (tmp_path / "story.yaml").write_text(HEAD + "nodes:\n  a:\n    text: A.\n    ending: {title: E}\n")
        (tmp_path / "deep.yaml").write_text(body)
        args, where = ["check", str(tmp_path)], f"{tmp_path}/deep.yaml:1:201: error: expected mappings and lists"
    else:
        (tmp_path / "deep.replay.yaml").write_text("steps:\n  - expect: \n      " + body)
        args, where = ["replay", str(tmp_path / "deep.replay.yaml")], "deep.replay.yaml:3: expected mappings and lists"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AOUD_NO_CACHE": "1"}
    run = subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True, env=env,
                         timeout=120)
    assert run.returncode in (1, 2), run.stderr[-2000:]
    assert where in run.stdout + run.stderr


def test_the_lean_resolver_gives_every_scalar_the_same_tag():
    values = ["", "~", "null", "Null", "NULL", "n", "no", "No", "NO", "y", "yes", "true", "True", "TRUE", "false",
              "on", "Off", "0", "-1", "+7", "0x1F", "0o17", "017", "0b101", "1_000", "190:20:30", "1.5", "-.5",
              ".inf", "-.Inf", ".NaN", "6.8523015e+5", "2001-12-14", "2001-12-14t21:59:43.10-05:00", "<<", "=",
              "text", "the end", "noise < 3", "- x", "&a", "!x", "*b", "1a", "0.", "+", "-", ".", "tru"]
    for value in values:
        for quoted in (False, True):
            text = f"k: {value!r}\n" if quoted else f"k: {value}\n"
            try:
                ours = yaml.compose(text, Loader=yamlsafe.SafeLoader)
                theirs = yaml.compose(text, Loader=yaml.CSafeLoader)
            except yaml.YAMLError:
                continue
            assert ours.value[0][1].tag == theirs.value[0][1].tag, text


def test_the_nesting_bound_is_never_below_the_real_depth():
    for text in TRICKY.values():
        lines = text.splitlines()
        bound = yamlsafe.nesting_bound(lines, text)
        depth = 0
        deepest = 0
        try:
            for token in yaml.scan(text, Loader=yamlsafe.SafeLoader):
                if isinstance(token, yamlsafe._OPENING):
                    depth += 1
                    deepest = max(deepest, depth)
                elif isinstance(token, yamlsafe._CLOSING):
                    depth -= 1
        except yaml.YAMLError:
            pass
        assert deepest <= bound
