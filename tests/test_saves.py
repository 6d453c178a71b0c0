"""Saves: round trips, saves after a story edit, damaged and foreign files, slot names, atomic writes."""

import json
import os

import pytest

from engine import saves
from engine.game import Game
from engine.loader import load
from engine.runtime import find_choice
from engine.saves import SaveError, read_save, write_save
from engine.session import Session

from conftest import write_story

STORY = """\
title: Saves
start: a
items:
  mop: {name: mop handle}
counters:
  noise: {min: 0, max: 9}
nodes:
  a:
    text: Start.
    choices:
      - {id: mop, text: Take the mop, do: [{gain: mop}], goto: b}
      - {id: run, text: Run, goto: b}
  b:
    text: Middle.
    choices:
      - id: coin
        text: Toss a coin
        random:
          - {goto: c, do: [{add: {noise: 1}}]}
          - {goto: c, do: [{add: {noise: 2}}]}
  c:
    text: Late.
    choices:
      - {id: on, text: Go on, goto: end}
  end:
    text: The end.
    ending: {title: End}
"""


def play(story, seed, *keys):
    session = Session(story, seed)
    for key in keys:
        session.choose(find_choice(story, session.state, key))
    return session


@pytest.fixture
def story(tmp_path):
    return load(write_story(tmp_path / "v1", {"story.yaml": STORY}))


def test_round_trip_restores_state_log_and_undo(story, tmp_path):
    session = play(story, 11, "mop", "coin")
    path = write_save(tmp_path / "saves", "slot-1", session)
    assert path == tmp_path / "saves" / "slot-1.json"
    data = json.loads(path.read_text())
    assert data["version"] == saves.SAVE_VERSION and data["seed"] == 11
    assert data["story"] == {"title": "Saves", "hash": story.content_hash}
    assert [e["choice"] for e in data["log"]] == ["mop", "coin"]
    restored = read_save(tmp_path / "saves", "slot-1", story)
    assert restored.exact and restored.session.state == session.state
    assert restored.session.undo() and restored.session.state == session.history[1]


def test_same_seed_same_random_outcome(story):
    noises = {seed: play(story, seed, "run", "coin").state.counters for seed in range(40)}
    assert {n for n in noises.values()} == {(1,), (2,)}
    assert all(play(story, seed, "run", "coin").state.counters == n for seed, n in noises.items())


def test_save_after_story_edit_replays_to_the_end(story, tmp_path):
    session = play(story, 3, "mop", "coin")
    write_save(tmp_path / "saves", "s", session)
    edited = load(write_story(tmp_path / "v2", {"story.yaml": STORY.replace("Middle.", "Middle, rewritten.")}))
    assert edited.content_hash != story.content_hash
    restored = read_save(tmp_path / "saves", "s", edited)
    assert not restored.exact
    assert restored.session.state.node == "c" and restored.session.state.items == {"mop"}
    assert "all 2 choices were replayed" in restored.message


def test_save_after_story_edit_resumes_where_it_diverges(story, tmp_path):
    session = play(story, 3, "mop", "coin", "on")
    write_save(tmp_path / "saves", "s", session)
    edited = load(write_story(tmp_path / "v2", {"story.yaml": STORY.replace("id: mop,", "id: grab-mop,")}))
    restored = read_save(tmp_path / "saves", "s", edited)
    assert restored.session.state.node == "a" and restored.session.state.turn == 0
    assert restored.message == ("The story has changed since 's' was saved: resumed after 0 of 3 choices, because at "
                                "choice 1 the choice 'mop' ('Take the mop') is no longer offered at 'a'.")


@pytest.mark.parametrize("content, expected", [
    (b'{"format": "aoud-adventure-save", "vers', "is not a readable save file (line 1, column 35)"),
    (b"\xff\xfe garbage", "is not a readable save file"),
    (b"[1, 2]", "is not a save file: expected a JSON object"),
    (b'{"format": "something-else"}', "is not an aoud-adventure save file"),
])
def test_corrupt_saves_get_a_clear_message(story, tmp_path, content, expected):
    (tmp_path / "bad.json").write_bytes(content)
    with pytest.raises(SaveError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        read_save(tmp_path, "bad", story)


def _tamper(story, tmp_path, change):
    session = play(story, 5, "mop", "coin")
    path = write_save(tmp_path, "t", session)
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    return path


def test_tampered_state_is_refused(story, tmp_path):
    _tamper(story, tmp_path, lambda d: d["state"]["counters"].update(noise=-4))
    with pytest.raises(SaveError, match="records a state its own choices do not lead to"):
        read_save(tmp_path, "t", story)


def test_tampered_log_is_refused(story, tmp_path):
    _tamper(story, tmp_path, lambda d: d["log"].__setitem__(0, {"node": "a", "choice": "teleport", "text": ""}))
    with pytest.raises(SaveError, match="does not match its own story"):
        read_save(tmp_path, "t", story)


def test_newer_format_and_foreign_story_are_refused(story, tmp_path):
    _tamper(story, tmp_path, lambda d: d.update(version=99))
    with pytest.raises(SaveError, match="newer version of the game"):
        read_save(tmp_path, "t", story)
    _tamper(story, tmp_path, lambda d: d["story"].update(title="Another Game"))
    with pytest.raises(SaveError, match="belongs to another story"):
        read_save(tmp_path, "t", story)


@pytest.mark.parametrize("slot", ["../escape", "/etc/passwd", "a/b", "", "x\0y", ".hidden", "CON", "gallery",
                                  "a" * 41, "name.json"])
def test_bad_slot_names_are_refused(story, tmp_path, slot):
    with pytest.raises(SaveError):
        write_save(tmp_path / "saves", slot, play(story, 1))
    assert not (tmp_path / "escape.json").exists()
    assert not (tmp_path / "saves").exists() or list((tmp_path / "saves").iterdir()) == []


def test_a_failed_write_keeps_the_previous_save(story, tmp_path, monkeypatch):
    directory = tmp_path / "saves"
    write_save(directory, "keep", play(story, 1, "mop"))
    before = (directory / "keep.json").read_bytes()

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(SaveError, match="No space left on device.*untouched"):
        write_save(directory, "keep", play(story, 1, "run", "coin"))
    assert (directory / "keep.json").read_bytes() == before
    assert [p.name for p in directory.iterdir()] == ["keep.json"], "no temporary file is left behind"


def test_game_keeps_going_after_a_bad_load(story, tmp_path):
    game = Game(story, tmp_path, seed=2)
    game.choose_number(1)
    (tmp_path / "broken.json").write_text("{")
    message = game.load("broken")
    assert message.startswith("Could not load:") and message.endswith("The current game goes on.")
    assert game.state.node == "b" and game.state.items == {"mop"}
    assert game.load("../x").startswith("Could not load: a slot name is")


def test_autosave_gallery_and_continue(story, tmp_path):
    game = Game(story, tmp_path, seed=4)
    for _ in range(3):
        assert game.choose_number(1) is not None
    assert game.session.ended and game.newly_found
    assert json.loads((tmp_path / "autosave.json").read_text())["state"]["node"] == "end"
    assert saves.read_gallery(tmp_path, story).keys() == {"end"}
    again = Game(story, tmp_path, seed=9)
    assert again.load() == "Loaded 'autosave': turn 3."
    assert again.state.node == "end"
    assert again.ending_lines()[-1] == "Ending already found. Endings found: 1 of 1."
