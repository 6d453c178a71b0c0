"""The symbolic exhaustive search: decision diagrams, and the same results as the state-by-state search."""

import json
from pathlib import Path

import pytest

from engine import bdd, explore
from engine.cli import main
from engine.diagram import Conditions, Diagram
from engine.loader import load
from engine.preset import preset_state
from engine.replay import parse_script, run_script
from engine.symbolic import SymbolicSearch, _broken, explore_symbolic

from conftest import write_story
from test_explore import CLEAN, COUNTING, PLANTED

# Everything the step semantics has: a trigger, the player's turning, a character whose own
# clock runs out, carriers, random outcomes with conditions, joining and leaving, clamping.
RICH = """\
title: Rich
start: a
infection: {turns: 4, feverish: 1, turning: 2, on_player_turned: end-turned}
characters:
  kim: {name: Kim, fate: in-group, turns: 2}
  lee: {name: Lee}
items:
  bat: {name: bat}
flags:
  met: {}
counters:
  noise: {min: 0, max: 4}
  time: {min: 0, max: 9}
triggers:
  - if: noise >= 3
    goto: swarm
    do: [{add: {time: 1}}]
nodes:
  a:
    text: A.
    do: [{add: {time: 1}}]
    choices:
      - {id: shout, text: Shout, do: [{add: {noise: 2}}], goto: a}
      - {id: bat, text: Bat, if: not has bat, do: [{gain: bat}, {bite: kim}], goto: a}
      - {id: meet, text: Meet, if: not met, do: [{set: met}, {join: lee}], goto: b}
      - {id: hush, text: Hush, if: noise >= 1, do: [{add: {noise: -1}}], goto: a}
      - {id: cure, text: Cure, if: you are feverish, do: [{carrier: you}], goto: a}
  b:
    text: B.
    do: [{add: {time: 2}}]
    choices:
      - id: door
        text: Door
        random:
          - {weight: 1, goto: a, do: [{bite: you}]}
          - {weight: 2, goto: c, if: with lee}
          - {weight: 1, goto: b, if: kim is turned, do: [{leave: lee}]}
      - {id: wait, text: Wait, if: time < 8, goto: b}
  c:
    text: C.
    choices:
      - {id: out, text: Out, if: not kim is turned or has bat, goto: end-out}
      - {id: back, text: Back, goto: a}
  swarm:
    text: Swarm.
    ending: {title: Swarm}
  end-turned:
    text: Turned.
    ending: {title: Turned}
  end-out:
    text: Out.
    ending: {title: Out}
"""


def _summary(report) -> tuple:
    return (report.states, report.complete, sorted((f.kind, str(f.where), f.message) for f in report.findings),
            sorted(report.coverage.nodes), sorted(report.coverage.choices), dict(report.coverage.endings),
            {eid: len(path) for eid, path in report.ending_paths.items()},
            {id(c): seen for c, seen in report.conditions.items()})


def test_diagram_set_operations():
    d = Diagram((2, 3))
    a = d.union(d.point((0, 1)), d.point((1, 2)))
    b = d.union(d.point((1, 2)), d.point((1, 0)))
    assert d.count(a) == 2 and d.count(d.union(a, b)) == 3
    assert d.meet(a, b) == d.point((1, 2)), "equal sets are the same node"
    assert d.minus(a, b) == d.point((0, 1)) and d.minus(a, a) == 0
    both = d.maps([None, (0, 0, 1)])  # the second variable: 0 and 1 become 0, 2 becomes 1
    assert d.image(a, both) == d.union(d.point((0, 0)), d.point((1, 1)))
    assert d.count(d.preimage(d.point((0, 0)), both)) == 2  # (0, 0) and (0, 1)
    c = Conditions((2, 3))
    first_is_one = c.values(0, {1})
    assert d.restrict(a, first_is_one, c) == d.point((1, 2))
    assert d.restrict(a, c.negate(first_is_one), c) == d.point((0, 1))
    assert c.either(first_is_one, c.negate(first_is_one)) == 1 and c.both(first_is_one, c.negate(first_is_one)) == 0


BACKENDS = ["python", pytest.param("cudd", marks=pytest.mark.skipif(not bdd.available(), reason="no CUDD here"))]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("source", [CLEAN, PLANTED, COUNTING, RICH], ids=["clean", "planted", "counting", "rich"])
def test_the_same_states_findings_coverage_and_path_lengths_as_the_explicit_search(tmp_path, source, backend):
    story = load(write_story(tmp_path, {"story.yaml": source}))
    explicit = explore.explore_exhaustive(story, 100_000, watch=True)
    symbolic = explore_symbolic(story, 100_000, watch=True, backend=backend)
    assert explicit.complete and symbolic.method == "symbolic"
    assert _summary(symbolic) == _summary(explicit)


def test_the_rich_story_meets_every_redirect(tmp_path):
    story = load(write_story(tmp_path, {"story.yaml": RICH}))
    report = explore_symbolic(story, 100_000)
    assert {"swarm", "end-turned", "end-out"} <= set(report.ending_paths)
    assert ("a", "cure") in report.coverage.choices and not report.failed


def test_emitted_scripts_pass_and_planted_problems_are_found(tmp_path, capsys):
    directory = write_story(tmp_path, {"story.yaml": PLANTED})
    emit = tmp_path / "emitted"
    assert main(["explore", str(directory), "--exhaustive", "--symbolic", "--emit", str(emit)]) == 1
    out = capsys.readouterr().out
    assert "symbolic:" in out and "complete" in out
    for kind in ("[soft-lock]", "[trap]", "[unreachable-ending]"):
        assert kind in out
    story = load(directory)
    for path in sorted(emit.iterdir()):
        result = run_script(parse_script(path), story)
        assert result.passed, result.message
    problem = next(p for p in emit.iterdir() if "soft-lock" in p.name)
    assert run_script(parse_script(problem), story).final_node == "dark"


def test_the_rich_story_emits_shortest_paths_that_replay(tmp_path, capsys):
    directory = write_story(tmp_path, {"story.yaml": RICH})
    emit = tmp_path / "emitted"
    assert main(["explore", str(directory), "--exhaustive", "--symbolic", "--emit", str(emit),
                 "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    explicit = explore.explore_exhaustive(load(directory), 100_000)
    assert data["method"] == "symbolic" and data["states"] == explicit.states
    assert data["shortest_paths"] == {eid: len(p) for eid, p in explicit.ending_paths.items()}
    assert main(["replay", *map(str, sorted(emit.iterdir()))]) == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_campaign_scene_from_a_preset_state_matches_the_explicit_search(backend):
    campaign = load(Path(__file__).resolve().parent.parent / "story")
    start = preset_state(campaign, "storm.enter", 0, items=["rope", "phone", "extinguisher"],
                         fates={"su-hyeok": "in-group", "dae-su": "in-group"}, counters={"time": 130},
                         infection={"joon-yeong": 2})
    explicit = explore.explore_exhaustive(campaign, 100_000, start=start, watch=True)
    symbolic = explore_symbolic(campaign, 100_000, start=start, watch=True, backend=backend)
    assert explicit.complete and "bombing" in explicit.ending_paths
    assert _summary(symbolic) == _summary(explicit)


def test_it_stops_honestly_past_max_states(tmp_path, capsys):
    directory = write_story(tmp_path, {"story.yaml": RICH})
    assert main(["explore", str(directory), "--exhaustive", "--symbolic", "--max-states", "5",
                 "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["complete"] is False and data["states"] > 5
    assert not any(f["kind"].startswith("unreachable") for f in data["findings"])


def test_a_story_that_reads_the_turn_is_searched_state_by_state(tmp_path, capsys):
    source = CLEAN.replace("if: has key, goto: b", "if: has key and turn < 9, goto: b")
    directory = write_story(tmp_path, {"story.yaml": source})
    assert main(["explore", str(directory), "--exhaustive", "--symbolic", "--max-states", "1000"]) == 0
    captured = capsys.readouterr()
    assert "reads the turn" in captured.err and "symbolic:" not in captured.out
    assert "explore: exhaustive, 1000 states" in captured.out


def test_a_step_that_brings_back_the_dead_breaks_an_invariant(tmp_path):
    search = SymbolicSearch(load(write_story(tmp_path, {"story.yaml": RICH})))
    k = search.vars.index["kim"]
    width = search.vars.clock_size
    dead, in_group, clean = 3, 0, 1  # fate codes; a clock field holds the clock + 2
    table = list(range(search.vars.sizes[k]))
    table[dead * width + clean] = in_group * width + clean
    assert _broken(search, k, tuple(table)) == {dead * width + clean}
    assert _broken(search, k, tuple(range(search.vars.sizes[k]))) == set()
