"""Writers trying a scene: `play --from` with a preset state, and reloading the story after an edit."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine import saves
from engine.game import Game
from engine.loader import load
from engine.preset import PresetError, preset_state

from conftest import write_story

ROOT = Path(__file__).resolve().parent.parent

STORY = """\
title: Writer
start: hall
characters:
  nam-ra: {name: Choi Nam-ra, short: Nam-ra, fate: in-group}
items:
  key: {name: gym key}
flags:
  dark: {}
counters:
  noise: {min: 0, max: 5}
nodes:
  hall:
    text: The hall.
    choices:
      - {id: on, text: On to the gym, goto: gym}
  gym:
    text: |
      The gym door. {if dark}It is dark.{end} {if with nam-ra}Nam-ra waits.{else}You are alone.{end}
    choices:
      - {id: unlock, text: Unlock it, if: has key, goto: out}
      - {id: wait, text: Wait, do: [{add: {noise: 1}}], goto: gym}
  out:
    text: Out.
    ending: {title: Out}
"""


def test_preset_state_and_its_errors(tmp_path):
    story = load(write_story(tmp_path, {"story.yaml": STORY}))
    state = preset_state(story, "gym", seed=1, items=["key"], fates={"nam-ra": "dead"}, flags=["dark"],
                         counters={"noise": 3}, infection={"you": 5})
    assert (state.node, state.items, state.fates, state.flags, state.counters, state.infection) == (
        "gym", {"key"}, ("dead",), {"dark"}, (3,), (5, -1))
    with pytest.raises(PresetError, match="node: 'gim' is not declared; did you mean 'gym'"):
        preset_state(story, "gim", 1)
    with pytest.raises(PresetError, match="item: 'kee' is not declared; did you mean 'key'"):
        preset_state(story, "gym", 1, items=["kee"])
    with pytest.raises(PresetError, match="fate of nam-ra: expected one of"):
        preset_state(story, "gym", 1, fates={"nam-ra": "happy"})
    with pytest.raises(PresetError, match=r"counter noise: expected a whole number in 0..5, found 9"):
        preset_state(story, "gym", 1, counters={"noise": 9})


def run(args, stdin, cwd):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "engine", *args], input=stdin, capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=60)


def test_play_from_a_node_with_a_preset_state(tmp_path):
    story = write_story(tmp_path, {"story.yaml": STORY})
    result = run(["play", "--story", str(story), "--save-dir", "s", "--from", "gym", "--give", "key", "--fate",
                  "nam-ra=dead", "--flag", "dark", "--counter", "noise=2"], "status\nsave try\n1\n", tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("The gym door. It is dark. You are alone.")
    assert "1) Unlock it" in result.stdout and "Nam-ra: dead" in result.stdout
    assert "ENDING: Out" in result.stdout
    restored = saves.read_save(tmp_path / "s", "try", load(story))
    assert restored.exact and restored.session.state.node == "gym" and restored.session.state.items == {"key"}
    assert restored.session.state.counters == (2,) and restored.session.state.flags == {"dark"}
    bad = run(["play", "--story", str(story), "--from", "gym", "--fate", "nam-ra"], "", tmp_path)
    assert bad.returncode == 2 and "--fate: expected NAME=VALUE, found 'nam-ra'" in bad.stderr


def test_reload_keeps_the_state_where_it_fits(tmp_path):
    directory = write_story(tmp_path, {"story.yaml": STORY})
    game = Game(load(directory), tmp_path / "s", seed=1)
    game.choose_number(1)
    game.choose_number(1)  # wait
    assert game.state.counters == (1,)
    (directory / "story.yaml").write_text(STORY.replace("The gym door.", "The gym door, chained."))
    message = game.reload()
    assert message == "Reloaded the story: all 2 choices were replayed and the game resumes at turn 2."
    assert game.state.node == "gym" and game.state.counters == (1,)
    assert "chained" in game.story.nodes["gym"].text.source


def test_reload_says_where_it_no_longer_fits(tmp_path):
    directory = write_story(tmp_path, {"story.yaml": STORY})
    game = Game(load(directory), tmp_path / "s", seed=1)
    game.choose_number(1)
    game.choose_number(1)
    (directory / "story.yaml").write_text(STORY.replace("{id: wait, text: Wait,", "{id: rest, text: Rest,"))
    assert game.reload() == ("Reloaded the story: resumed after 1 of 2 choices, because at choice 2 the choice "
                             "'wait' ('Wait') is no longer offered at 'gym'.")
    assert game.state.node == "gym" and game.state.turn == 1


def test_reload_with_errors_keeps_playing_the_old_story(tmp_path):
    directory = write_story(tmp_path, {"story.yaml": STORY})
    game = Game(load(directory), tmp_path / "s", seed=1)
    game.choose_number(1)
    (directory / "story.yaml").write_text(STORY.replace("goto: out", "goto: outt"))
    message = game.reload()
    assert message.startswith("The story now has errors, so the game goes on with the version already loaded:")
    assert "goto: no node has the id 'outt'; did you mean 'out'? [dangling-goto]" in message
    assert game.state.node == "gym" and game.story.nodes["gym"].choices[0].goto == "out"
