"""Replay scripts: passing runs, every kind of failed expectation at its exact SCRIPT:LINE, record round trips."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from engine.cli import main
from engine.loader import load
from engine.replay import ScriptError, parse_script, record, run_script
from engine.session import Session
from engine.runtime import find_choice

from conftest import write_story

ROOT = Path(__file__).resolve().parent.parent

STORY = """\
title: Replay
start: gate
characters:
  ha-ri: {name: Jang Ha-ri, short: Ha-ri, fate: in-group}
  woo-jin: {name: Jang Woo-jin, short: Woo-jin}
items:
  bow: {name: bow}
  rope: {name: rope}
flags:
  signalled: {}
counters:
  noise: {min: 0, max: 5}
nodes:
  gate:
    text: The gate is chained. {if with ha-ri}Ha-ri strings her bow.{end}
    choices:
      - {id: take-bow, text: Take the spare bow, if: not has bow, do: [{gain: bow}], goto: gate}
      - {id: shout, text: Shout for Woo-jin, do: [{add: {noise: 2}}, {join: woo-jin}, {set: signalled}], goto: yard}
      - {id: climb, text: Climb, if: has rope, goto: yard}
  yard:
    text: The yard.
    choices:
      - id: shoot
        text: Shoot the one by the truck
        random:
          - {weight: 1, goto: out, text: The arrow flies true.}
          - {weight: 1, goto: out, text: The arrow goes wide., do: [{bite: ha-ri}]}
  out:
    text: Out.
    ending: {title: Out of the Gate, epilogue: "You left with {group}."}
"""


@pytest.fixture
def story_path(tmp_path):
    return write_story(tmp_path, {"story.yaml": STORY})


def script(tmp_path, body: str, name="s.replay.yaml") -> Path:
    path = tmp_path / name
    path.write_text("story: story\n" + textwrap.dedent(body), encoding="utf-8")
    return path


def test_a_passing_script(tmp_path, story_path, capsys):
    path = script(tmp_path, """\
seed: 7
steps:
  - expect: {node: gate, offered: [take-bow, shout], not_offered: [climb], fates: {ha-ri: in-group}}
  - choose: take-bow
  - expect: {has: bow, lacks: [rope], turn: 1, text: "Ha-ri strings her bow."}
  - choose: 1
  - expect:
      node: yard
      fates: {woo-jin: in-group, ha-ri: alive}
      flags: {signalled: true}
      counters: {noise: ">= 2", turn: 2}
      infection: {you: clean}
      holds: with woo-jin and has bow and noise == 2
  - choose: shoot
    outcome: 2
  - expect: {ending: out, infection: {ha-ri: bitten}}
""")
    assert main(["replay", str(path)]) == 0
    assert capsys.readouterr().out == f"PASS {path} (7 steps)\nreplay: 1 passed, 0 failed\n"


FAILURES = [
    ("expect: {node: yard}", "expected node 'yard', found 'gate'"),
    ("expect: {ending: out}", "expected ending 'out', found no ending yet"),
    ("expect: {has: [rope]}", "expected to carry 'rope', found carrying nothing"),
    ("expect: {fates: {woo-jin: in-group}}", "expected woo-jin to be in-group, found absent"),
    ("expect: {fates: {ha-ri: dead}}", "expected ha-ri to be dead, found in-group"),
    ("expect: {infection: {you: bitten}}", "expected you to be bitten, found clean"),
    ("expect: {flags: {signalled: true}}", "expected flag signalled to be true, found false"),
    ("expect: {counters: {noise: 3}}", "expected noise == 3, found 0"),
    ("expect: {counters: {noise: '> 0'}}", "expected noise > 0, found 0"),
    ("expect: {offered: climb}", "expected the choice 'climb' to be offered, found it is not"),
    ("expect: {not_offered: [shout]}", "expected the choice 'shout' not to be offered, found it is"),
    ("expect: {turn: 4}", "expected turn 4, found 0"),
    ("expect: {text: dragons}", "expected the scene to show 'dragons'"),
    ("expect: {holds: has bow or with woo-jin}", "expected `has bow or with woo-jin` to hold, found it false"),
    ("choose: climb", "expected the choice 'climb' to be offered, found it is not"),
    ("choose: 9", "expected the choice 9 to be offered, found it is not"),
]


@pytest.mark.parametrize("step, message", FAILURES)
def test_each_kind_of_failure_is_located(tmp_path, story_path, step, message):
    path = script(tmp_path, f"""\
steps:
  - expect: {{node: gate}}
  - {step}
""")
    result = run_script(parse_script(path), load(story_path))
    assert not result.passed and result.line == 4
    first = result.message.splitlines()[0]
    assert first.startswith(f"{path}:4: {message}")
    assert "  offered:" in result.message and "    1) [take-bow] Take the spare bow" in result.message


def test_failure_exit_status_and_offered_list(tmp_path, story_path, capsys):
    path = script(tmp_path, "steps:\n  - choose: shout\n  - expect: {node: out}\n")
    assert main(["replay", str(path)]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"FAIL {path}:4: expected node 'out', found 'yard'"
    assert "    1) [shoot] Shoot the one by the truck" in out
    assert out.endswith("replay: 0 passed, 1 failed\n")


@pytest.mark.parametrize("body, line, message", [
    ("steps: 3\n", 2, "steps: expected a list"),
    ("stepz: []\n", 2, "unknown key 'stepz' in a replay script; expected one of story, seed, from, steps, name, "
                       "description; did you mean 'steps'?"),
    ("steps:\n  - choose: a\n    expect: {node: a}\n", 3, "a step has either `choose:` or `expect:`"),
    ("steps:\n  - expect: {nod: a}\n", 3, "unknown key 'nod' in a expect; expected one of"),
    ("seed: lots\nsteps: []\n", 2, "seed: expected a whole number, found 'lots'"),
    ("steps: [\n", 3, "this is not valid YAML"),
    ("steps:\n  - outcome: 1\n", 3, "a step has either `choose:` or `expect:`"),
])
def test_malformed_scripts_are_located_and_exit_2(tmp_path, story_path, capsys, body, line, message):
    path = script(tmp_path, body)
    with pytest.raises(ScriptError) as err:
        parse_script(path)
    assert str(err.value).startswith(f"{path}:{line}: {message}")
    assert main(["replay", str(path)]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_record_then_replay_round_trip(tmp_path, story_path):
    story = load(story_path)
    session = Session(story, seed=5)
    for key in ("take-bow", "shout", "shoot"):
        session.choose(find_choice(story, session.state, key))
    target = tmp_path / "rec.replay.yaml"
    target.write_text(record(session, str(story_path), str(target)))
    parsed = parse_script(target)
    assert parsed.seed == 5 and [s.choose for s in parsed.steps[:-1]] == ["take-bow", "shout", "shoot"]
    final = parsed.steps[-1].expect
    assert final["ending"][0] == "out" and final["has"][0] == ["bow"]
    assert run_script(parsed, story).passed
    other_seed = run_script(parsed, story, seed=6)
    assert other_seed.passed or "ha-ri" in other_seed.message, "a different seed may change the arrow's outcome"


def test_play_record_writes_a_replayable_script(tmp_path, story_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rec = tmp_path / "found-bug.replay.yaml"
    run = subprocess.run([sys.executable, "-m", "engine", "play", "--story", str(story_path), "--seed", "3",
                          "--save-dir", str(tmp_path / "s"), "--record", str(rec)], input="1\n1\n1\n",
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert run.returncode == 0 and "ENDING: Out of the Gate" in run.stdout
    assert f"Recorded 3 choices to {rec}" in run.stderr
    assert main(["replay", str(rec)]) == 0


def test_transcripts_are_compared_and_blessed(tmp_path, story_path, capsys):
    path = script(tmp_path, "seed: 2\nsteps:\n  - choose: shout\n  - choose: shoot\n    outcome: 1\n")
    golden = tmp_path / "golden.txt"
    assert main(["replay", str(path), "--transcript", str(golden)]) == 1
    assert "expected a golden transcript" in capsys.readouterr().out
    assert main(["replay", str(path), "--transcript", str(golden), "--bless"]) == 0
    text = golden.read_text()
    assert "> Shout for Woo-jin" in text and "The arrow flies true." in text and "ENDING: Out of the Gate" in text
    assert "You left with Ha-ri and Woo-jin." in text
    assert main(["replay", str(path), "--transcript", str(golden)]) == 0
    golden.write_text(text.replace("flies true", "flies wide"))
    capsys.readouterr()
    assert main(["replay", str(path), "--transcript", str(golden)]) == 1
    out = capsys.readouterr().out
    assert "-The arrow flies wide." in out and "+The arrow flies true." in out


def test_json_format(tmp_path, story_path, capsys):
    good = script(tmp_path, "steps:\n  - choose: shout\n", "a.replay.yaml")
    bad = script(tmp_path, "steps:\n  - expect: {node: out}\n", "b.replay.yaml")
    assert main(["replay", str(good), str(bad), "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert (data["passed"], data["failed"]) == (1, 1)
    assert data["results"][1]["line"] == 3 and data["results"][1]["passed"] is False


def test_pytest_plugin_collects_replay_scripts(pytester, story_path):
    import importlib.metadata

    registered = any(ep.name == "aoud_adventure" for ep in importlib.metadata.entry_points(group="pytest11"))
    args = [] if registered else ["-p", "engine.pytest_plugin"]
    (pytester.path / "ok.replay.yaml").write_text(f"story: {story_path}\nsteps:\n  - choose: shout\n"
                                                  "  - expect: {node: yard}\n")
    (pytester.path / "bad.replay.yaml").write_text(f"story: {story_path}\nsteps:\n  - choose: shout\n"
                                                   "  - expect: {node: gate}\n")
    result = pytester.runpytest(*args)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*bad.replay.yaml:4: expected node 'gate', found 'yard'*"])
