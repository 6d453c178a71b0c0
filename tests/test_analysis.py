"""The static analysis: each proof on a small story, and its soundness against real play."""

import random
import sys
from pathlib import Path

import pytest

from engine import analysis, explore, runtime
from engine.analysis import FALSE, MAYBE, TRUE, analyze, contains, evaluate
from engine.check import check_story
from engine.conditions import parse
from engine.loader import load
from engine.state import draw, seed_generator

from conftest import write_story

ROOT = Path(__file__).resolve().parent.parent


def analyzed(tmp_path, text: str):
    story = load(write_story(tmp_path, {"story.yaml": text}))
    return story, analyze(story)


def lines_of(tmp_path, problems):
    return [str(p).replace(f"{tmp_path}/story/", "") for p in problems]


# -- unreachable nodes ---------------------------------------------------------------------------

VAULT = """\
title: Vault
start: hall
items:
  key: {name: key}
  coin: {name: coin}
nodes:
  hall:
    text: Hall.
    choices:
      - {id: coin, text: Coin, do: [{gain: coin}], goto: hall2}
      - {id: on, text: On, goto: hall2}
  hall2:
    text: Hall.
    choices:
      - {id: vault, text: Vault, if: has key, goto: vault}
      - {id: out, text: Out, goto: out}
  vault:
    text: Vault.
    choices: [{id: take, text: Take, goto: rich}]
  rich:
    text: Rich.
    ending: {title: Rich}
  out:
    text: Out.
    ending: {title: Out}
"""


def test_an_ending_behind_a_condition_never_true_is_proven_unreachable(tmp_path):
    story, proof = analyzed(tmp_path, VAULT)
    assert set(proof.unreachable) == {"vault", "rich"}
    assert proof.unreachable["vault"] == "`has key` is never true at 'hall2' (key is never carried)"
    assert proof.unreachable["rich"] == "it is reached only from nodes no path reaches ('vault')"
    lines = lines_of(tmp_path, check_story(story, max_states=2))
    assert "story.yaml:17:3: error: no path reaches the node 'vault', proven: `has key` is never true at 'hall2' " \
           "(key is never carried); hint: add a way in, fix the conditions on the way in, or remove it " \
           "[unreachable-node]" in lines
    assert "story.yaml:22:13: error: no path reaches the ending 'rich', proven: it is reached only from nodes no " \
           "path reaches ('vault') [unreachable-ending]" in lines
    assert "story.yaml:15:38: warning: `has key` is never true where it is tested, proven: at 'hall2', key is " \
           "never carried; so what it guards never happens; hint: check its names and numbers [never-true]" in lines


def test_an_item_that_can_be_gained_keeps_its_node_reachable(tmp_path):
    _, proof = analyzed(tmp_path, VAULT.replace("do: [{gain: coin}]", "do: [{gain: key}]"))
    assert proof.unreachable == {}
    assert proof.never_true == ()


FORK = """\
title: Fork
start: a
flags:
  lit: {}
nodes:
  a:
    text: A.
    choices:
      - {id: left, text: Left, do: [{set: lit}], goto: b}
      - {id: right, text: Right, goto: c}
  b:
    text: B.
    choices:
      - {id: read, text: Read, if: lit, goto: end}
      - {id: dark, text: Dark, if: not lit, goto: secret}
  c:
    text: C.
    choices:
      - {id: look, text: Look, if: lit, goto: secret}
      - {id: leave, text: Leave, goto: end}
  secret:
    text: Secret.
    ending: {title: Secret}
  end:
    text: End.
    ending: {title: End}
"""


def test_a_flag_set_on_one_path_is_never_set_on_the_other(tmp_path):
    story, proof = analyzed(tmp_path, FORK)
    assert "secret" in proof.unreachable
    assert proof.unreachable["secret"].startswith("`not lit` is never true at 'b' (lit is always set); "
                                                  "`lit` is never true at 'c' (lit is never set)")
    assert {c.source for c, _ in proof.never_true} == {"not lit", "lit"}
    lay = proof.layout
    assert evaluate(parse("lit"), proof.states["b"], lay) == TRUE
    assert evaluate(parse("lit"), proof.states["c"], lay) == FALSE


def test_a_flag_set_on_either_path_reaches_the_join(tmp_path):
    _, proof = analyzed(tmp_path, FORK.replace("{id: right, text: Right, goto: c}",
                                               "{id: right, text: Right, do: [{set: lit}], goto: c}"))
    assert "secret" not in proof.unreachable
    assert [c.source for c, _ in proof.never_true] == ["not lit"]


COUNTED = """\
title: Counted
start: a
counters:
  noise: {min: 0, max: 3}
nodes:
  a:
    text: A.
    choices:
      - {id: shout, text: Shout, do: [{add: {noise: 9}}], goto: b}
      - {id: hush, text: Hush, do: [{add: {noise: -5}}], goto: c}
  b:
    text: B.
    choices:
      - {id: loud, text: Loud, if: noise == 3, goto: end}
      - {id: over, text: Over, if: noise > 3, goto: end}
      - {id: drop, text: Drop, do: [{add: {noise: -2}}], goto: c}
  c:
    text: C.
    choices:
      - {id: quiet, text: Quiet, if: noise <= 1, goto: end}
      - {id: mid, text: Mid, if: noise == 2, goto: end}
  end:
    text: End.
    ending: {title: End}
"""


def test_counter_intervals_are_clamped_to_the_declared_range(tmp_path):
    _, proof = analyzed(tmp_path, COUNTED)
    assert proof.states["b"].counters == ((3, 3),)
    assert proof.states["c"].counters == ((0, 1),)  # 0 - 5 clamps to 0; 3 - 2 is 1
    assert sorted(c.source for c, _ in proof.never_true) == ["noise == 2", "noise > 3"]
    assert evaluate(parse("noise == 3"), proof.states["b"], proof.layout) == TRUE
    assert "c" in proof.no_dead_end  # `noise <= 1` holds in every state at c


def test_three_valued_conditions(tmp_path):
    _, proof = analyzed(tmp_path, FORK)
    a, lay = proof.states["end"], proof.layout
    assert evaluate(parse("lit"), a, lay) == MAYBE
    assert evaluate(parse("lit or not lit"), a, lay) == TRUE
    assert evaluate(parse("lit and not lit"), a, lay) == FALSE
    assert evaluate(parse("not (lit and turn < 0)"), a, lay) == TRUE
    assert evaluate(parse("turn == 2"), a, lay) == TRUE  # every path to the end takes two choices
    _, proof = analyzed(tmp_path / "2", COUNTED)
    c, lay = proof.states["c"], proof.layout  # noise is 0..1
    assert evaluate(parse("noise == 0 or noise == 1"), c, lay) == TRUE
    assert evaluate(parse("noise != 2 and noise >= 0"), c, lay) == TRUE
    assert evaluate(parse("noise != 1"), c, lay) == MAYBE
    assert evaluate(parse("noise == 2 or noise < 0"), c, lay) == FALSE


# -- dead ends and traps -------------------------------------------------------------------------

BRANCHES = """\
title: Branches
start: a
items:
  x: {name: x}
  y: {name: y}
nodes:
  a:
    text: A.
    choices:
      - {id: get, text: Get, do: [{gain: x}], goto: b}
      - {id: skip, text: Skip, goto: b}
  b:
    text: B.
    choices:
      - {id: with, text: With, if: has x, goto: end}
      - {id: without, text: Without, if: not has x, goto: end}
      - {id: maze, text: Maze, goto: m1}
  m1:
    text: M1.
    choices: [{id: on, text: On, goto: m2}]
  m2:
    text: M2.
    choices: [{id: back, text: Back, goto: m1}]
  end:
    text: End.
    ending: {title: End}
"""


def test_choices_whose_conditions_cover_every_state_rule_out_a_dead_end_and_a_trap(tmp_path):
    story, proof = analyzed(tmp_path, BRANCHES.replace("      - {id: maze, text: Maze, goto: m1}\n", ""))
    assert "b" in proof.no_dead_end and "b" in proof.no_trap and "a" in proof.no_trap


def test_a_loop_without_a_way_out_is_not_ruled_out(tmp_path):
    _, proof = analyzed(tmp_path, BRANCHES)
    assert {"m1", "m2"} <= set(proof.no_dead_end)
    assert not {"m1", "m2"} & proof.no_trap
    assert {"a", "b", "end"} <= proof.no_trap


def test_choices_that_may_all_be_off_leave_the_dead_end_open(tmp_path):
    text = BRANCHES.replace("if: not has x", "if: has y").replace("      - {id: maze, text: Maze, goto: m1}\n", "")
    story, proof = analyzed(tmp_path, text)
    assert "b" not in proof.no_dead_end


def test_a_planted_dead_end_the_analysis_cannot_rule_out_is_found_by_the_search(tmp_path):
    text = BRANCHES.replace("if: not has x", "if: has y").replace("      - {id: maze, text: Maze, goto: m1}\n", "")
    story, proof = analyzed(tmp_path, text)
    assert "b" not in proof.no_dead_end
    for budget in (1, 3, 200_000):  # random runs, the sweep after an unfinished search, the finished search
        lines = [line for line in lines_of(tmp_path, check_story(story, max_states=budget)) if "dead-end" in line]
        assert len(lines) == 1 and lines[0].startswith("story.yaml:12:3: error: no choice is offered at 'b' ")


RANDOMLY = """\
title: Randomly
start: a
items:
  x: {name: x}
nodes:
  a:
    text: A.
    choices:
      - id: roll
        text: Roll
        random:
          - {if: has x, goto: end}
          - {if: not has x, goto: b}
  b:
    text: B.
    choices:
      - id: roll
        text: Roll
        random:
          - {goto: loop}
          - {goto: end}
  loop:
    text: Loop.
    choices: [{id: again, text: Again, goto: loop}]
  end:
    text: End.
    ending: {title: End}
"""


def test_random_outcomes_that_always_can_be_drawn(tmp_path):
    _, proof = analyzed(tmp_path, RANDOMLY)
    assert ("a", "roll") in proof.outcome_safe and ("b", "roll") in proof.outcome_safe
    assert {"a", "b"} <= proof.no_trap and "loop" not in proof.no_trap
    _, proof = analyzed(tmp_path / "2", RANDOMLY.replace("if: not has x", "if: has x"))
    assert ("a", "roll") not in proof.outcome_safe


TRIGGERED = """\
title: Triggered
start: a
infection: {turns: 2, feverish: 1, turning: 1, on_player_turned: end.turned}
items:
  key: {name: key}
triggers:
  - {if: has key, goto: alarm}
nodes:
  a:
    text: A.
    choices:
      - {id: wait, text: Wait, goto: a}
      - {id: key, text: Key, if: not has key, do: [{gain: key}], goto: a}
      - {id: out, text: Out, goto: end}
  alarm:
    text: Alarm.
    choices: [{id: run, text: Run, goto: end}]
  end.turned:
    text: Turned.
    ending: {title: Turned}
  end:
    text: End.
    ending: {title: End}
"""


def test_triggers_and_turning_add_edges_only_when_they_can_happen(tmp_path):
    story, proof = analyzed(tmp_path, TRIGGERED)
    assert "alarm" not in proof.unreachable
    assert proof.unreachable == {"end.turned": "the player never turns"}
    _, proof = analyzed(tmp_path / "2", TRIGGERED.replace("do: [{gain: key}]", "do: [{gain: key}, {bite: you}]")
                        .replace("{if: has key, goto: alarm}", "{if: has key and not has key, goto: alarm}"))
    assert set(proof.unreachable) == {"alarm"}
    assert proof.unreachable["alarm"] == "the trigger `has key and not has key` never fires"
    assert proof.states["a"].clocks[0] == analysis.CLEAN_BIT | 1 << 2 | 1 << 3  # clean, or bitten 0 or 1 ago


# -- soundness ----------------------------------------------------------------------------------


def _fuzz_story(seed: int) -> str:
    """A small story that uses every kind of condition and effect, with triggers and infection."""
    rng = random.Random(seed)
    chars, items, flags = ["ca", "cb", "cc"], ["ia", "ib", "ic"], ["fa", "fb", "fc"]

    def cond(depth=0):
        kind = rng.randrange(12 if depth < 2 else 9)
        c = rng.choice(chars)
        return [
            lambda: f"has {rng.choice(items)}", lambda: f"with {c}", lambda: rng.choice(flags),
            lambda: f"{rng.choice(['k', 'm'])} {rng.choice(['<', '<=', '==', '!=', '>=', '>'])} {rng.randrange(-1, 6)}",
            lambda: f"turn {rng.choice(['<', '>=', '=='])} {rng.randrange(0, 8)}",
            lambda: f"{c} is {rng.choice(['in-group', 'separated', 'absent', 'dead', 'turned', 'alive'])}",
            lambda: f"{c} is {rng.choice(['bitten', 'feverish', 'turning', 'carrier', 'clean', 'infected'])}",
            lambda: f"you are {rng.choice(['turned', 'bitten', 'feverish', 'infected', 'clean', 'carrier'])}",
            lambda: f"{c} is not {rng.choice(['dead', 'alive', 'turned', 'clean'])}",
            lambda: f"({cond(depth + 1)}) and ({cond(depth + 1)})",
            lambda: f"({cond(depth + 1)}) or ({cond(depth + 1)})",
            lambda: f"not ({cond(depth + 1)})",
        ][kind]()

    def effects(n):
        def one():
            c, p = rng.choice(chars), rng.choice(chars + ["you"])
            return rng.choice([
                f"{{gain: {rng.choice(items)}}}", f"{{lose: {rng.choice(items)}}}", f"{{join: {c}}}",
                f"{{leave: {c}}}", f"{{die: {c}}}", f"{{turn: {c}}}", f"{{bite: {p}}}", f"{{cure: {p}}}",
                f"{{carrier: {p}}}", f"{{set: {rng.choice(flags)}}}", f"{{clear: {rng.choice(flags)}}}",
                f"{{add: {{{rng.choice(['k', 'm'])}: {rng.choice([-3, -1, 1, 2, 4])}}}}}",
                f"{{set: {{{rng.choice(['k', 'm'])}: {rng.randrange(-2, 7)}}}}}"])
        return "[" + ", ".join(one() for _ in range(n)) + "]"

    ids = [f"n{i}" for i in range(12)]
    endings = {ids[-1], ids[-2]} | {i for i in ids[1:-2] if rng.random() < 0.12}
    out = [f"title: Fuzz {seed}", "start: n0",
           f"infection: {{turns: {rng.randrange(2, 6)}, feverish: 1, turning: 2, on_player_turned: {rng.choice(ids)}}}",
           "characters:"]
    for c in chars:
        turns = f", turns: {rng.randrange(1, 4)}" if rng.random() < 0.5 else ""
        out.append(f"  {c}: {{name: {c}, fate: {rng.choice(['in-group', 'separated', 'absent'])}{turns}}}")
    out += ["items:"] + [f"  {i}: {{name: {i}}}" for i in items] + ["player:", f"  items: [{rng.choice(items)}]"]
    out += ["flags:"] + [f"  {f}: {{start: {str(rng.random() < 0.3).lower()}}}" for f in flags]
    out += ["counters:", f"  k: {{min: 0, max: {rng.randrange(2, 6)}, start: 1}}", "  m: {min: -2, max: 3}"]
    if rng.random() < 0.7:
        out.append("triggers:")
        for _ in range(rng.randrange(1, 3)):
            out.append(f"  - {{if: \"{cond()}\", goto: {rng.choice(ids)}, do: {effects(rng.randrange(0, 2))}}}")
    out.append("nodes:")
    for nid in ids:
        out += [f"  {nid}:", f"    text: {nid}."]
        if rng.random() < 0.3:
            out.append(f"    do: {effects(rng.randrange(1, 3))}")
        if nid in endings:
            out.append(f"    ending: {{title: E {nid}}}")
            continue
        out.append("    choices:")
        for j in range(rng.randrange(1, 4)):
            out += [f"      - id: c{j}", f"        text: C{j}"]
            if rng.random() < 0.6:
                out.append(f"        if: \"{cond()}\"")
            if rng.random() < 0.6:
                out.append(f"        do: {effects(rng.randrange(1, 3))}")
            if rng.random() < 0.3:
                out.append("        random:")
                for _ in range(rng.randrange(1, 3)):
                    guard = f", if: \"{cond()}\"" if rng.random() < 0.5 else ""
                    out.append(f"          - {{goto: {rng.choice(ids)}, do: {effects(rng.randrange(0, 2))}{guard}}}")
            else:
                out.append(f"        goto: {rng.choice(ids)}")
    return "\n".join(out) + "\n"


def _walk_and_check(story, proof, runs: int) -> int:
    """Random playthroughs: every state met must be one the analysis allows at its node. Returns states met."""
    never = {c for c, _ in proof.never_true}
    met = 0
    for run in range(runs):
        state = runtime.start(story, run)
        picker = seed_generator(run * 7919 + 13)
        for _ in range(300):
            met += 1
            assert state.node in proof.states and contains(proof.states[state.node], state, proof.layout), \
                f"run {run}: a state at {state.node!r} the analysis ruled out"
            for trigger in story.triggers:
                assert not (trigger.condition in never and trigger.condition.test(state))
            node = story.nodes[state.node]
            if node.ending is not None:
                break
            offered = runtime.available(story, state)
            for choice in offered:
                assert choice.condition not in never, f"{choice.condition.source} was offered"
                for outcome in runtime.possible_outcomes(story, state, choice):
                    assert outcome.condition is None or outcome.condition not in never
            if not offered:
                assert node.id not in proof.no_dead_end
                break
            index, picker = draw(picker, len(offered))
            try:
                state = runtime.step(story, state, offered[index]).state
            except runtime.StoryRuntimeError:
                assert (node.id, offered[index].key) not in proof.outcome_safe
                break
    return met


def _synthetic(tmp_path, nodes: int, seed: int):
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from synth import generate
    finally:
        sys.path.remove(str(ROOT / "bench"))
    return load(generate(tmp_path / f"synth-{seed}", nodes, seed))


@pytest.mark.parametrize("which", ["campaign", "synth-1", "synth-2"])
def test_what_random_play_reaches_is_never_ruled_out(tmp_path, which):
    story = load(ROOT / "story") if which == "campaign" else _synthetic(tmp_path, 300, int(which[-1]))
    proof = analyze(story)
    sampled = explore.explore_random(story, 500, seed=11)
    assert sampled.coverage.nodes and not sampled.coverage.nodes & proof.unreachable.keys()
    assert _walk_and_check(story, proof, 200) > 2000
    searched = explore.explore_exhaustive(story, 20_000, watch=True)
    assert not searched.coverage.nodes & proof.unreachable.keys()
    never = {c for c, _ in proof.never_true}
    assert not [c.source for c, (was_true, _) in searched.conditions.items() if was_true and c in never]


@pytest.mark.parametrize("seed", range(40))
def test_the_proofs_hold_on_small_stories_with_every_feature(tmp_path, seed):
    story = load(write_story(tmp_path, {"story.yaml": _fuzz_story(seed)}))
    proof = analyze(story)
    _walk_and_check(story, proof, 30)
    searched = explore.explore_exhaustive(story, 3_000, watch=True)
    assert not searched.coverage.nodes & proof.unreachable.keys()
    never = {c for c, _ in proof.never_true}
    assert not [c.source for c, (was_true, _) in searched.conditions.items() if was_true and c in never]
    if searched.complete:
        places = {n.where: n.id for n in story.nodes.values()}
        choices = {c.where: (n.id, c.key) for n in story.nodes.values() for c in n.choices}
        for finding in searched.findings:
            if finding.kind == "soft-lock":
                assert places[finding.where] not in proof.no_dead_end
            elif finding.kind == "trap":
                assert places[finding.where] not in proof.no_trap
            elif finding.kind == "runtime-error":
                assert choices[finding.where] not in proof.outcome_safe
            elif finding.kind == "unreachable-node":
                assert finding.where in places
