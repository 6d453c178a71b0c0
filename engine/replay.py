"""Replay scripts: parse them with line numbers, run them against a story, report located failures."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import yaml

from . import conditions, present, runtime
from .conditions import ConditionError
from .model import FATES, PLAYER, STAGES, Story
from .preset import PresetError, decode_state
from .session import Session
from .state import stage

from .yamlsafe import MAX_DEPTH, SafeLoader as _SafeLoader, too_deep

_STD = "tag:yaml.org,2002:"
_CONSTRUCT = yaml.constructor.SafeConstructor()
SCRIPT_KEYS = ("story", "seed", "from", "steps", "name", "description")
FROM_KEYS = ("node", "items", "flags", "counters", "fates", "infection")
STEP_KEYS = ("choose", "outcome", "expect", "note")
EXPECT_KEYS = ("node", "ending", "has", "lacks", "fates", "infection", "flags", "counters", "offered",
               "not_offered", "turn", "text", "holds")
_COMPARE = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, "==": lambda a, b: a == b,
            "!=": lambda a, b: a != b, ">=": lambda a, b: a >= b, ">": lambda a, b: a > b}


class ScriptError(Exception):
    """A script that is malformed: located at SCRIPT:LINE."""

    def __init__(self, path: str, line: int, message: str):
        super().__init__(f"{path}:{line}: {message}")
        self.path, self.line, self.message = path, line, message


@dataclass
class Step:
    line: int
    choose: object = None  # a choice id, key or 1-based number
    outcome: Optional[int] = None  # force the Nth written outcome of a random choice
    expect: dict = field(default_factory=dict)  # key -> (value, line)


@dataclass
class Script:
    path: str
    story: Optional[str]
    seed: int
    steps: list
    name: str = ""
    start: Optional[tuple] = None  # (the `from:` mapping as data, its line): a preset state to begin in


@dataclass
class Result:
    """One script's run: passed, or the located failure; and what a player would have seen."""

    script: str
    passed: bool
    message: str = ""
    line: int = 0
    steps_run: int = 0
    transcript: list = field(default_factory=list)
    final_node: str = ""

    def as_dict(self) -> dict:
        return {"script": self.script, "passed": self.passed, "line": self.line, "message": self.message,
                "steps_run": self.steps_run, "final_node": self.final_node}


# -- parsing -------------------------------------------------------------------------------


def parse_script(path, text: Optional[str] = None) -> Script:
    """A Script, or ScriptError located at its line."""
    shown = str(path)
    if text is None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ScriptError(shown, 1, "no such replay script") from None
        except (OSError, UnicodeDecodeError) as err:
            raise ScriptError(shown, 1, f"cannot read this script: {err}") from None
    deep = too_deep(text)
    if deep is not None:
        raise ScriptError(shown, deep[0], f"expected mappings and lists nested at most {MAX_DEPTH} deep, found "
                          "deeper nesting here")
    try:
        root = yaml.compose(text, Loader=_SafeLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        raise ScriptError(shown, mark.line + 1 if mark else 1, f"this is not valid YAML: {err.problem}") from None
    except yaml.YAMLError as err:
        raise ScriptError(shown, 1, f"this is not valid YAML: {err}") from None
    if root is None:
        raise ScriptError(shown, 1, "expected a replay script (a mapping with `steps:`), found an empty file")
    top = _mapping(shown, root, SCRIPT_KEYS, "replay script")
    if "steps" not in top:
        raise ScriptError(shown, _line(root), "expected `steps:` (a list of `choose:` and `expect:`), found none")
    story = _scalar(shown, top["story"][1], str, "story") if "story" in top else None
    seed = _scalar(shown, top["seed"][1], int, "seed") if "seed" in top else 0
    name = _scalar(shown, top["name"][1], str, "name") if "name" in top else Path(shown).stem
    steps_node = top["steps"][1]
    if not isinstance(steps_node, yaml.SequenceNode):
        raise ScriptError(shown, _line(steps_node), "steps: expected a list")
    steps = [_step(shown, node) for node in steps_node.value]
    start = None
    if "from" in top:
        node = top["from"][1]
        _mapping(shown, node, FROM_KEYS, "from: state")
        start = (_plain(shown, node), _line(node))
    if story is not None:
        story = str((Path(shown).parent / story))
    return Script(shown, story, seed, steps, name, start)


def _line(node) -> int:
    return node.start_mark.line + 1


def _mapping(path: str, node, keys, what: str) -> dict:
    if not isinstance(node, yaml.MappingNode):
        raise ScriptError(path, _line(node), f"expected a {what} (a mapping), found {_kind(node)}")
    out: dict = {}
    for k, v in node.value:
        name = k.value if isinstance(k, yaml.ScalarNode) else None
        if name in out:
            raise ScriptError(path, _line(k), f"duplicate key {name!r} in a {what}")
        if name not in keys:
            hint = conditions._did_you_mean(str(name), keys)
            raise ScriptError(path, _line(k), f"unknown key {name!r} in a {what}; expected one of "
                              f"{', '.join(keys)}{hint}")
        out[name] = (k, v)
    return out


def _kind(node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return f"{node.value!r}"


def _plain(path: str, node):
    """A node as plain data (no tags other than the standard ones)."""
    if node.tag not in {_STD + t for t in ("str", "int", "bool", "null", "map", "seq", "float")}:
        raise ScriptError(path, _line(node), f"expected plain YAML data, found the tag {node.tag!r}")
    if isinstance(node, yaml.MappingNode):
        return {k.value: _plain(path, v) for k, v in node.value}
    if isinstance(node, yaml.SequenceNode):
        return [_plain(path, v) for v in node.value]
    if node.tag == _STD + "int":
        return _CONSTRUCT.construct_yaml_int(node)
    if node.tag == _STD + "bool":
        return _CONSTRUCT.construct_yaml_bool(node)
    if node.tag == _STD + "null":
        return None
    return node.value


def _scalar(path: str, node, kind, what: str):
    value = _plain(path, node)
    if kind is int and (not isinstance(value, int) or isinstance(value, bool)):
        raise ScriptError(path, _line(node), f"{what}: expected a whole number, found {value!r}")
    if kind is str and not isinstance(value, str):
        raise ScriptError(path, _line(node), f"{what}: expected text, found {value!r}")
    return value


def _step(path: str, node) -> Step:
    fields = _mapping(path, node, STEP_KEYS, "step")
    step = Step(_line(node))
    if ("choose" in fields) == ("expect" in fields):
        raise ScriptError(path, _line(node), "a step has either `choose:` or `expect:`")
    if "choose" in fields:
        value = _plain(path, fields["choose"][1])
        if isinstance(value, bool) or not isinstance(value, (int, str)) or value == "":
            raise ScriptError(path, _line(fields["choose"][1]), f"choose: expected a choice id or number, found {value!r}")
        step.choose = value
        if "outcome" in fields:
            step.outcome = _scalar(path, fields["outcome"][1], int, "outcome")
    elif "outcome" in fields:
        raise ScriptError(path, _line(fields["outcome"][0]), "`outcome:` goes with `choose:`")
    if "expect" in fields:
        expect = _mapping(path, fields["expect"][1], EXPECT_KEYS, "expect")
        step.expect = {k: (_plain(path, v), _line(kn)) for k, (kn, v) in expect.items()}
    return step


# -- running -------------------------------------------------------------------------------


class _Failure(Exception):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line, self.message = line, message


def run_script(script: Script, story: Story, seed: Optional[int] = None) -> Result:
    """Run a parsed script against a loaded story."""
    seed = script.seed if seed is None else seed
    start = None
    if script.start is not None:
        data, line = script.start
        try:
            start = decode_state(story, data, seed)
        except PresetError as err:
            return Result(script.path, False, f"{script.path}:{line}: from: {err}", line)
    session = Session(story, seed, start)
    transcript = list(present.scene_lines(story, session.state))
    result = Result(script.path, True, transcript=transcript)
    try:
        for n, step in enumerate(script.steps, 1):
            if step.choose is not None:
                _choose(story, session, step, transcript)
            else:
                _expect(story, session, step)
            result.steps_run = n
    except _Failure as failure:
        result.passed = False
        result.line = failure.line
        result.message = f"{script.path}:{failure.line}: {failure.message}{_where(story, session)}"
    result.final_node = session.state.node
    return result


def _where(story: Story, session: Session) -> str:
    state = session.state
    lines = [f"\n  at node {state.node!r} ({story.nodes[state.node].where}), turn {state.turn}"]
    if session.ended:
        lines.append(f"  at the ending {story.nodes[state.node].ending.id!r}")
        return "\n".join(lines)
    lines.append("  offered:")
    for offer in runtime.offers(story, state):
        key = offer.choice.id or offer.choice.key
        if offer.enabled:
            lines.append(f"    {offer.number}) [{key}] {offer.text}")
        else:
            lines.append(f"    -) [{key}] {offer.text} (locked: {offer.locked_reason})")
    return "\n".join(lines)


def _choose(story: Story, session: Session, step: Step, transcript: list) -> None:
    state = session.state
    if session.ended:
        raise _Failure(step.line, f"expected to choose {step.choose!r}, found the story already ended")
    choice = runtime.find_choice(story, state, step.choose)
    if choice is None:
        raise _Failure(step.line, f"expected the choice {step.choose!r} to be offered, found it is not")
    transcript += ["", f"> {runtime.render(story, state, choice.text)}", ""]
    if step.outcome is not None:
        if not choice.outcomes:
            raise _Failure(step.line, f"expected a random choice for `outcome: {step.outcome}`, found a plain goto")
        if not 1 <= step.outcome <= len(choice.outcomes):
            raise _Failure(step.line, f"expected an outcome from 1 to {len(choice.outcomes)}, found {step.outcome}")
        outcome = choice.outcomes[step.outcome - 1]
        if outcome.condition is not None and not outcome.condition.test(state):
            raise _Failure(step.line, f"expected outcome {step.outcome} to be possible, found its condition "
                           f"`{outcome.condition.source}` false")
        forced = outcome
    else:
        forced = None
    try:
        turn = session.choose(choice, forced)
    except runtime.StoryRuntimeError as err:
        raise _Failure(step.line, f"expected the choice to be taken, found a story error: {err}") from None
    if turn.outcome is not None and turn.outcome.text is not None:
        transcript.append(runtime.render(story, state, turn.outcome.text))
    transcript += present.changes(story, state, turn.state)
    transcript += present.scene_lines(story, turn.state)
    if session.ended:
        ending = story.nodes[turn.state.node].ending
        transcript += ["", f"ENDING: {ending.title}"]
        if ending.epilogue is not None:
            transcript += ["", runtime.render(story, turn.state, ending.epilogue)]


def _expect(story: Story, session: Session, step: Step) -> None:
    state = session.state
    for key, (value, line) in step.expect.items():
        check = _CHECKS[key]
        check(story, state, value, line)


def _names_list(value, line: int, what: str) -> list:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Failure(line, f"{what}: expected a name or a list of names, found {value!r}")
    return value


def _declared(name: str, pool, kind: str, line: int) -> None:
    if name not in pool:
        raise _Failure(line, f"expected a declared {kind}, found {name!r}{conditions._did_you_mean(name, pool)}")


def _check_node(story, state, value, line):
    if value not in story.nodes:
        raise _Failure(line, f"expected a node id, found {value!r}{conditions._did_you_mean(str(value), story.nodes)}")
    if state.node != value:
        raise _Failure(line, f"expected node {value!r}, found {state.node!r}")


def _check_ending(story, state, value, line):
    ending = story.nodes[state.node].ending
    if value not in story.endings:
        raise _Failure(line, f"expected an ending id, found {value!r}{conditions._did_you_mean(str(value), story.endings)}")
    if ending is None:
        raise _Failure(line, f"expected ending {value!r}, found no ending yet")
    if ending.id != value:
        raise _Failure(line, f"expected ending {value!r}, found ending {ending.id!r}")


def _check_has(story, state, value, line):
    for item in _names_list(value, line, "has"):
        _declared(item, story.item_by_id, "item", line)
        if item not in state.items:
            raise _Failure(line, f"expected to carry {item!r}, found {_carried(state)}")


def _check_lacks(story, state, value, line):
    for item in _names_list(value, line, "lacks"):
        _declared(item, story.item_by_id, "item", line)
        if item in state.items:
            raise _Failure(line, f"expected not to carry {item!r}, found {_carried(state)}")


def _carried(state) -> str:
    return "carrying " + (", ".join(repr(i) for i in sorted(state.items)) or "nothing")


def _check_fates(story, state, value, line):
    if not isinstance(value, dict):
        raise _Failure(line, f"fates: expected a mapping of characters to fates, found {value!r}")
    for who, fate in value.items():
        _declared(who, story.character_index, "character", line)
        found = state.fates[story.character_index[who]]
        if fate == "alive":
            ok = found not in ("dead", "turned")
        elif fate in FATES:
            ok = found == fate
        else:
            raise _Failure(line, f"expected a fate ({', '.join(FATES)}, alive) for {who!r}, found {fate!r}")
        if not ok:
            raise _Failure(line, f"expected {who} to be {fate}, found {found}")


def _check_infection(story, state, value, line):
    if not isinstance(value, dict):
        raise _Failure(line, f"infection: expected a mapping of people to stages, found {value!r}")
    for who, want in value.items():
        if who != PLAYER:
            _declared(who, story.character_index, "character", line)
        found = stage(story, state, who)
        if want == "infected":
            ok = found != "clean"
        elif want in STAGES:
            ok = found == want
        else:
            raise _Failure(line, f"expected a stage ({', '.join(STAGES)}, infected) for {who!r}, found {want!r}")
        if not ok:
            raise _Failure(line, f"expected {who} to be {want}, found {found}")


def _check_flags(story, state, value, line):
    if not isinstance(value, dict):
        raise _Failure(line, f"flags: expected a mapping of flags to true/false, found {value!r}")
    flags = {f.id for f in story.flags}
    for flag, want in value.items():
        _declared(flag, flags, "flag", line)
        if (flag in state.flags) != bool(want):
            raise _Failure(line, f"expected flag {flag} to be {str(bool(want)).lower()}, found "
                           f"{str(flag in state.flags).lower()}")


def _check_counters(story, state, value, line):
    if not isinstance(value, dict):
        raise _Failure(line, f"counters: expected a mapping of counters to numbers or comparisons, found {value!r}")
    for name, want in value.items():
        _declared(name, [*story.counter_index, "turn"], "counter", line)
        found = state.turn if name == "turn" else state.counters[story.counter_index[name]]
        if isinstance(want, int) and not isinstance(want, bool):
            op, number = "==", want
        else:
            op, _, rest = str(want).strip().partition(" ")
            if op not in _COMPARE or not rest.strip().lstrip("-").isdigit():
                raise _Failure(line, f"counters: expected a number or a comparison like '>= 3' for {name}, "
                               f"found {want!r}")
            number = int(rest)
        if not _COMPARE[op](found, number):
            raise _Failure(line, f"expected {name} {op} {number}, found {found}")


def _offered_keys(story, state) -> set:
    out = set()
    for choice in runtime.available(story, state):
        out.add(choice.key)
        if choice.id:
            out.add(choice.id)
    return out


def _check_offered(story, state, value, line):
    keys = _offered_keys(story, state)
    for want in _names_list(value, line, "offered"):
        if want not in keys:
            raise _Failure(line, f"expected the choice {want!r} to be offered, found it is not")


def _check_not_offered(story, state, value, line):
    keys = _offered_keys(story, state)
    for want in _names_list(value, line, "not_offered"):
        if want in keys:
            raise _Failure(line, f"expected the choice {want!r} not to be offered, found it is")


def _check_turn(story, state, value, line):
    if state.turn != value:
        raise _Failure(line, f"expected turn {value}, found {state.turn}")


def _check_text(story, state, value, line):
    shown = "\n".join(present.scene_lines(story, state))
    for want in _names_list(value, line, "text"):
        if want not in shown:
            raise _Failure(line, f"expected the scene to show {want!r}, found {shown[:120]!r}...")


def _check_holds(story, state, value, line):
    names = conditions.Names.from_story(story)
    try:
        tree = conditions.parse(str(value))
    except ConditionError as err:
        raise _Failure(line, f"holds: {err.message} (at column {err.offset + 1} of the condition)") from None
    bad = conditions.check_names(tree, names)
    if bad:
        raise _Failure(line, f"holds: {bad[0].message}")
    if not conditions.compile_tree(tree, names)(state):
        raise _Failure(line, f"expected `{value}` to hold, found it false")


_CHECKS = {
    "node": _check_node, "ending": _check_ending, "has": _check_has, "lacks": _check_lacks,
    "fates": _check_fates, "infection": _check_infection, "flags": _check_flags, "counters": _check_counters,
    "offered": _check_offered, "not_offered": _check_not_offered, "turn": _check_turn, "text": _check_text,
    "holds": _check_holds,
}
assert set(_CHECKS) == set(EXPECT_KEYS)


# -- recording -----------------------------------------------------------------------------


def record(session: Session, story_dir: Optional[str] = None, script_path: Optional[str] = None) -> str:
    """A replay script (YAML text) that makes the session's choices and expects its final state."""
    story = session.story
    steps: list = []
    for entry in session.log:
        steps.append({"choose": entry.choice})
    steps.append({"expect": final_expectation(story, session.state)})
    doc: dict = {}
    if story_dir is not None:
        doc["story"] = _relative(story_dir, script_path)
    doc["seed"] = session.seed
    if session.preset:
        doc["from"] = start_data(story, session.history[0])
    doc["steps"] = steps
    header = "# Recorded with `aoud-adventure play --record`. Replay with `aoud-adventure replay THIS_FILE`.\n"
    return header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)


def start_data(story: Story, state) -> dict:
    """A preset state as a script's `from:` mapping: the node and every value, as saves store a state."""
    from .saves import encode_state  # saves build on sessions, as this module does

    return {k: v for k, v in encode_state(story, state).items() if k not in ("rng", "turn")}


def final_expectation(story: Story, state) -> dict:
    expect: dict = {}
    node = story.nodes[state.node]
    if node.ending is not None:
        expect["ending"] = node.ending.id
    expect["node"] = state.node
    expect["has"] = sorted(state.items)
    if story.characters:
        expect["fates"] = {c.id: f for c, f in zip(story.characters, state.fates)}
    expect["infection"] = {PLAYER: stage(story, state, PLAYER)}
    if story.flags:
        expect["flags"] = {f.id: f.id in state.flags for f in story.flags}
    if story.counters:
        expect["counters"] = {c.id: v for c, v in zip(story.counters, state.counters)}
    return expect


def _relative(story_dir: str, script_path: Optional[str]) -> str:
    import os

    if script_path is None:
        return str(story_dir)
    base = Path(script_path).resolve().parent
    try:
        return os.path.relpath(Path(story_dir).resolve(), base)
    except ValueError:
        return str(Path(story_dir).resolve())
