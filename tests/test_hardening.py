"""Bad stories, bad saves, bad terminals: a located message every time, nothing lost, no traceback."""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import explore, invariants, runtime, saves
from engine.cli import main
from engine.game import Game
from engine.loader import load, load_story
from engine.replay import ScriptError, parse_script
from engine.saves import SaveError
from engine.session import Session


ROOT = Path(__file__).resolve().parent.parent
CAMPAIGN = ROOT / "story"


def env():
    e = {**os.environ, "PYTHONPATH": str(ROOT)}
    e.pop("AOUD_SAVE_DIR", None)
    return e


# -- stories -----------------------------------------------------------------------------------


def _campaign_copy(tmp_path) -> Path:
    target = tmp_path / "story"
    shutil.copytree(CAMPAIGN, target)
    return target


MUTATIONS = st.sampled_from(["delete-line", "cut-file", "swap-type", "bad-reference", "duplicate-line",
                             "garbage-bytes", "indent"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), mutation=MUTATIONS)
def test_mutated_campaign_files_get_only_located_errors(tmp_path_factory, data, mutation):
    directory = _campaign_copy(tmp_path_factory.mktemp("mut"))
    files = sorted(directory.glob("*.yaml"))
    path = data.draw(st.sampled_from(files), label="file")
    lines = path.read_text(encoding="utf-8").splitlines()
    i = data.draw(st.integers(0, max(0, len(lines) - 1)), label="line")
    if mutation == "delete-line":
        del lines[i]
    elif mutation == "cut-file":
        lines = lines[:i]
    elif mutation == "swap-type":
        key, sep, _ = lines[i].partition(":")
        if sep:
            lines[i] = key + ": " + data.draw(st.sampled_from(["[1, 2]", "{a: b}", "42", "true", "", "~"]))
    elif mutation == "bad-reference":
        lines[i] = lines[i].replace("goto: ", "goto: x").replace("gain: ", "gain: x").replace("with ", "with x")
    elif mutation == "duplicate-line":
        lines.insert(i, lines[i])
    elif mutation == "indent":
        lines[i] = " " + lines[i]
    text = "\n".join(lines) + "\n"
    if mutation == "garbage-bytes":
        raw = text.encode("utf-8")
        cut = data.draw(st.integers(0, len(raw)), label="at")
        path.write_bytes(raw[:cut] + data.draw(st.binary(min_size=1, max_size=8)) + raw[cut:])
    else:
        path.write_text(text, encoding="utf-8")
    story, problems = load_story(directory)  # must not raise
    for problem in problems:
        assert problem.where.path.startswith(str(directory))
        assert problem.where.line >= 1 and problem.where.column >= 1
        assert problem.level in ("error", "warning") and problem.rule and problem.message
    assert (story is None) == any(p.level == "error" for p in problems)


def test_alias_bomb_is_refused_quickly_with_bounded_memory(story_dir):
    lines = ['title: x', 'start: a', 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    lines += ["nodes:", "  a:", "    text: hi", "    choices: *a9"]
    directory = story_dir({"story.yaml": "\n".join(lines) + "\n"})
    tracemalloc.start()
    story, problems = load_story(directory)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert story is None and peak < 64 * 1024 * 1024
    assert "story.yaml:4:1: error: unknown key 'a1' in a manifest" in str(problems[1])


@pytest.mark.parametrize("body, where", [
    ("title: x\nstart: a\nnodes:\n  a:\n    text: " + "[" * 5000 + "]" * 5000 + "\n", "story.yaml:5:108"),
    ("title: x\nstart: a\nnodes:\n" + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(3000)), "story.yaml:103:101"),
])
def test_deep_nesting_is_refused_before_it_can_crash(story_dir, body, where):
    directory = story_dir({"story.yaml": body})
    _, problems = load_story(directory)
    assert [str(p).replace(f"{directory}/", "") for p in problems] == [
        f"{where}: error: expected mappings and lists nested at most 100 deep, found deeper nesting here [too-deep]"]


def test_a_huge_file_and_a_binary_file_are_refused(story_dir):
    directory = story_dir({"story.yaml": "title: x\nstart: a\nnodes:\n  a:\n    text: A.\n    ending: {title: E}\n"})
    with open(directory / "huge.yaml", "wb") as out:
        out.truncate(300 * 1024 * 1024)  # sparse: no real disk used, and never read
    (directory / "blob.yaml").write_bytes(b"\x7fELF\x02\x01\x01\x00\x00" * 10)
    tracemalloc.start()
    _, problems = load_story(directory)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 32 * 1024 * 1024
    shown = [str(p).replace(f"{directory}/", "") for p in problems]
    assert shown == [
        "blob.yaml:1:1: error: expected YAML text, found binary data (a NUL byte) [not-text]",
        "huge.yaml:1:1: error: expected a story file under 16 MiB, found 300 MiB; hint: split the story into "
        "smaller files [file-too-large]",
    ]


def test_deep_replay_script_is_a_located_usage_error(tmp_path, capsys):
    script = tmp_path / "deep.replay.yaml"
    script.write_text("steps:\n  - expect: " + "[" * 3000 + "]" * 3000 + "\n")
    with pytest.raises(ScriptError, match=r"deep.replay.yaml:2: expected mappings and lists nested at most 100"):
        parse_script(script)
    assert main(["replay", str(script)]) == 2


# -- saves -------------------------------------------------------------------------------------

SMALL = """\
title: Small
start: a
items:
  key: {name: key}
counters:
  noise: {min: 0, max: 3}
nodes:
  a:
    text: A.
    choices:
      - {id: key, text: Key, do: [{gain: key}, {add: {noise: 1}}], goto: b}
  b:
    text: B.
    choices:
      - {id: back, text: Back, goto: a}
      - {id: end, text: End, goto: end}
  end:
    text: End.
    ending: {title: End}
"""


@pytest.fixture
def small(story_dir):
    return load(story_dir({"story.yaml": SMALL}))


def _good_save(small, directory):
    game = Game(small, directory, seed=1)
    game.choose_number(1)
    assert game.save("good").startswith("Saved")
    return directory / "good.json"


@pytest.mark.parametrize("damage, message", [
    (lambda d: d.__setitem__("state", {**d["state"], "node": "nowhere"}), "records a state its own choices do not lead"),
    (lambda d: d["state"].__setitem__("items", ["key", "crown"]), "records a state its own choices do not lead"),
    (lambda d: d["state"]["counters"].__setitem__("noise", -1), "records a state its own choices do not lead"),
    (lambda d: d.__setitem__("start", {"node": "a", "items": ["crown"]}), "starts from a state this story cannot"),
    (lambda d: d["story"].__setitem__("title", "Other"), "belongs to another story"),
    (lambda d: d.__setitem__("version", 2), "made by a newer version of the game"),
    (lambda d: d.__setitem__("log", "everything"), "has no choice log"),
    (lambda d: d.__setitem__("seed", "x"), "has no seed"),
])
def test_tampered_saves_get_a_message_and_stay_untouched(small, tmp_path, damage, message):
    path = _good_save(small, tmp_path)
    data = json.loads(path.read_text())
    damage(data)
    path.write_text(json.dumps(data))
    before = path.read_bytes()
    game = Game(small, tmp_path, seed=5)
    reply = game.load("good")
    assert reply.startswith("Could not load:") and message in reply, reply
    assert game.state.node == "a" and game.state.turn == 0, "the game goes on as it was"
    assert path.read_bytes() == before, "the damaged save is not overwritten"


def test_changed_story_hash_resumes_honestly(small, tmp_path):
    path = _good_save(small, tmp_path)
    data = json.loads(path.read_text())
    data["story"]["hash"] = "0" * 64
    path.write_text(json.dumps(data))
    restored = saves.read_save(tmp_path, "good", small)
    assert not restored.exact and restored.session.state.node == "b"
    assert "The story has changed since 'good' was saved" in restored.message


@pytest.mark.parametrize("cut", [0, 10, 50, -5])
def test_truncated_saves(small, tmp_path, cut):
    path = _good_save(small, tmp_path)
    path.write_bytes(path.read_bytes()[:cut])
    with pytest.raises(SaveError, match="not a readable save file|not a save file"):
        saves.read_save(tmp_path, "good", small)


def test_unwritable_save_directory_keeps_the_previous_save(small, tmp_path, monkeypatch):
    path = _good_save(small, tmp_path)
    before = path.read_bytes()
    game = Game(small, tmp_path, seed=1)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("tempfile.mkstemp", refuse)
    assert game.save("good").startswith("Not saved: could not write")
    notes = game.choose_number(1)
    assert any(note.startswith("(Autosave failed:") for note in notes), "a failed autosave is said, not raised"
    assert path.read_bytes() == before


def test_missing_save_directory_is_created(small, tmp_path):
    game = Game(small, tmp_path / "a" / "b", seed=1)
    game.choose_number(1)
    assert (tmp_path / "a" / "b" / "autosave.json").exists()


def test_a_file_in_place_of_the_save_directory(small, tmp_path):
    (tmp_path / "saves").write_text("not a directory")
    game = Game(small, tmp_path / "saves", seed=1)
    assert game.save("x").startswith("Not saved: cannot create the save directory")
    assert game.load("x").startswith("Could not load:")


def test_two_games_writing_one_slot_at_once_leave_a_whole_save(small, tmp_path):
    directory = tmp_path / "saves"
    games = [Game(small, directory, seed=s) for s in (1, 2)]
    games[0].choose_number(1)
    errors = []

    def hammer(game):
        for _ in range(60):
            reply = game.save("shared")
            if not reply.startswith("Saved"):
                errors.append(reply)

    threads = [threading.Thread(target=hammer, args=(g,)) for g in games]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    restored = saves.read_save(directory, "shared", small)
    assert restored.exact and restored.session.state.turn in (0, 1)
    assert sorted(p.name for p in directory.iterdir()) == ["autosave.json", "shared.json"], "no temporary files left"


# -- terminal and process ----------------------------------------------------------------------


def test_closed_pipe_is_quiet(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "engine", "--seed", "1", "--save-dir", str(tmp_path)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env(),
                            cwd=tmp_path)
    proc.stdout.close()  # the reader went away
    try:
        proc.stdin.write(b"1\n" * 50)
        proc.stdin.close()
    except BrokenPipeError:
        pass
    assert proc.wait(timeout=60) == 0
    assert b"Traceback" not in proc.stderr.read()


def test_ascii_only_terminal_and_c_locale(tmp_path):
    for extra in ({"PYTHONIOENCODING": "ascii"}, {"LANG": "C", "LC_ALL": "C"}):
        result = subprocess.run([sys.executable, "-m", "engine", "--seed", "3", "--save-dir", str(tmp_path)],
                                input=b"1\n" * 400, capture_output=True, env={**env(), **extra}, cwd=tmp_path,
                                timeout=120)
        assert result.returncode == 0 and b"Traceback" not in result.stderr
        assert b"ENDING: " in result.stdout


def test_ctrl_c_in_plain_mode_exits_cleanly_after_the_autosave(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "engine", "--plain", "--seed", "1", "--save-dir", str(tmp_path)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env(),
                            cwd=tmp_path)
    proc.stdin.write(b"1\n")
    proc.stdin.flush()
    deadline = time.time() + 30
    while not (tmp_path / "autosave.json").exists() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and b"Traceback" not in err and b"autosaved" in err
    assert json.loads((tmp_path / "autosave.json").read_text())["state"]["turn"] == 1


def test_usage_errors_exit_2_without_traceback(tmp_path):
    for args in (["play", "--seed"], ["explore"], ["replay"], ["check", "--format", "xml"], ["graph", "--format", "png"],
                 ["play", "--continue", "--load", "x"]):
        result = subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True, env=env(),
                                cwd=tmp_path, timeout=60)
        assert result.returncode == 2, args
        assert "Traceback" not in result.stderr and "usage:" in result.stderr


# -- the engine under long random play ---------------------------------------------------------


@pytest.fixture(scope="module")
def campaign():
    return load(CAMPAIGN)


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**40), picks=st.lists(st.integers(0, 50), min_size=1, max_size=400))
def test_random_paths_through_the_campaign_keep_every_invariant(campaign, seed, picks):
    state = runtime.start(campaign, seed)
    for pick in picks:
        node = campaign.nodes[state.node]
        if node.ending is not None:
            break
        offered = runtime.available(campaign, state)
        assert offered, f"soft-lock at {state.node}"
        for choice in offered:
            assert all(target in campaign.nodes for target in choice.targets)
        nxt = runtime.step(campaign, state, offered[pick % len(offered)]).state
        assert invariants.broken(campaign, state, nxt) == []
        state = nxt


def test_thousands_of_seeded_runs_find_no_problem(campaign):
    report = explore.explore_random(campaign, runs=3000, seed=20261121)
    assert [str(f) for f in report.findings if f.level == "error"] == []
    assert sum(report.coverage.endings.values()) + sum(1 for f in report.findings if f.kind == "long-run") == 3000


def test_a_save_replays_a_long_run_exactly(campaign, tmp_path):
    session = Session(campaign, seed=77)
    while not session.ended:
        offered = runtime.available(campaign, session.state)
        session.choose(offered[session.state.turn % len(offered)])
    saves.write_save(tmp_path, "long", session)
    restored = saves.read_save(tmp_path, "long", campaign)
    assert restored.exact and restored.session.history == session.history


def _normalize_by_regex(text: str) -> str:
    """normalize() as first written, with regular expressions: the definition the faster one must keep."""
    import re

    paragraphs = (re.sub(r"\s+", " ", p).strip() for p in re.split(r"\n[ \t]*\n\s*", text.strip()))
    return "\n\n".join(p[0].upper() + p[1:] for p in paragraphs if p)


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.sampled_from(["a", "word", "{x}", "é", " ", "  ", "\n", "\n\n", "\n \n", "\t", "\r", "\x0b",
                                 "\x1c", "\xa0", "\u2028", "\u3000", "\n\t\n", "\r\n\r\n"]), min_size=1, max_size=30))
def test_normalize_joins_lines_and_keeps_paragraphs_as_its_definition_does(pieces):
    from engine.text import normalize

    text = "".join(pieces)
    assert normalize(text) == _normalize_by_regex(text)
