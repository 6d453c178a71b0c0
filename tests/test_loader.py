"""The loader: every load-time rule with its exact PATH:LINE:COL, and all problems reported at once."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli import main
from engine.loader import load_story

HEAD = """\
title: T
start: a
characters:
  on-jo: {name: Nam On-jo}
items:
  mop: {name: mop handle}
flags:
  alarm: {}
counters:
  noise: {min: 0, max: 3}
"""
ROOT = Path(__file__).resolve().parent.parent
# HEAD is 10 lines; nodes start on line 11.


def one(problems_of, body: str, extra: dict | None = None) -> list:
    return problems_of({"story.yaml": HEAD + body, **(extra or {})})


def test_a_good_story_loads_with_positions(story_dir):
    d = story_dir({"story.yaml": HEAD + """\
nodes:
  a:
    text: Hi.
    choices:
      - {text: Go, goto: b}
""", "more/b.yaml": """\
place: Roof
nodes:
  b:
    text: Bye.
    ending: {title: End}
"""})
    story, problems = load_story(d)
    assert problems == []
    assert str(story.nodes["a"].where) == f"{d}/story.yaml:12:3"
    assert str(story.nodes["a"].choices[0].where) == f"{d}/story.yaml:15:9"
    assert str(story.nodes["b"].where) == f"{d}/more/b.yaml:3:3"
    assert story.nodes["b"].place == "Roof" and story.endings["b"].ending.title == "End"


def test_duplicate_key(problems_of):
    assert one(problems_of, """\
nodes:
  a:
    text: Hi.
    text: Again.
    ending: {title: E}
""") == ["story.yaml:14:5: error: duplicate key 'text'; it is already set at line 13; hint: keep one [duplicate-key]"]


def test_unknown_key_with_hint(problems_of):
    assert one(problems_of, """\
nodes:
  a:
    text: Hi.
    ending: {title: E}
    choises: []
""") == ["story.yaml:15:5: error: unknown key 'choises' in a node; expected one of text, place, do, choices, "
         "ending; did you mean 'choices'? [unknown-key]"]


def test_wrong_types(problems_of):
    assert one(problems_of, """\
nodes:
  a:
    text: [not, text]
    choices:
      - text: Go
        goto: a
        random: {}
""") == [
        "story.yaml:13:11: error: text: expected text, found a list [wrong-type]",
        "story.yaml:17:9: error: a choice has either 'goto' or 'random', found both [conflicting-keys]",
        "story.yaml:17:17: error: random: expected a list, found a mapping [wrong-type]",
    ]


def test_dangling_goto_with_did_you_mean(problems_of):
    assert one(problems_of, """\
nodes:
  a:
    text: Hi.
    choices:
      - {text: Go, goto: b.roof}
  b.roof2:
    text: Roof.
    ending: {title: R}
""") == ["story.yaml:15:26: error: goto: no node has the id 'b.roof'; did you mean 'b.roof2'? [dangling-goto]"]


def test_duplicate_node_message(story_dir):
    d = story_dir({"story.yaml": HEAD + "nodes:\n  a:\n    text: Hi.\n    ending: {title: E}\n",
                   "z.yaml": "nodes:\n  a:\n    text: Again.\n    ending: {title: F}\n"})
    _, problems = load_story(d)
    assert [str(p) for p in problems] == [
        f"{d}/z.yaml:2:3: error: duplicate node id 'a'; it is already defined at {d}/story.yaml:12:3 [duplicate-node]"]


def test_undeclared_names_of_every_kind(problems_of):
    assert one(problems_of, """\
nodes:
  a:
    text: Hi.
    choices:
      - text: Go
        do: [{gain: mob}, {join: onjo}, {set: alarn}, {add: {noize: 1}}, {bite: sue}]
        goto: a
""") == [
        "story.yaml:16:21: error: undeclared item 'mob'; did you mean 'mop'? [undeclared-name]",
        "story.yaml:16:34: error: undeclared character 'onjo'; did you mean 'on-jo'? [undeclared-name]",
        "story.yaml:16:47: error: undeclared flag 'alarn'; did you mean 'alarm'? [undeclared-name]",
        "story.yaml:16:62: error: undeclared counter 'noize'; did you mean 'noise'? [undeclared-name]",
        "story.yaml:16:81: error: undeclared character 'sue'; hint: declare it under characters: in story.yaml "
        "[undeclared-name]",
    ]


def test_conditions_are_located_inside_the_string(problems_of):
    assert one(problems_of, """\
nodes:
  a:
    text: Hi.
    choices:
      - text: One
        if: has mop and noise >= x
        goto: a
      - text: Two
        if: "with mop"
        goto: a
      - text: Three
        if: with on-jo and alarms
        goto: a
      - text: Four
        if: noise = 2
        goto: a
""") == [
        "story.yaml:16:34: error: expected a whole number after `>=`, found 'x' [condition-syntax]",
        "story.yaml:19:19: error: 'mop' is an item, not a character; hint: test it as `has mop` [wrong-kind]",
        "story.yaml:22:28: error: undeclared flag 'alarms'; did you mean 'alarm'? [undeclared-name]",
        "story.yaml:25:19: error: `=` is not a comparison; hint: did you mean `==`? [condition-syntax]",
    ]


def test_text_substitutions_are_located_in_block_text(problems_of):
    assert one(problems_of, """\
nodes:
  a:
    text: |
      First line.
        {if has mop}ok{end} and {groupp}
    ending: {title: E}
""") == [
        "story.yaml:15:33: error: `{groupp}` names nothing; expected one of {group}, {items}, {turn}, {infection}, "
        "a character or a counter, or {if ...}/{else}/{end}; did you mean 'group'? [unknown-substitution]"]


def test_no_way_forward(problems_of):
    assert one(problems_of, """\
nodes:
  a:
    text: Hi.
""") == ["story.yaml:13:5: error: this node has no way forward: expected 'choices' or 'ending'. "
         "Do you need an `ending:`? [no-way-forward]"]


def test_unsafe_tags_are_refused_and_never_built(problems_of, tmp_path):
    marker = tmp_path / "pwned"
    problems = one(problems_of, f"""\
nodes:
  a:
    text: !!python/object/apply:os.system ["touch {marker}"]
    ending: {{title: E}}
""")
    assert problems[0].startswith("story.yaml:13:11: error: expected plain YAML data, found the tag "
                                  "'tag:yaml.org,2002:python/object/apply:os.system'")
    assert problems[0].endswith("[unsafe-tag]")
    assert not marker.exists()


@pytest.mark.parametrize("text, where, tag", [
    ("!secret Hi.", "13:11", "!secret"),  # after a space
    ("[Hi, !!python/name:os.system a]", "13:16", "tag:yaml.org,2002:python/name:os.system"),  # in a flow list
    ("{a: 1,!!set b}", "13:17", "tag:yaml.org,2002:set"),  # right after a comma
    ("2001-12-14", "13:11", "tag:yaml.org,2002:timestamp"),  # no `!` at all: a tag resolved from the value
])
def test_every_way_to_write_a_tag_is_found(problems_of, text, where, tag):
    problems = one(problems_of, f"nodes:\n  a:\n    text: {text}\n    ending: {{title: E}}\n")
    assert any(p.startswith(f"story.yaml:{where}: error: expected plain YAML data, found the tag {tag!r}")
               for p in problems), problems


def test_a_bang_inside_words_is_not_a_tag(story_dir):
    d = story_dir({"story.yaml": HEAD + "nodes:\n  a:\n    text: Run! Now!!\n    ending: {title: Go!}\n"})
    story, problems = load_story(d)
    assert problems == [] and story.nodes["a"].text.source == "Run! Now!!"


def test_non_utf8_is_located(story_dir):
    d = story_dir({"story.yaml": HEAD + "nodes: {}\n"})
    (d / "bad.yaml").write_bytes(b"nodes:\n  b:\n    text: caf\xe9\n")
    problems = [str(p).replace(f"{d}/", "") for p in load_story(d)[1]]
    assert "bad.yaml:3:14: error: expected UTF-8 text, found the byte 0xe9; hint: save the file as UTF-8 [not-utf8]" \
        in problems


def test_yaml_syntax_error_is_located(problems_of):
    assert one(problems_of, "nodes:\n  a:\n    text: [unclosed\n") == [
        "story.yaml:14:1: error: this is not valid YAML: did not find expected ',' or ']' [yaml-syntax]"]


def test_missing_manifest(problems_of):
    assert problems_of({"scene.yaml": "nodes:\n  a:\n    text: Hi.\n    ending: {title: E}\n"}) == [
        "story.yaml:1:1: error: expected the manifest story.yaml (with title and start) in the story directory, "
        "found none [no-manifest]"]


def test_manifest_needs_title_and_start(problems_of):
    assert problems_of({"story.yaml": "nodes:\n  a:\n    text: Hi.\n    ending: {title: E}\n"}) == [
        "story.yaml:1:1: error: this manifest has no 'title'; expected the story's title [missing-key]",
        "story.yaml:1:1: error: this manifest has no 'start'; expected the id of the first node [missing-key]",
    ]


def test_every_problem_is_reported_at_once(problems_of):
    problems = one(problems_of, """\
nodes:
  a:
    text: Hi {nobody}.
    choices:
      - {text: Go, goto: nowhere}
      - {text: Get, do: [{gain: spoon}], goto: a}
      - {text: If, if: "has", goto: a}
""")
    rules = [p.rsplit("[", 1)[1].rstrip("]") for p in problems]
    assert rules == ["unknown-substitution", "dangling-goto", "undeclared-name", "condition-syntax"]


def test_check_command_prints_problems_and_exits_1(story_dir, capsys):
    d = story_dir({"story.yaml": HEAD + "nodes:\n  a:\n    text: Hi.\n    choices: [{text: Go, goto: b}]\n"})
    assert main(["check", str(d)]) == 1
    out = capsys.readouterr().out
    assert out == f"{d}/story.yaml:14:32: error: goto: no node has the id 'b'; hint: define it under nodes: [dangling-goto]\n"


def test_check_keeps_relative_paths_relative(story_dir, tmp_path):
    story_dir({"story.yaml": HEAD + "nodes:\n  a:\n    text: Hi.\n    choices: [{text: Go, goto: b}]\n"})
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-m", "engine", "check", "story"], cwd=tmp_path, capture_output=True,
                         text=True, env=env)
    assert run.returncode == 1
    assert run.stdout.startswith("story/story.yaml:14:32: error: goto:")
    assert "Traceback" not in run.stderr


def test_check_json_and_clean_story(story_dir, capsys):
    import json
    d = story_dir({"story.yaml": HEAD + "nodes:\n  a:\n    text: Hi.\n    ending: {title: E}\n"})
    assert main(["check", str(d), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["errors"], data["warnings"]) == (0, 4)
    assert [(p["rule"], p["line"]) for p in data["problems"]] == [("unused", 4), ("unused", 6), ("unused", 8),
                                                                  ("unused", 10)]


def test_missing_directory_is_a_located_error(tmp_path, capsys):
    assert main(["check", str(tmp_path / "nope")]) == 1
    assert capsys.readouterr().out == f"{tmp_path}/nope:1:1: error: expected a story directory, found nothing at " \
                                      "this path [no-story]\n"


def test_you_is_the_player_not_a_character(problems_of):
    assert one(problems_of, """\
nodes:
  a:
    text: Hi.
    choices:
      - {text: Go, do: [{join: you}], goto: a}
""") == ["story.yaml:15:32: error: `you` is the player, not a character; hint: `you` can be bitten, cured or made "
         "a carrier, and tested with `you are ...` [wrong-kind]"]


def test_a_text_tag_may_wrap_lines_and_keeps_its_position(problems_of):
    assert one(problems_of, """\
nodes:
  a:
    text: |
      Hi {if has mop}x{elif
      has mob}y{end}
    ending: {title: E}
""") == ["story.yaml:15:11: error: undeclared item 'mob'; did you mean 'mop'? [undeclared-name]"]
