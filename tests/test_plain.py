"""Plain mode, driven as a subprocess through pipes, the way scripts and screen readers use it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import write_story

ROOT = Path(__file__).resolve().parent.parent

STORY = """\
title: Plain
start: hall
characters:
  su-hyeok: {name: Lee Su-hyeok, short: Su-hyeok, fate: in-group}
items:
  mop: {name: mop handle}
nodes:
  hall:
    text: |
      The hall is empty. {if with su-hyeok}Su-hyeok is behind you.{end}
    choices:
      - {id: mop, text: Take the mop, if: not has mop, do: [{gain: mop}], goto: hall}
      - {id: door, text: Force the door, if: has mop, locked: It will not move by hand., goto: out}
      - {id: wait, text: Wait, goto: hall}
  out:
    text: The door gives.
    ending:
      title: Through the Door
      epilogue: You got out with {group}, carrying {items}.
"""


def run(args, stdin: str, cwd, env_extra=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("AOUD_SAVE_DIR", None)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "engine", *args], input=stdin, capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=60)


@pytest.fixture
def story(tmp_path):
    return write_story(tmp_path, {"story.yaml": STORY})


def test_numbers_reach_an_ending(story, tmp_path):
    result = run(["--story", str(story), "--seed", "1"], "1\n1\n", tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "1) Take the mop" in lines and "-) Force the door (unavailable: It will not move by hand.)" in lines
    assert "ENDING: Through the Door" in lines
    assert "You got out with Su-hyeok, carrying a mop handle." in lines
    assert "\x1b" not in result.stdout, "no escape sequences when output is not a terminal"
    autosave = json.loads((tmp_path / "saves" / "autosave.json").read_text())
    assert autosave["state"]["node"] == "out" and [e["choice"] for e in autosave["log"]] == ["mop", "door"]
    gallery = json.loads((tmp_path / "saves" / "gallery.json").read_text())
    assert list(gallery["stories"]["Plain"]) == ["out"]


def test_commands_save_undo_status_inventory_help(story, tmp_path):
    script = "1\ninventory\nstatus\nundo\ninventory\nsave mine\nhelp\nbogus\n7\nquit\n"
    result = run(["play", "--plain", "--story", str(story), "--save-dir", "s", "--seed", "2"], script, tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.count("You carry:\n  mop handle") == 1 and "You carry nothing." in out
    assert "You: [----] clean" in out and "  Su-hyeok: with you" in out
    assert "You take it back." in out
    assert "I don't know 'bogus'" in out and "There is no choice 7; type a number from 1 to 2" in out
    saved = json.loads((tmp_path / "s" / "mine.json").read_text())
    assert saved["log"] == [] and saved["state"]["items"] == []


def test_end_of_input_exits_0_and_saves_nothing_new(story, tmp_path):
    result = run(["--story", str(story), "--save-dir", "s"], "", tmp_path)
    assert result.returncode == 0 and "1) Take the mop" in result.stdout
    assert not (tmp_path / "s").exists()


def test_continue_and_load_resume(story, tmp_path):
    run(["--story", str(story), "--save-dir", "s", "--seed", "3"], "1\nsave here\n", tmp_path)
    result = run(["--story", str(story), "--save-dir", "s", "--load", "here"], "1\n", tmp_path)
    assert result.stdout.startswith("Loaded 'here': turn 1.")
    assert "ENDING: Through the Door" in result.stdout
    result = run(["--story", str(story), "--save-dir", "s", "--continue"], "", tmp_path)
    assert result.stdout.startswith("Loaded 'autosave': turn 2.") and "ENDING: Through the Door" in result.stdout


def test_save_dir_from_the_environment(story, tmp_path):
    result = run(["--story", str(story)], "1\n", tmp_path, {"AOUD_SAVE_DIR": str(tmp_path / "env-saves")})
    assert result.returncode == 0
    assert (tmp_path / "env-saves" / "autosave.json").exists() and not (tmp_path / "saves").exists()


def test_bad_input_never_shows_a_traceback(story, tmp_path):
    bad_story = run(["--story", str(tmp_path / "missing")], "", tmp_path)
    assert bad_story.returncode == 1 and "expected a story directory" in bad_story.stderr
    bad_slot = run(["--story", str(story), "--load", "../../etc/passwd"], "", tmp_path)
    assert bad_slot.returncode == 2 and "slot name" in bad_slot.stderr
    usage = run(["play", "--seed", "many"], "", tmp_path)
    assert usage.returncode == 2 and "invalid int value" in usage.stderr
    unknown = run(["fly"], "", tmp_path)
    assert unknown.returncode == 2
    for result in (bad_story, bad_slot, usage, unknown):
        assert "Traceback" not in result.stderr


def test_bundled_campaign_plays_to_an_ending(tmp_path):
    """Choosing the first offered choice each turn ends the bundled campaign."""
    result = run(["--seed", "1", "--save-dir", str(tmp_path / "s")], "1\n" * 400, tmp_path)
    assert result.returncode == 0, result.stderr
    assert any(line.startswith("ENDING: ") for line in result.stdout.splitlines())
