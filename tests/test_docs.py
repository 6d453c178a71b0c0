"""The writer's docs cannot rot: their examples are loaded, checked and replayed, and the reference
must name every key, effect, rule, replay key and command the engine has.

Examples: every fenced block opened as ```yaml file=DIR/NAME in docs/tutorial.md and
docs/reference.md is written to DIR/NAME under a temporary directory. Every DIR holding a
story.yaml is a story that must load and check clean; every *.replay.yaml is a replay script
(its `story:` names one of those DIRs, relative to the script) that must pass.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
from pathlib import Path

import pytest
import yaml

from engine import check, cli, commands, conditions, replay, saves, spec, text
from engine.effects import EFFECT_OPS
from engine.loader import load_story
from engine.session import Session

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
DOC_NAMES = ("tutorial.md", "reference.md")
REFERENCE = (DOCS / "reference.md").read_text(encoding="utf-8")

_OPENER = re.compile(r"^```yaml file=(?P<path>\S+)[ \t]*$")
_FENCE = re.compile(r"^```")

# Every rule id the loader (with the condition and text parsers) can report. Kept by hand so that a
# new rule is a visible change; test_load_time_rules_list_matches_the_source keeps it honest.
LOAD_TIME_RULES = {
    "no-story", "no-manifest", "no-nodes", "file-too-large", "unreadable-file", "not-text", "not-utf8",
    "too-deep", "yaml-syntax", "unsafe-tag", "wrong-type", "wrong-value", "bad-id", "reserved-id", "duplicate-key",
    "unknown-key", "missing-key", "conflicting-keys", "no-way-forward", "duplicate-node", "duplicate-name",
    "duplicate-choice", "dangling-goto", "undeclared-name", "wrong-kind", "unknown-effect",
    "locked-without-if", "counter-range", "infection-clock", "condition-syntax", "condition-meaning",
    "text-syntax", "unknown-substitution",
}


# -- the examples ----------------------------------------------------------------------------


def _blocks() -> list:
    """(doc name, line, relative path, body) for every ```yaml file=... block."""
    out = []
    for name in DOC_NAMES:
        lines = (DOCS / name).read_text(encoding="utf-8").splitlines(keepends=True)
        i = 0
        while i < len(lines):
            line = lines[i].rstrip("\n")
            if line.startswith("```") and "file" in line and not _OPENER.match(line):
                raise AssertionError(f"docs/{name}:{i + 1}: write a file block as ```yaml file=DIR/NAME, "
                                     f"found {line!r}")
            m = _OPENER.match(line)
            if not m:
                i += 1
                continue
            start = i + 1
            i += 1
            while i < len(lines) and not _FENCE.match(lines[i]):
                i += 1
            if i == len(lines):
                raise AssertionError(f"docs/{name}:{start}: the block is never closed")
            out.append((name, start, m.group("path"), "".join(lines[start:i])))
            i += 1
    return out


BLOCKS = _blocks()


def _check_paths() -> None:
    seen: dict = {}
    for name, line, rel, _ in BLOCKS:
        parts = Path(rel).parts
        assert len(parts) >= 2 and not Path(rel).is_absolute() and ".." not in parts, (
            f"docs/{name}:{line}: expected file=DIR/NAME (relative, no ..), found {rel!r}")
        assert rel not in seen, f"docs/{name}:{line}: {rel} is already written at {seen[rel]}"
        seen[rel] = f"docs/{name}:{line}"


_check_paths()
STORY_DIRS = sorted({Path(rel).parts[0] for _, _, rel, _ in BLOCKS if Path(rel).parts[1:] == ("story.yaml",)})
SCRIPTS = sorted(rel for _, _, rel, _ in BLOCKS if rel.endswith(".replay.yaml"))


@pytest.fixture(scope="module")
def examples(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("docs-examples")
    for _, _, rel, body in BLOCKS:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
    return root


def test_the_docs_have_examples():
    tutorial = {Path(rel).parts[0] for name, _, rel, _ in BLOCKS if name == "tutorial.md"}
    assert {f"step{n}" for n in range(1, 7)} <= tutorial
    assert any(name == "reference.md" for name, *_ in BLOCKS)
    assert SCRIPTS, "expected replay scripts in the docs"


@pytest.mark.parametrize("directory", STORY_DIRS)
def test_example_story_loads_and_checks_clean(examples, directory):
    story, problems = load_story(examples / directory)
    errors = [str(p) for p in problems if p.level == "error"]
    assert not errors, "\n".join(errors)
    assert story is not None
    found = [str(p) for p in check.check_story(story)]
    assert not found, "the docs' examples should check clean:\n" + "\n".join(found)


def test_every_block_belongs_to_a_story_or_is_a_script():
    for name, line, rel, _ in BLOCKS:
        top = Path(rel).parts[0]
        assert rel.endswith(".replay.yaml") or top in STORY_DIRS, (
            f"docs/{name}:{line}: {rel} is in no story (no {top}/story.yaml block)")
        if rel.endswith(".replay.yaml"):
            assert top not in STORY_DIRS, (
                f"docs/{name}:{line}: a replay script inside a story directory is read as a scene file; "
                "put it in a directory of its own")


@pytest.mark.parametrize("rel", SCRIPTS)
def test_example_replay_script_passes(examples, rel):
    script = replay.parse_script(examples / rel)
    assert script.story is not None, f"{rel}: a docs script names its story with `story:`"
    directory = Path(script.story).resolve()
    assert directory.parent == examples.resolve() and directory.name in STORY_DIRS, (
        f"{rel}: `story: {script.story}` is not one of the docs' stories {STORY_DIRS}")
    story, problems = load_story(directory)
    assert story is not None, "\n".join(str(p) for p in problems)
    result = replay.run_script(script, story)
    assert result.passed, result.message


def test_the_example_scripts_use_every_replay_key():
    script_keys, step_keys, expect_keys = set(), set(), set()
    for _, _, rel, body in BLOCKS:
        if not rel.endswith(".replay.yaml"):
            continue
        doc = yaml.safe_load(body)
        script_keys |= set(doc)
        for step in doc["steps"]:
            step_keys |= set(step)
            expect_keys |= set(step.get("expect", {}))
    assert script_keys == set(replay.SCRIPT_KEYS)
    assert step_keys == set(replay.STEP_KEYS)
    assert expect_keys == set(replay.EXPECT_KEYS)


# -- the reference names everything ------------------------------------------------------------


def section(heading: str, doc: str = REFERENCE) -> str:
    """The text under a heading (a regex for the whole heading line), up to the next heading of its level."""
    lines = doc.splitlines()
    pattern = re.compile(heading + r"$")
    for i, line in enumerate(lines):
        if pattern.match(line):
            level = len(line) - len(line.lstrip("#"))
            body = []
            for later in lines[i + 1:]:
                hashes = len(later) - len(later.lstrip("#"))
                if 0 < hashes <= level and later[hashes:hashes + 1] == " ":
                    break
                body.append(later)
            return "\n".join(body)
    raise AssertionError(f"docs/reference.md has no heading matching {heading!r}")


def table(body: str) -> list:
    """The rows of the Markdown tables in `body`, as lists of cells (the header and rule rows left out)."""
    rows = []
    for line in body.splitlines():
        if not line.startswith("|") or re.match(r"^\|\s*-", line):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0].startswith("`"):
            rows.append(cells)
    return rows


def first_words(body: str) -> dict:
    """The first word of each row's first backticked cell -> the row."""
    out = {}
    for row in table(body):
        word = re.match(r"`([^`]+)`", row[0]).group(1).split()[0]
        out[word] = row
    return out


def spans(body: str) -> set:
    """Every backticked span of `body`, and every word inside one."""
    out = set()
    for span in re.findall(r"`([^`\n]+)`", body):
        out.add(span)
        out.update(span.split())
    return out


def all_shapes() -> list:
    found = {id(v): v for v in vars(spec).values() if isinstance(v, spec.Shape)}
    stack = list(found.values())
    while stack:
        shape = stack.pop()
        for f in shape.fields.values():
            if f.shape is not None and id(f.shape) not in found:
                found[id(f.shape)] = f.shape
                stack.append(f.shape)
    return sorted(found.values(), key=lambda s: s.name)


@pytest.mark.parametrize("shape", all_shapes(), ids=lambda s: s.name)
def test_reference_has_a_table_of_every_key(shape):
    body = section(rf"### {re.escape(shape.name.capitalize())}(?: \(.*\))?")
    rows = first_words(body)
    assert set(rows) == set(shape.fields), (
        f"the `{shape.name}` table in docs/reference.md lists {sorted(rows)}; engine/spec.py has "
        f"{sorted(shape.fields)}")
    for key, f in shape.fields.items():
        assert ("required" in rows[key]) == f.required, f"{shape.name}.{key}: mark it required or not as spec.py does"


def test_reference_mentions_every_key_in_backticks():
    named = spans(REFERENCE)
    missing = {key for shape in all_shapes() for key in shape.fields if key not in named}
    assert not missing, f"docs/reference.md does not name these keys in backticks: {sorted(missing)}"


def test_reference_documents_every_effect():
    assert set(first_words(section("## Effects"))) == set(EFFECT_OPS)
    assert set(spec.EFFECT_DOCS) == set(EFFECT_OPS)


def test_reference_documents_the_condition_language():
    named = spans(section("## Conditions"))
    words = conditions.KEYWORDS | conditions.FATE_WORDS | conditions.STAGE_WORDS | conditions.COMPARISONS
    missing = {w for w in words if w not in named}
    assert not missing, f"docs/reference.md's Conditions do not name {sorted(missing)}"
    assert "turn" in named


def test_reference_documents_every_substitution():
    named = spans(section("## Text"))
    wanted = {"{" + s + "}" for s in text.BUILTIN_SUBSTITUTIONS} | {"{CHAR}", "{COUNTER}", "{{", "}}"}
    assert wanted <= named, sorted(wanted - named)
    for word in ("{if", "{elif", "{else}", "{end}"):
        assert word in section("## Text")


def load_time_rules_in_source() -> set:
    """The rule of every problem the loader, the condition parser and the text parser can raise.

    The last argument of each `self.error(...)` call, the third of each `ConditionError(...)`, and
    ConditionError's default rule (non-literal arguments only pass on a rule found elsewhere).
    """
    found: set = set()
    for name in ("loader.py", "conditions.py", "text.py"):
        tree = ast.parse((ROOT / "engine" / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name == "ConditionError":
                init = next(n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
                names = [a.arg for a in init.args.args]
                defaults = dict(zip(names[len(names) - len(init.args.defaults):], init.args.defaults))
                found.add(defaults["rule"].value)
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            rule = None
            if called == "error" and isinstance(func, ast.Attribute) and node.args:
                rule = node.args[-1]
            elif called == "ConditionError":
                rule = node.args[2] if len(node.args) >= 3 else next(
                    (k.value for k in node.keywords if k.arg == "rule"), None)
            if isinstance(rule, ast.Constant) and isinstance(rule.value, str):
                found.add(rule.value)
    return found


def test_load_time_rules_list_matches_the_source():
    assert load_time_rules_in_source() == LOAD_TIME_RULES


def test_reference_documents_every_load_time_rule():
    rows = first_words(section("### Load-time rules"))
    assert set(rows) == LOAD_TIME_RULES
    assert all(row[1] == "error" for row in rows.values())


def test_reference_documents_every_check_rule_with_its_level():
    rows = first_words(section("### State-search rules"))
    assert set(rows) == set(check.RULES)
    for rule_id, rule in check.RULES.items():
        assert rows[rule_id][1] == rule.level, f"{rule_id}: the check reports it as {rule.level}"


def test_reference_documents_every_replay_key():
    assert set(first_words(section("### Script keys"))) == set(replay.SCRIPT_KEYS)
    assert set(first_words(section("### Step keys"))) == set(replay.STEP_KEYS)
    assert set(first_words(section("### Expect keys"))) == set(replay.EXPECT_KEYS)


def _subcommands() -> dict:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


@pytest.mark.parametrize("name", sorted(_subcommands()))
def test_reference_documents_every_command_and_option(name):
    body = section(rf"### `{re.escape(name)}`")
    for action in _subcommands()[name]._actions:
        for option in action.option_strings:
            if option in ("-h", "--help"):
                continue
            assert re.search(r"`" + re.escape(option) + r"[ `=]", body), f"`{name}` does not document {option}"
            for choice in action.choices or ():
                assert f"`{option} {choice}`" in body, f"`{name}` does not document `{option} {choice}`"


def test_reference_documents_the_global_options_and_exit_statuses():
    assert "`--version`" in section("## Commands")
    statuses = set(first_words(section("## Exit statuses")))
    assert {str(commands.EXIT_OK), str(commands.EXIT_PROBLEM), str(commands.EXIT_USAGE),
            str(cli.EXIT_USAGE)} <= statuses


def test_reference_save_example_is_a_real_save(examples, tmp_path):
    body = section("## Save files")
    example = json.loads(re.search(r"```json\n(.*?)```", body, re.S).group(1))
    story, _ = load_story(examples / "step6")
    written = saves.encode(Session(story, example["seed"]), "x")
    assert set(example) == set(written)
    assert set(example["state"]) == set(written["state"])
    assert example["format"] == saves.SAVE_FORMAT and example["version"] == saves.SAVE_VERSION
    fields = set(first_words(body))
    assert fields == set(written) | {"start"}, "document every field of a save (and `start`)"
    # The example's log, replayed on the tutorial's story, reaches the example's state.
    (tmp_path / f"{example['slot']}.json").write_text(json.dumps(example), encoding="utf-8")
    restored = saves.read_save(tmp_path, example["slot"], story)
    assert saves.encode_state(story, restored.session.state) == example["state"]
