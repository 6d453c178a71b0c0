"""The story cache: a hit behaves as a fresh load, any edit misses, damage is ignored, nothing runs or lands in the story."""

import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine import cache, explore, loader
from engine.cli import main

ROOT = Path(__file__).resolve().parent.parent
CAMPAIGN = ROOT / "story"


@pytest.fixture
def cache_at(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("AOUD_CACHE_DIR", str(folder))
    monkeypatch.delenv("AOUD_NO_CACHE", raising=False)
    return folder


@pytest.fixture
def campaign(tmp_path):
    target = tmp_path / "campaign"
    shutil.copytree(CAMPAIGN, target)
    return target


def _no_parsing(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the story was parsed again")

    monkeypatch.setattr(loader, "load_story", refuse)


def _model_bytes(story):
    """The whole model as plain data, conditions by their syntax tree (compiled tests are closures)."""
    import dataclasses

    def plain(obj):
        if dataclasses.is_dataclass(obj):
            return (type(obj).__name__,) + tuple(
                plain(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.name != "test")
        if isinstance(obj, (tuple, list)):
            return tuple(plain(o) for o in obj)
        if isinstance(obj, dict):
            return tuple((k, plain(v)) for k, v in obj.items())
        if isinstance(obj, (set, frozenset)):
            return tuple(sorted(obj))
        assert obj is None or isinstance(obj, (str, int, float)), type(obj)
        return obj

    return plain(story)


def test_a_hit_is_the_same_story_with_working_conditions(campaign, cache_at, monkeypatch):
    fresh, problems = cache.load_story(str(campaign))
    assert fresh is not None and problems == []
    assert len(list(cache_at.iterdir())) == 1
    _no_parsing(monkeypatch)
    cached, problems = cache.load_story(str(campaign))
    assert problems == [] and cached is not fresh
    assert _model_bytes(cached) == _model_bytes(fresh)  # every node, text, effect and location
    assert cached.content_hash == fresh.content_hash and cached.files == fresh.files
    # Conditions were compiled again: random play and the exhaustive search see the same game.
    a, b = explore.explore_random(fresh, 200, 3), explore.explore_random(cached, 200, 3)
    assert (a.coverage.endings, a.choices_made) == (b.coverage.endings, b.choices_made)
    x, y = explore.explore_exhaustive(fresh, 20_000), explore.explore_exhaustive(cached, 20_000)
    assert (x.states, sorted(x.ending_paths.items())) == (y.states, sorted(y.ending_paths.items()))


def test_an_edited_file_misses_even_with_the_same_size_and_time(campaign, cache_at):
    before, _ = cache.load_story(str(campaign))
    scene = sorted(p for p in campaign.glob("*.yaml") if p.name != "story.yaml")[0]
    st = scene.stat()
    text = scene.read_text("utf-8")
    index = text.index(" the ", text.index("text:")) + 1
    edited = text[:index] + "teh" + text[index + 3:]  # the same size: only the content tells
    scene.write_text(edited, "utf-8")
    os.utime(scene, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert scene.stat().st_size == st.st_size
    story, _ = cache.load_story(str(campaign))
    def typo(s):
        return [n.id for n in s.nodes.values() if " teh " in n.text.source]

    assert typo(before) == [] and len(typo(story)) == 1


def test_a_damaged_cache_file_is_ignored_and_rewritten(campaign, cache_at):
    fresh, _ = cache.load_story(str(campaign))
    (entry,) = cache_at.iterdir()
    good = entry.read_bytes()
    for damage in (b"", b"garbage", good[:len(good) // 2], good[:-1] + bytes([good[-1] ^ 1])):
        entry.write_bytes(damage)
        story, problems = cache.load_story(str(campaign))
        assert problems == [] and _model_bytes(story) == _model_bytes(fresh)
        assert entry.read_bytes() == good


def test_a_cache_file_cannot_run_code(campaign, cache_at, tmp_path):
    cache.load_story(str(campaign))
    (entry,) = cache_at.iterdir()
    blob = entry.read_bytes()
    head = len(cache.MAGIC)
    key = blob[head:head + 32]
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    cache.Store(cache_at, str(campaign), "story").write(key, pickle.dumps((Evil(), [])))
    story, problems = cache.load_story(str(campaign))
    assert story is not None and problems == []
    assert not marker.exists()
    with pytest.raises(pickle.UnpicklingError):
        cache._Unpickler(pickle.dumps(os.system)).load()


def test_broken_stories_are_cached_with_their_located_problems(story_dir, cache_at, monkeypatch):
    d = story_dir({"story.yaml": "title: T\nstart: a\nnodes:\n  a:\n    text: Hi.\n    choices: [{text: Go, goto: b}]\n"})
    story, cold = cache.load_story(str(d))
    assert story is None
    _no_parsing(monkeypatch)
    _, warm = cache.load_story(str(d))
    assert [str(p) for p in warm] == [str(p) for p in cold] == [
        f"{d}/story.yaml:6:32: error: goto: no node has the id 'b'; hint: define it under nodes: [dangling-goto]"]


def test_no_cache_and_a_cache_inside_the_story(campaign, cache_at, monkeypatch):
    monkeypatch.setenv("AOUD_NO_CACHE", "1")
    assert cache.load_story(str(campaign))[0] is not None
    assert not cache_at.exists()
    monkeypatch.delenv("AOUD_NO_CACHE")
    for inside in (campaign, campaign / "cache"):
        monkeypatch.setenv("AOUD_CACHE_DIR", str(inside))
        before = sorted(p.name for p in campaign.rglob("*"))
        assert cache.load_story(str(campaign))[0] is not None
        assert main(["check", str(campaign), "--max-states", "1"]) == 0
        assert sorted(p.name for p in campaign.rglob("*")) == before


def test_cache_location_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("AOUD_NO_CACHE", raising=False)
    monkeypatch.delenv("AOUD_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_dir() == tmp_path / "xdg" / "aoud-adventure"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.cache_dir() == tmp_path / "home" / ".cache" / "aoud-adventure"
    monkeypatch.setenv("AOUD_CACHE_DIR", str(tmp_path / "mine"))
    assert cache.cache_dir() == tmp_path / "mine"
    monkeypatch.setenv("AOUD_NO_CACHE", "1")
    assert cache.cache_dir() is None


def _check(capsys, *argv) -> tuple:
    status = main(["check", *argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


SMALL = """\
title: T
start: a
items: {mop: {name: mop}, spare: {name: spare key}}
nodes:
  a:
    text: Hi.
    choices:
      - {text: Take, do: [{gain: mop}], goto: b}
      - {text: Wait, if: has mop, goto: b}
  b:
    text: Bye.
    ending: {title: E}
"""


@pytest.mark.parametrize("options", [[], ["--format", "json"], ["--strict"], ["--max-states", "1"]])
def test_warm_check_prints_what_cold_check_printed(story_dir, cache_at, capsys, monkeypatch, options):
    d = story_dir({"story.yaml": SMALL})
    cold = _check(capsys, str(d), *options)
    assert cold[0] == (1 if "--strict" in options else 0)  # two warnings: an unused item, a never-true `if`
    assert ("story.yaml:3:27" in cold[1] or '"line": 3' in cold[1]) and "story.yaml" not in cold[2]
    assert "[never-true]" in cold[1] or "never-true" in cold[1]
    from engine import check

    def refuse(*args, **kwargs):
        raise AssertionError("the story was checked again")

    monkeypatch.setattr(check, "check_story", refuse)
    _no_parsing(monkeypatch)
    assert _check(capsys, str(d), *options) == cold


def test_check_options_and_edits_each_get_their_own_report(story_dir, cache_at, capsys):
    d = story_dir({"story.yaml": "title: T\nstart: a\nnodes:\n  a:\n    text: Hi.\n    choices: [{text: Go, goto: b}]\n"})
    text = _check(capsys, str(d))
    assert text[0] == 1 and text[1] == (f"{d}/story.yaml:6:32: error: goto: no node has the id 'b'; "
                                        "hint: define it under nodes: [dangling-goto]\n")
    as_json = _check(capsys, str(d), "--format", "json")
    assert as_json[1].startswith("{") and '"line": 6' in as_json[1]
    assert _check(capsys, str(d)) == text
    (d / "story.yaml").write_text("title: T\nstart: a\nnodes:\n  a:\n    text: Hi.\n    ending: {title: E}\n")
    assert _check(capsys, str(d))[:2] == (0, "")


def test_plain_mode_never_imports_prompt_toolkit_nor_yaml_when_cached(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AOUD_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("AOUD_NO_CACHE", None)
    probe = ("import sys\nfrom engine.cli import main\n"
             f"main(['--plain', '--seed', '1', '--save-dir', {str(tmp_path / 'saves')!r}])\n"
             "print('MODULES', 'prompt_toolkit' in sys.modules, 'yaml' in sys.modules)\n")
    found = []
    for _ in range(2):  # a cold start, then a start from the cache
        run = subprocess.run([sys.executable, "-c", probe], stdin=subprocess.DEVNULL, capture_output=True,
                             text=True, env=env, cwd=tmp_path, timeout=60)
        assert run.returncode == 0, run.stderr
        found.append(run.stdout.rsplit("MODULES", 1)[1].split())
    assert found == [["False", "True"], ["False", "False"]]


def test_a_first_start_caches_the_story_only_when_asked_and_once(campaign, cache_at, monkeypatch):
    story, problems, store = cache.load_story_later(str(campaign))
    assert story is not None and problems == []
    assert not cache_at.exists() or list(cache_at.iterdir()) == []  # nothing pickled before the screen is up
    writes = []
    real = cache.Store.write
    monkeypatch.setattr(cache.Store, "write", lambda self, key, payload: (writes.append(key), real(self, key, payload)))
    store()
    store()
    assert len(writes) == 1 and len(list(cache_at.iterdir())) == 1
    _no_parsing(monkeypatch)
    cached, _, again = cache.load_story_later(str(campaign))
    again()
    assert _model_bytes(cached) == _model_bytes(story) and len(writes) == 1  # a hit stores nothing


def test_plain_mode_runs_its_idle_work_once_after_its_first_prompt(tmp_path):
    """A first start shows the scene first; its idle work (writing the cache) runs while the player reads it."""
    import io

    from engine.game import Game
    from engine.plain import PROMPT, PlainPlayer

    story = loader.load(CAMPAIGN)
    out = io.StringIO()
    seen = []
    player = PlainPlayer(Game(story, tmp_path / "saves", seed=1), io.StringIO("1\n"), out,
                         idle=lambda: seen.append(out.getvalue()))
    assert player.run() == 0
    assert len(seen) == 1 and seen[0].endswith(PROMPT) and "1) " in seen[0]
    assert out.getvalue().count(PROMPT) == 2  # asked again after the first choice, without a second idle call


def test_a_game_that_ends_before_any_prompt_still_caches_its_story(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AOUD_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("AOUD_NO_CACHE", None)
    run = subprocess.run([sys.executable, "-m", "engine", "--plain", "--seed", "1", "--from", "end.cure",
                          "--save-dir", str(tmp_path / "saves")], stdin=subprocess.DEVNULL, capture_output=True,
                         text=True, env=env, cwd=tmp_path, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "> " not in run.stdout  # it ended at once: no prompt, so the idle hook never ran
    assert [p.suffix for p in (tmp_path / "cache").iterdir()] == [".story"]
