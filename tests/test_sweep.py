"""The node-by-node exhaustive search: the same results as the breadth-first searches, and the hand-over."""

import json
from pathlib import Path

import pytest

from engine import bdd, commands, explore, sweep
from engine.cli import main
from engine.loader import load
from engine.preset import preset_state
from engine.replay import parse_script, run_script
from engine.sweep import _components, explore_by_node

from conftest import write_story
from test_explore import CLEAN, COUNTING, PLANTED
from test_symbolic import BACKENDS, RICH, _summary

# The graph's distances say `win` is two choices away (start -> hall -> win), but only a
# state that went round by the cellar holds the lamp the hall asks for: the shortest path
# has three, and the search must raise its lower bound to find it.
DETOUR = """\
title: Detour
start: start
flags:
  lamp: {}
nodes:
  start:
    text: Start.
    choices:
      - {id: hall, text: Hall, goto: hall}
      - {id: cellar, text: Cellar, do: [{set: lamp}], goto: cellar}
  cellar:
    text: Cellar.
    choices:
      - {id: up, text: Up, goto: hall}
  hall:
    text: Hall.
    choices:
      - {id: win, text: Win, if: lamp, goto: win}
      - {id: give-up, text: Give up, goto: lost}
  win:
    text: Win.
    ending: {title: Win}
  lost:
    text: Lost.
    ending: {title: Lost}
"""


# The same with a longer way round, the shortest through a random outcome: two choices more
# than the graph distance, so the bound must grow past its first round of slack.
LONG_DETOUR = DETOUR.replace("""      - {id: up, text: Up, goto: hall}""", """      - {id: down, text: Down, goto: vault}
      - id: crawl
        text: Crawl
        random:
          - {weight: 1, goto: landing}
          - {weight: 3, goto: vault}
  vault:
    text: Vault.
    choices:
      - {id: stairs, text: Stairs, goto: landing}
  landing:
    text: Landing.
    choices:
      - {id: up, text: Up, goto: hall}""")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("source", [CLEAN, PLANTED, COUNTING, RICH, DETOUR, LONG_DETOUR],
                         ids=["clean", "planted", "counting", "rich", "detour", "long-detour"])
def test_the_same_states_findings_coverage_and_path_lengths_as_the_explicit_search(tmp_path, source, backend):
    story = load(write_story(tmp_path, {"story.yaml": source}))
    explicit = explore.explore_exhaustive(story, 100_000, watch=True)
    swept = explore_by_node(story, None, watch=True, backend=backend)
    assert explicit.complete and swept.complete and swept.method == "symbolic"
    assert _summary(swept) == _summary(explicit)


@pytest.mark.parametrize("source, swept_again", [(CLEAN, False), (PLANTED, True), (DETOUR, False)],
                         ids=["clean", "planted", "detour"])
def test_letting_go_of_the_sets_behind_the_sweep_changes_nothing(tmp_path, monkeypatch, source, swept_again):
    story = load(write_story(tmp_path, {"story.yaml": source}))
    kept = explore_by_node(story, None, watch=True, keep_sets=True)
    calls = []
    original = sweep.explore_by_node
    monkeypatch.setattr(sweep, "explore_by_node", lambda *a, **k: calls.append(k) or original(*a, **k))
    dropped = sweep.explore_by_node(story, None, watch=True)
    assert _summary(dropped) == _summary(kept)
    assert dropped.states == kept.states and dropped.coverage.endings == kept.coverage.endings
    # A planted soft-lock or trap leaves nodes unsettled: their sets are needed, so it sweeps again.
    assert [k.get("keep_sets", False) for k in calls] == ([False, True] if swept_again else [False])


def test_a_shortest_path_longer_than_the_graph_distance(tmp_path):
    story = load(write_story(tmp_path, {"story.yaml": DETOUR}))
    report = explore_by_node(story, None)
    assert [step.choice for step in report.ending_paths["win"]] == ["cellar", "up", "win"]
    assert [step.choice for step in report.ending_paths["lost"]] == ["hall", "give-up"]
    story = load(write_story(tmp_path / "long", {"story.yaml": LONG_DETOUR}))
    report = explore_by_node(story, None)
    assert [(step.choice, step.outcome) for step in report.ending_paths["win"]] == [
        ("cellar", None), ("crawl", 1), ("up", None), ("win", None)]
    assert len(explore.explore_exhaustive(story, 1000).ending_paths["win"]) == 4


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("node, options", [
    ("storm.enter", dict(items=["rope", "phone", "extinguisher"], fates={"su-hyeok": "in-group", "dae-su": "in-group"},
                         counters={"time": 130}, infection={"joon-yeong": 2})),
    ("gym.enter", {}),
], ids=["storm", "gym"])
def test_campaign_scenes_from_preset_states_match_the_explicit_search(backend, node, options):
    campaign = load(Path(__file__).resolve().parent.parent / "story")
    start = preset_state(campaign, node, 0, **options)
    explicit = explore.explore_exhaustive(campaign, 100_000, start=start, watch=True)
    swept = explore_by_node(campaign, None, start=start, watch=True, backend=backend)
    assert explicit.complete and explicit.ending_paths
    assert _summary(swept) == _summary(explicit)


def test_emitted_scripts_replay_and_the_planted_problems_are_found(tmp_path, capsys):
    directory = write_story(tmp_path, {"story.yaml": PLANTED})
    emit = tmp_path / "emitted"
    assert main(["explore", str(directory), "--exhaustive", "--by-node", "--emit", str(emit)]) == 1
    out = capsys.readouterr().out
    assert "node by node" in out and "complete" in out
    for kind in ("[soft-lock]", "[trap]", "[unreachable-ending]"):
        assert kind in out
    story = load(directory)
    scripts = sorted(emit.iterdir())
    assert scripts
    for path in scripts:
        result = run_script(parse_script(path), story)
        assert result.passed, result.message


def test_past_the_explicit_bound_the_search_goes_on_node_by_node(tmp_path, capsys, monkeypatch):
    directory = write_story(tmp_path, {"story.yaml": RICH})
    explicit = explore.explore_exhaustive(load(directory), 100_000)
    monkeypatch.setattr(commands, "EXPLICIT_STATES", 5)
    emit = tmp_path / "emitted"
    assert main(["explore", str(directory), "--exhaustive", "--emit", str(emit), "--format", "json"]) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    if bdd.available():
        assert "searching node by node" in captured.err
        assert data["complete"] is True and data["method"] == "symbolic" and data["states"] == explicit.states
        assert data["shortest_paths"] == {eid: len(p) for eid, p in explicit.ending_paths.items()}
        assert main(["replay", *map(str, sorted(emit.iterdir()))]) == 0
    else:
        assert "needs CUDD" in captured.err and data["complete"] is False


def test_a_given_max_states_is_a_hard_bound(tmp_path, capsys, monkeypatch):
    directory = write_story(tmp_path, {"story.yaml": RICH})
    monkeypatch.setattr(commands, "EXPLICIT_STATES", 5)
    assert main(["explore", str(directory), "--exhaustive", "--max-states", "5", "--format", "json"]) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["complete"] is False and data["states"] == 5 and "node by node" not in captured.err
    assert main(["explore", str(directory), "--exhaustive", "--by-node", "--max-states", "5", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["complete"] is False and data["states"] > 5
    assert not any(f["kind"].startswith("unreachable") for f in data["findings"])


def test_components_come_in_topological_order_with_cycles_together():
    # 0 -> 1 -> 2 -> 1 (a cycle), 2 -> 3, 0 -> 3
    order = _components([{1, 3}, {2}, {1, 3}, set()])
    assert [sorted(comp) for comp in order] == [[0], [1, 2], [3]]


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_diagrams_memory_bound_stops_it_and_says_so(tmp_path, backend):
    story = load(write_story(tmp_path, {"story.yaml": RICH}))
    report = explore_by_node(story, None, max_nodes=1, backend=backend)
    assert not report.complete and report.stopped_by == "memory"
    first = commands._report_text(story, report, {})[0]
    assert "INCOMPLETE: stopped at the diagrams' memory bound" in first and "--max-states" not in first
    assert not any(f.kind.startswith("unreachable") for f in report.findings)
