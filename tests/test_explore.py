"""Exploration: seeded random coverage, and an exhaustive search that finds planted problems."""

import json
from pathlib import Path

import pytest

from engine import explore, runtime
from engine.cli import main
from engine.loader import load
from engine.replay import parse_script, run_script

from conftest import write_story

CLEAN = """\
title: Explore
start: a
items:
  key: {name: key}
counters:
  noise: {min: 0, max: 3}
nodes:
  a:
    text: A.
    choices:
      - {id: key, text: Key, if: not has key, do: [{gain: key}], goto: a}
      - {id: loud, text: Loud, do: [{add: {noise: 1}}], goto: a}
      - {id: door, text: Door, if: has key, goto: b}
  b:
    text: B.
    choices:
      - id: dice
        text: Dice
        random:
          - {weight: 1, goto: win}
          - {weight: 3, goto: lose, if: noise >= 2}
          - {weight: 1, goto: a}
  win:
    text: Win.
    ending: {title: Win}
  lose:
    text: Lose.
    ending: {title: Lose}
"""

PLANTED = """\
title: Planted
start: a
items:
  key: {name: key}
flags:
  lit: {}
nodes:
  a:
    text: A.
    choices:
      - {id: lamp, text: Light the lamp, do: [{set: lit}], goto: dark}
      - {id: loop, text: Wander, goto: maze1}
      - {id: home, text: Home, goto: home}
  dark:
    text: The lamp hisses.
    choices:
      - {id: search, text: Search, if: not lit, goto: home}
  maze1:
    text: Maze.
    choices:
      - {id: on, text: On, goto: maze2}
  maze2:
    text: Maze again.
    choices:
      - {id: back, text: Back, goto: maze1}
      - {id: gate, text: Gate, if: has key, goto: home}
  home:
    text: Home.
    ending: {title: Home}
  vault:
    text: The vault.
    ending: {title: Vault}
"""


def test_random_exploration_coverage_with_a_fixed_seed(tmp_path):
    story = load(write_story(tmp_path, {"story.yaml": CLEAN}))
    report = explore.explore_random(story, runs=50, seed=11)
    again = explore.explore_random(story, runs=50, seed=11)
    assert report.coverage.endings == again.coverage.endings and report.choices_made == again.choices_made
    assert report.coverage.summary(story) == {"nodes": [4, 4], "choices": [4, 4], "endings": [2, 2]}
    assert sum(report.coverage.endings.values()) == 50
    assert report.findings == []
    one = explore.explore_random(story, runs=1, seed=11)
    assert sum(one.coverage.endings.values()) == 1 and one.coverage.endings.keys() <= report.coverage.endings.keys()


def test_random_exploration_reports_what_was_never_reached(tmp_path):
    story = load(write_story(tmp_path, {"story.yaml": PLANTED}))
    report = explore.explore_random(story, runs=30, seed=1, max_choices=50)
    missing = {(kind, name) for kind, name, _ in report.coverage.missing(story)}
    assert ("ending", "vault") in missing and ("node", "vault") in missing
    kinds = {f.kind for f in report.findings}
    assert "soft-lock" in kinds and "long-run" in kinds
    lock = next(f for f in report.findings if f.kind == "soft-lock")
    assert lock.seed is not None and [s.choice for s in lock.path] == ["lamp"]


def test_exhaustive_finds_soft_lock_unreachable_ending_and_trap(tmp_path):
    directory = write_story(tmp_path, {"story.yaml": PLANTED})
    story = load(directory)
    report = explore.explore_exhaustive(story)
    assert report.complete and report.failed
    found = {(f.kind, f.level, str(f.where).replace(f"{directory}/", "")): f for f in report.findings}
    assert set(found) == {
        ("soft-lock", "error", "story.yaml:14:3"),
        ("trap", "error", "story.yaml:18:3"),
        ("unreachable-node", "error", "story.yaml:30:3"),
        ("unreachable-ending", "error", "story.yaml:32:13"),
        ("unreachable-choice", "warning", "story.yaml:17:9"),
        ("unreachable-choice", "warning", "story.yaml:26:9"),
    }, "one trap report for the maze1-maze2 loop, not one per node"
    assert found[("unreachable-choice", "warning", "story.yaml:26:9")].message == (
        "the choice 'gate' at 'maze2' is never offered in any reachable state; hint: check its `if:`")
    trap = found[("trap", "error", "story.yaml:18:3")]
    assert "from 'maze1' no ending can be reached" in trap.message and "'maze2'" in trap.message
    assert [s.choice for s in trap.path] == ["loop"]
    assert report.ending_paths == {"home": (explore.PathStep("home"),)}


def test_exhaustive_emits_scripts_that_pass(tmp_path, capsys):
    directory = write_story(tmp_path, {"story.yaml": CLEAN})
    emit = tmp_path / "emitted"
    assert main(["explore", str(directory), "--exhaustive", "--emit", str(emit)]) == 0
    out = capsys.readouterr().out
    assert "complete" in out and "coverage: nodes 4/4, choices 4/4, endings 2/2" in out
    scripts = sorted(emit.iterdir())
    assert [p.name for p in scripts] == ["ending-lose.replay.yaml", "ending-win.replay.yaml"]
    story = load(directory)
    for path in scripts:
        result = run_script(parse_script(path), story)
        assert result.passed, result.message
    lose = parse_script(emit / "ending-lose.replay.yaml")
    assert [s.choose for s in lose.steps if s.choose] == ["key", "loud", "loud", "door", "dice"]
    assert lose.steps[-2].outcome == 2
    assert main(["replay", *map(str, scripts)]) == 0


def test_exhaustive_stops_honestly_at_max_states(tmp_path, capsys):
    directory = write_story(tmp_path, {"story.yaml": CLEAN})
    assert main(["explore", str(directory), "--exhaustive", "--max-states", "3", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["complete"] is False and data["states"] == 3
    assert not any(f["kind"].startswith("unreachable") for f in data["findings"]), \
        "an incomplete search claims nothing is unreachable"


def test_explore_exit_status_and_problem_scripts(tmp_path, capsys):
    directory = write_story(tmp_path, {"story.yaml": PLANTED})
    emit = tmp_path / "emitted"
    assert main(["explore", str(directory), "--exhaustive", "--emit", str(emit)]) == 1
    out = capsys.readouterr().out
    assert "[soft-lock]" in out and "reproduce: aoud-adventure replay" in out
    problem = next(p for p in emit.iterdir() if "soft-lock" in p.name)
    result = run_script(parse_script(problem), load(directory))
    assert result.passed and result.final_node == "dark"


def test_projection_leaves_out_what_no_later_condition_reads(tmp_path):
    story = load(write_story(tmp_path, {"story.yaml": CLEAN}))
    projection = explore._Projection(story)
    layout = story.layout
    clock = layout.clock_mask << layout.clock_shifts[0]
    shift, width, _, _ = layout.counter_fields[0]
    items = 0
    for _, bit in layout.item_bits:
        items |= bit

    def live(node):
        return projection.live[projection.index[node]][0]

    assert live("a") == clock | layout.item_bit["key"] | (width << shift)
    assert live("b") & items == layout.item_bit["key"], "the dice can send you back to a, which reads the key"
    assert live("win") == clock, "nothing is read after an ending"
    start = runtime.start(story, 0).with_(rng=0)
    at_win = start.with_(node="win")
    assert projection.pack(at_win) == projection.pack(at_win.with_(items=frozenset({"key"}), turn=5))
    assert projection.pack(start) != projection.pack(start.with_(items=frozenset({"key"})))
    assert projection.unpack(projection.pack(start)) == start


@pytest.mark.parametrize("args", [["--random", "0"], ["--exhaustive", "--max-states", "0"]])
def test_explore_bad_numbers_are_usage_errors(tmp_path, args, capsys):
    directory = write_story(tmp_path, {"story.yaml": CLEAN})
    assert main(["explore", str(directory), *args]) == 2


def test_random_mode_emits_a_passing_script_per_ending(tmp_path, capsys):
    directory = write_story(tmp_path, {"story.yaml": CLEAN})
    emit = tmp_path / "emitted"
    assert main(["explore", str(directory), "--random", "40", "--seed", "5", "--emit", str(emit)]) == 0
    scripts = sorted(emit.iterdir())
    assert [p.name for p in scripts] == ["ending-lose.replay.yaml", "ending-win.replay.yaml"]
    story = load(directory)
    for path in scripts:
        parsed = parse_script(path)
        assert parsed.seed >= 5 and run_script(parsed, story).passed


def test_explore_to_finds_a_path_that_replays(tmp_path, capsys):
    directory = write_story(tmp_path, {"story.yaml": CLEAN})
    emit = tmp_path / "emitted"
    assert main(["explore", str(directory), "--to", "lose", "--emit", str(emit)]) == 0
    script = emit / "to-lose.replay.yaml"
    parsed = parse_script(script)
    assert [s.choose for s in parsed.steps if s.choose] == ["key", "loud", "loud", "door", "dice"]
    assert run_script(parsed, load(directory)).passed
    capsys.readouterr()
    assert main(["explore", str(directory), "--to", "los"]) == 2
    assert "did you mean 'lose'" in capsys.readouterr().err


def test_explore_to_an_unreachable_node_says_so(tmp_path, capsys):
    directory = write_story(tmp_path, {"story.yaml": PLANTED})
    assert main(["explore", str(directory), "--to", "vault"]) == 1
    assert "no path to 'vault' found in 0 states (the search was complete: it cannot be reached)" in \
        capsys.readouterr().out


COUNTING = """\
title: Counting
start: a
counters:
  noise: {min: 0, max: 10}
nodes:
  a:
    text: A.
    choices:
      - {id: step, text: Step, do: [{add: {noise: 1}}], goto: a}
      - {id: leave, text: Leave, goto: out}
      - {id: vault, text: Vault, if: noise >= 3, goto: vault}
  out:
    text: Out.
    ending: {title: Out}
  vault:
    text: Vault.
    ending: {title: Vault}
"""


def test_values_no_later_condition_tells_apart_are_one_state(tmp_path):
    story = load(write_story(tmp_path, {"story.yaml": COUNTING}))
    report = explore.explore_exhaustive(story, 1000)
    # noise 3..10 all answer `noise >= 3` alike and only ever grow: at `a` they are one class
    assert report.complete and report.states == 4 + 2
    assert [step.choice for step in report.ending_paths["vault"]] == ["step", "step", "step", "vault"]
    assert not report.findings


def test_a_state_and_its_search_key_offer_the_same_choices():
    campaign = load(Path(__file__).resolve().parent.parent / "story")
    projection = explore._Projection(campaign)
    checked = 0
    for seed in range(40):
        state = runtime.start(campaign, seed)
        picker = seed
        while campaign.nodes[state.node].ending is None:
            same = projection.unpack(projection.pack(state))
            assert same.node == state.node
            assert runtime.available(campaign, same) == runtime.available(campaign, state)
            offered = runtime.available(campaign, state)
            picker = (picker * 6364136223846793005 + 1442695040888963407) % (1 << 64)
            state = runtime.step(campaign, state, offered[(picker >> 33) % len(offered)]).state
            checked += 1
    assert checked > 400


def test_exploring_from_a_preset_state_emits_scripts_that_begin_there(tmp_path, capsys):
    directory = write_story(tmp_path, {"story.yaml": CLEAN})
    emit = tmp_path / "emitted"
    assert main(["explore", str(directory), "--exhaustive", "--from", "b", "--counter", "noise=2",
                 "--emit", str(emit), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["complete"] is True and not data["findings"], "behind the player is not unreachable"
    scripts = sorted(emit.iterdir())
    assert [p.name for p in scripts] == ["ending-lose.replay.yaml", "ending-win.replay.yaml"]
    lose = parse_script(scripts[0])
    assert lose.start[0]["node"] == "b" and lose.start[0]["counters"] == {"noise": 2}
    assert [(s.choose, s.outcome) for s in lose.steps[:-1]] == [("dice", 2)]
    assert main(["replay", *map(str, scripts)]) == 0
    assert main(["explore", str(directory), "--random", "5", "--from", "b", "--give", "spoon"]) == 2
    assert "'spoon' is not declared" in capsys.readouterr().err


def test_a_script_that_begins_in_a_state_that_does_not_fit_fails_at_its_line(tmp_path):
    from engine.replay import ScriptError

    directory = write_story(tmp_path, {"story.yaml": CLEAN})
    story = load(directory)
    bad = tmp_path / "bad.replay.yaml"
    bad.write_text("steps:\n  - expect: {node: b}\nfrom:\n  node: b\n  items: [spoon]\n")
    result = run_script(parse_script(bad), story)
    assert not result.passed and result.message.startswith(f"{bad}:4: from: item: 'spoon' is not declared")
    typo = tmp_path / "typo.replay.yaml"
    typo.write_text("from:\n  node: b\n  item: [key]\nsteps:\n  - expect: {node: b}\n")
    with pytest.raises(ScriptError) as err:
        parse_script(typo)
    assert "typo.replay.yaml:3" in str(err.value) and "did you mean 'items'" in str(err.value)


def test_a_recorded_game_begun_from_a_preset_replays_from_it(tmp_path):
    from engine.preset import preset_state
    from engine.replay import record
    from engine.session import Session

    directory = write_story(tmp_path, {"story.yaml": CLEAN})
    story = load(directory)
    session = Session(story, 3, preset_state(story, "a", 3, items=["key"]))
    session.choose(runtime.find_choice(story, session.state, "door"), None)
    script = tmp_path / "rec.replay.yaml"
    script.write_text(record(session, str(directory), str(script)))
    parsed = parse_script(script)
    assert parsed.start[0]["items"] == ["key"] and parsed.start[0]["node"] == "a"
    assert run_script(parsed, story).passed


RESURRECTION = """\
title: Resurrection
start: a
characters:
  kim: {name: Kim, fate: in-group}
nodes:
  a:
    text: A.
    choices:
      - {id: fall, text: Kim falls, do: [{die: kim}], goto: b}
  b:
    text: B.
    choices:
      - {id: on, text: On, if: kim is dead, goto: c}
  c:
    text: C.
    ending: {title: C}
"""


def _plant_resurrection(tmp_path, monkeypatch):
    """The RESURRECTION story, with a broken engine planted: no story can bring back the dead, but
    stepping into c revives Kim. (b reads her fate, or a search would rightly forget it there.)"""
    story = load(write_story(tmp_path, {"story.yaml": RESURRECTION}))
    shift = story.layout.fate_shifts[0]
    real = runtime.advance

    def reviving(story, state, choice, outcome, ticked=None):
        target, bits, fired = real(story, state, choice, outcome, ticked)
        if target == "c":
            bits &= ~(7 << shift)  # fate code 0: in-group
        return target, bits, fired

    monkeypatch.setattr(runtime, "advance", reviving)
    return story


def test_the_exhaustive_search_reports_a_step_that_breaks_an_invariant(tmp_path, monkeypatch):
    story = _plant_resurrection(tmp_path, monkeypatch)
    report = explore.explore_exhaustive(story)
    broken = [f for f in report.findings if f.kind == "invariant"]
    assert len(broken) == 1
    assert "kim was dead and is now in-group" in broken[0].message
    assert [step.choice for step in broken[0].path] == ["fall", "on"]
    assert "C" not in report.coverage.endings  # the broken step is not followed


def test_random_runs_report_a_step_that_breaks_an_invariant_with_the_path_to_it(tmp_path, monkeypatch):
    story = _plant_resurrection(tmp_path, monkeypatch)
    report = explore.explore_random(story, 3, seed=7)
    broken = [f for f in report.findings if f.kind == "invariant"]
    assert [f.seed for f in broken] == [7, 8, 9]
    assert all("kim was dead and is now in-group" in f.message for f in broken)
    assert [[step.choice for step in f.path] for f in broken] == [["fall", "on"]] * 3
    assert not report.coverage.endings and ("b", "on") in report.coverage.choices


def test_a_counter_past_its_range_breaks_an_invariant_whatever_it_was_before(tmp_path):
    from engine import invariants

    story = load(write_story(tmp_path, {"story.yaml": COUNTING}))
    shift, mask, _, _ = story.layout.counter_fields[0]
    assert mask == 15  # a field of 4 bits holds 0..10, and could hold up to 15
    for before in (0, 3 << shift, 11 << shift, 0):  # verdicts are remembered: asked again, the same answer
        assert invariants.broken_bits(story, before, 12 << shift) == ["counter noise is 12, outside 0..10"]
        assert invariants.broken_bits(story, before, 10 << shift) == []


def test_a_path_to_a_node_goes_by_what_every_way_in_needs(tmp_path):
    from test_check import SHED

    story = load(write_story(tmp_path, {"story.yaml": SHED}))
    path, states = explore.find_path(story, "vault", max_states=30)
    assert [step.choice for step in path] == ["shed", "key", "on", "open"]
    assert states <= 30


def test_a_testers_command_sets_its_story_aside_from_the_collector_and_gives_it_back(monkeypatch, capsys):
    import gc

    from engine import collector, commands

    kept = []
    monkeypatch.setattr(commands, "keep_loaded", lambda: (collector.keep_loaded(), kept.append(gc.get_freeze_count())))
    assert main(["explore", "--random", "3"]) == 0
    assert capsys.readouterr().out.startswith("explore: 3 random runs")
    assert len(kept) == 1 and kept[0] > 0  # the loaded story was set aside while the runs went on
    assert gc.get_freeze_count() == 0  # and given back: a test process can still collect it


@pytest.mark.parametrize("enabled", [True, False])
def test_a_command_leaves_the_collector_as_it_found_it(enabled, capsys):
    """main() runs each command with the collector off at first and its story set aside; a caller's
    process (these tests) gets the collector back as it was, with nothing set aside."""
    import gc

    (gc.enable if enabled else gc.disable)()
    try:
        assert main(["explore", "--random", "2"]) == 0
        assert gc.isenabled() is enabled and gc.get_freeze_count() == 0
        assert main(["graph"]) == 0
        assert gc.isenabled() is enabled and gc.get_freeze_count() == 0
    finally:
        gc.enable()
