"""The writer's check (each rule at its exact PATH:LINE:COL), the JSON Schema, and the story graph."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from engine.check import RULES, check_story
from engine.cli import main
from engine.graph import to_dot, to_mermaid
from engine.loader import load
from engine.schema import story_schema

from conftest import write_story

ROOT = Path(__file__).resolve().parent.parent

RULED = """\
title: Rules
start: a
characters:
  mi-jin: {name: Seo Mi-jin, short: Mi-jin}
items:
  key: {name: key}
  spoon: {name: spoon}
flags:
  lit: {}
counters:
  noise: {min: 0, max: 3}
nodes:
  a:
    text: A.
    choices:
      - {id: key, text: Key, if: not has key, do: [{gain: key}], goto: a}
      - {id: same, text: Look around, goto: a}
      - {id: door, text: Door, if: has key, goto: b}
      - {id: loud, text: Shout, do: [{add: {noise: 9}}], goto: b}
      - {id: never, text: Never, if: noise > 5, goto: b}
  b:
    text: B.
    choices:
      - {id: on, text: On, if: "true or lit", goto: end}
      - {id: set, text: Set, do: [{set: {noise: 7}}], goto: end}
  end:
    text: End.
    ending: {title: End}
  lost:
    text: Lost.
    ending: {title: Lost}
"""


def rule_lines(directory, problems):
    return sorted(str(p).replace(f"{directory}/", "") for p in problems)


def test_each_rule_with_its_location(tmp_path):
    directory = write_story(tmp_path, {"story.yaml": RULED})
    problems = check_story(load(directory))
    lines = rule_lines(directory, problems)
    assert lines == sorted([
        "story.yaml:4:3: warning: the character 'mi-jin' is declared but nothing uses it; hint: use it in a "
        "condition, an effect or a text, or remove it [unused]",
        "story.yaml:7:3: warning: the item 'spoon' is declared but nothing uses it; hint: use it in a condition, "
        "an effect or a text, or remove it [unused]",
        "story.yaml:17:9: warning: this choice leads back to 'a' and changes nothing, so the player sees the same "
        "scene again; hint: add an effect or another goto [self-loop]",
        "story.yaml:19:45: warning: adds 9 to noise, more than its whole range 0..3; it will be clamped "
        "[counter-range]",
        "story.yaml:20:38: warning: `noise > 5` is false in every reachable state where it is tested, so what it "
        "guards never happens; hint: check its names and numbers [never-true]",
        "story.yaml:24:32: warning: `true or lit` is true in every reachable state where it is tested; hint: drop "
        "the `if`, or check what it should test [always-true]",
        "story.yaml:25:42: warning: sets noise to 7, outside its range 0..3; it will be clamped [counter-range]",
        "story.yaml:29:3: error: no path reaches the node 'lost', proven: no choice, outcome or trigger leads here; "
        "hint: add a way in, fix the conditions on the way in, or remove it [unreachable-node]",
        "story.yaml:31:13: error: no path reaches the ending 'lost', proven: no choice, outcome or trigger leads "
        "here [unreachable-ending]",
    ])
    assert all(p.rule in RULES and p.level == RULES[p.rule].level for p in problems)


DEAD_END_AND_TRAP = """\
title: Traps
start: a
flags:
  lit: {}
nodes:
  a:
    text: A.
    choices:
      - {id: lamp, text: Lamp, do: [{set: lit}], goto: dark}
      - {id: maze, text: Maze, goto: m1}
      - {id: home, text: Home, goto: home}
  dark:
    text: Dark.
    choices:
      - {id: feel, text: Feel your way, if: not lit, goto: home}
  m1:
    text: M1.
    choices: [{id: on, text: On, goto: m2}]
  m2:
    text: M2.
    choices: [{id: back, text: Back, goto: m1}]
  home:
    text: Home.
    ending: {title: Home}
"""


def test_dead_end_and_trap(tmp_path):
    directory = write_story(tmp_path, {"story.yaml": DEAD_END_AND_TRAP})
    lines = [line for line in rule_lines(directory, check_story(load(directory))) if "error" in line]
    assert lines == [
        "story.yaml:12:3: error: no choice is offered at 'dark' in a reachable state, and it is not an ending "
        "(shortest path: 1 choices; `explore --exhaustive --emit DIR` writes it) [dead-end]",
        "story.yaml:16:3: error: from 'm1' no ending can be reached: every path loops through 'm1', 'm2' "
        "(shortest path: 1 choices; `explore --exhaustive --emit DIR` writes it) [trap]",
    ]


def test_an_incomplete_search_still_reports_what_the_analysis_proves(tmp_path):
    directory = write_story(tmp_path, {"story.yaml": RULED})
    lines = rule_lines(directory, check_story(load(directory), max_states=2))
    assert "story.yaml:29:3: error: no path reaches the node 'lost', proven: no choice, outcome or trigger leads " \
           "here; hint: add a way in, fix the conditions on the way in, or remove it [unreachable-node]" in lines
    assert "story.yaml:20:38: warning: `noise > 5` is never true where it is tested, proven: at 'a', noise is " \
           "0; so what it guards never happens; hint: check its names and numbers [never-true]" in lines
    # every dead end, trap and random choice is ruled out, and the other searches reach every node: nothing is open
    assert not any("search-incomplete" in line or "not-reached" in line for line in lines)


def test_exit_codes_strict_and_json(tmp_path, capsys):
    warn_only = RULED.replace("  lost:\n    text: Lost.\n    ending: {title: Lost}\n", "")
    directory = write_story(tmp_path, {"story.yaml": warn_only})
    assert main(["check", str(directory)]) == 0
    assert main(["check", str(directory), "--strict"]) == 1
    capsys.readouterr()
    assert main(["check", str(directory), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["errors"] == 0 and data["warnings"] == 7
    first = data["problems"][0]
    assert first == {"path": f"{directory}/story.yaml", "line": 4, "column": 3, "level": "warning",
                     "message": first["message"], "rule": "unused"}
    errors = write_story(tmp_path / "e", {"story.yaml": RULED})
    assert main(["check", str(errors)]) == 1


# -- schema ------------------------------------------------------------------------------------


class Yaml12Loader(yaml.SafeLoader):
    """YAML as editors read it (1.2): only true/false are booleans, so `on`, `yes`, `no` stay text."""


Yaml12Loader.yaml_implicit_resolvers = {
    key: [r for r in resolvers if r[0] != "tag:yaml.org,2002:bool"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Yaml12Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                   list("tTfF"))


@pytest.fixture(scope="module")
def validator():
    schema = story_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_every_campaign_file_is_valid_against_the_schema(validator):
    files = sorted((ROOT / "story").rglob("*.yaml"))
    assert files
    for path in files:
        errors = list(validator.iter_errors(yaml.load(path.read_text(encoding="utf-8"), Loader=Yaml12Loader)))
        assert errors == [], f"{path}: {[e.message for e in errors]}"


@pytest.mark.parametrize("document, fragment", [
    ({"nodes": {"a": {"text": "x", "choises": []}}}, "'choises' was unexpected"),
    ({"nodes": {"a": {"text": "x"}}}, "is not valid under any of the given schemas"),
    ({"nodes": {"a": {"text": "x", "ending": {"title": "t"}, "choices": []}}}, "is valid under each of"),
    ({"nodes": {"a": {"text": "x", "choices": [{"text": "t", "goto": "b", "random": []}]}}}, "is valid under each"),
    ({"nodes": {"a": {"text": "x", "choices": [{"text": "t", "goto": "b", "do": [{"gain": "k", "lose": "k"}]}]}}},
     "has too many properties"),
    ({"nodes": {"a": {"text": "x", "choices": [{"text": "t", "goto": "b", "do": [{"teleport": "k"}]}]}}},
     "'teleport' was unexpected"),
    ({"counters": {"noise": {"min": "low", "max": 3}}}, "'low' is not of type 'integer'"),
    ({"characters": {"on-jo": {"name": "On-jo", "fate": "lost"}}}, "'lost' is not one of"),
    ({"nodes": {"9lives": {"text": "x", "ending": {"title": "t"}}}}, "does not match"),
])
def test_broken_files_fail_the_schema(validator, document, fragment):
    messages = [e.message for e in validator.iter_errors(document)]
    assert any(fragment in m for m in messages), messages


def test_schema_command_and_the_committed_copy_match_the_spec(capsys):
    assert main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == story_schema()
    committed = json.loads((ROOT / "docs" / "story.schema.json").read_text())
    assert committed == printed, "docs/story.schema.json is stale: run `aoud-adventure schema > docs/story.schema.json`"
    assert printed["$defs"]["node"]["properties"]["choices"]["description"] == "The choices offered here."


# -- graph -------------------------------------------------------------------------------------

GRAPHED = """\
title: Graph
start: a
items:
  key: {name: key}
triggers:
  - {if: has key, goto: end}
nodes:
  a:
    text: A.
    choices:
      - {id: key, text: Key, if: not has key, do: [{gain: key}], goto: b}
      - id: coin
        text: Coin
        random:
          - {weight: 2, goto: b}
          - {weight: 1, goto: end}
  b:
    text: B.
    choices: [{text: "Say \\"hi\\"", goto: end}]
  end:
    text: End.
    ending: {title: The End}
"""


def test_dot_graph(tmp_path):
    story = load(write_story(tmp_path, {"story.yaml": GRAPHED}))
    dot = to_dot(story)
    assert '"a" [label="a", style="rounded,bold,filled", fillcolor="#d9ead3", peripheries=2];' in dot
    assert '"end" [label="end\\nThe End", shape=doubleoctagon' in dot
    assert '"a" -> "b" [label="key", style=dashed];' in dot
    assert '"a" -> "b" [label="coin (2/3)", style=dotted, color="#1155cc"];' in dot
    assert '"*" -> "end" [label="has key", style=bold, color="#cc0000"];' in dot
    assert '"b" -> "end" [label="Say \\"hi\\""];' in dot
    assert "subgraph cluster_0" in dot and 'label="story.yaml"' in dot


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed (CI installs it)")
def test_dot_renders_with_graphviz(tmp_path):
    for story_dir in (write_story(tmp_path, {"story.yaml": GRAPHED}), ROOT / "story"):
        rendered = subprocess.run(["dot", "-Tsvg"], input=to_dot(load(story_dir)), capture_output=True, text=True,
                                  timeout=120)
        assert rendered.returncode == 0, rendered.stderr
        assert rendered.stdout.lstrip().startswith("<?xml") and "<svg" in rendered.stdout


def test_mermaid_graph(tmp_path, capsys):
    directory = write_story(tmp_path, {"story.yaml": GRAPHED})
    text = to_mermaid(load(directory))
    assert text.startswith("flowchart LR\n")
    assert '    n_a(["START a"])' in text and '    n_end(("end: The End"))' in text
    assert '  n_a -.->|"if key"| n_b' in text and '  n_a -.->|"random coin (2/3)"| n_b' in text
    assert '  any ==>|"has key"| n_end' in text
    assert '  n_b -->|"Say #quot;hi#quot;"| n_end' in text
    assert main(["graph", str(directory), "--format", "mermaid"]) == 0
    assert capsys.readouterr().out == text


def test_a_bite_without_a_turning_target_is_warned(tmp_path):
    directory = write_story(tmp_path, {"story.yaml": """\
title: Bite
start: a
nodes:
  a:
    text: A.
    choices:
      - {id: bite, text: Bite, do: [{bite: you}], goto: b}
  b:
    text: B.
    choices: [{id: end, text: End, if: you are turned, goto: end}, {id: wait, text: Wait, goto: b}]
  end:
    text: End.
    ending: {title: End}
"""})
    lines = [line for line in rule_lines(directory, check_story(load(directory))) if "no-turn-target" in line]
    assert lines == ["story.yaml:7:44: warning: the player can be bitten here, but nothing happens when their clock "
                     "runs out; hint: set infection.on_player_turned in story.yaml to the node of that ending "
                     "[no-turn-target]"]


RARE = """\
title: Rare
start: a
counters:
  noise: {min: 0, max: 30}
nodes:
  a:
    text: A.
    choices:
      - {id: loud, text: Loud, do: [{add: {noise: 1}}], goto: a}
      - {id: out, text: Out, goto: end}
      - {id: vault, text: Vault, if: noise > 29, goto: vault}
  vault:
    text: Vault.
    ending: {title: Vault}
  end:
    text: End.
    ending: {title: End}
"""


def test_what_no_search_reaches_and_no_proof_rules_out_is_not_reached(tmp_path):
    directory = write_story(tmp_path, {"story.yaml": RARE})
    lines = rule_lines(directory, check_story(load(directory), max_states=3))
    assert "story.yaml:12:3: warning: no search reached the ending 'vault' (8 states, 60 random runs), and the " \
           "analysis could not prove it unreachable; it may be unreachable, or only rarely reached; hint: " \
           "`explore --random N --emit DIR` or a replay script can show a path [not-reached]" in lines
    assert "story.yaml:1:1: warning: the searches stopped (8 states) before settling whether 1 node is reachable " \
           "(not-reached); the analysis could not rule these out; hint: raise --max-states, or simplify the " \
           "conditions there [search-incomplete]" in lines
    assert not any("[unreachable-" in line for line in lines)


def test_a_guard_that_can_never_be_true_is_proven_not_guessed(tmp_path):
    directory = write_story(tmp_path, {"story.yaml": RARE.replace("noise > 29", "noise > 30")})
    lines = rule_lines(directory, check_story(load(directory), max_states=3))
    assert "story.yaml:12:3: error: no path reaches the node 'vault', proven: `noise > 30` is never true at 'a' " \
           "(noise is 0..30); hint: add a way in, fix the conditions on the way in, or remove it " \
           "[unreachable-node]" in lines
    assert not any("not-reached" in line or "search-incomplete" in line for line in lines)


def test_the_default_budget_scales_with_the_story(tmp_path):
    directory = write_story(tmp_path, {"story.yaml": RARE})
    lines = rule_lines(directory, check_story(load(directory)))
    # 3 nodes: the analysis bounds the states (31 noise levels at `a`), so the exhaustive search runs and finishes
    assert "story.yaml:11:38: warning: `noise > 29` is false in every reachable state where it is tested, so " \
           "what it guards never happens; hint: check its names and numbers [never-true]" not in lines
    assert not any("not-reached" in line or "search-incomplete" in line or "error" in line for line in lines)


SHED = """\
title: Shed
start: yard
items:
  key: {name: key}
counters:
  a: {min: 0, max: 9}
  b: {min: 0, max: 9}
nodes:
  yard:
    text: The yard.
    choices:
      - {id: shed, text: Look in the shed, goto: shed}
      - {id: hall, text: Go in, goto: hall}
  shed:
    text: The shed.
    choices:
      - {id: key, text: Take the key, do: [{gain: key}], goto: hall}
  hall:
    text: The hall.
    choices:
      - {id: left, text: Left, if: a < 9, do: [{add: {a: 1}}], goto: hall}
      - {id: right, text: Right, if: b < 9, do: [{add: {b: 1}}], goto: hall}
      - {id: on, text: On, goto: door}
  door:
    text: The door.
    choices:
      - {id: back, text: Back, goto: hall}
      - {id: open, text: Open it, if: has key, goto: vault}
  vault:
    text: The vault.
    ending: {title: Vault}
"""


def test_a_search_aimed_at_a_node_goes_first_for_what_every_way_in_needs(tmp_path, monkeypatch):
    # The key is off the shortest way to the vault, and the hall holds a hundred keyless states
    # nearer to it; aimed by distance alone, 60 states are not enough.
    from engine import aim, check

    story = load(write_story(tmp_path, {"story.yaml": SHED}))
    preds = aim.predecessors(story)
    dist = aim.distances(preds, "vault")
    marks = aim.landmarks(story, "vault", preds, dist)
    assert [bit for bit, _ in marks] == [story.layout.item_bit["key"]]
    # By the shed, where that is still ahead: a keyless state in the hall or at the door has missed it.
    assert marks[0][1] == {"shed": 3, "yard": 4}
    found, expanded = check._aimed(story, "vault", 60, preds, False)
    assert found is not None and found.node == "vault" and found.bits & story.layout.item_bit["key"]
    assert expanded <= 5
    monkeypatch.setattr(aim, "landmarks", lambda *args: [])
    assert check._aimed(story, "vault", 60, preds, False) == (None, 60)


def test_what_the_only_way_to_a_node_needs_guides_a_search_aimed_past_it(tmp_path):
    # The vault is reached only through the cellar, and the way into the cellar needs the key.
    from engine import aim, check

    cellar = SHED.replace("      - {id: open, text: Open it, if: has key, goto: vault}",
                          "      - {id: open, text: Open it, if: has key, goto: cellar}\n"
                          "  cellar:\n    text: The cellar.\n    choices:\n"
                          "      - {id: down, text: Down, goto: vault}")
    story = load(write_story(tmp_path, {"story.yaml": cellar}))
    preds = aim.predecessors(story)
    assert aim.landmarks(story, "vault", preds, aim.distances(preds, "vault")) == []
    dist, ahead = aim.guide(story, "vault", preds)
    key = story.layout.item_bit["key"]
    assert (ahead("hall", 0), ahead("hall", key), ahead("shed", 0), dist["hall"]) == (aim.FAR, 3, 4, 3)
    found, expanded = check._aimed(story, "vault", 60, preds, False)
    assert found is not None and found.node == "vault" and expanded <= 6
