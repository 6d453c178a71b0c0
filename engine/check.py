"""The writer's full check: load-time problems, then rules that read the story and search its states."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from . import explore
from .model import Story
from .problems import Problem, sort_key

DEFAULT_MAX_STATES = 200_000
RANDOM_RUNS = 3000  # when the state search cannot finish, seeded random runs look further


@dataclass(frozen=True)
class Rule:
    id: str
    level: str
    summary: str


RULES = {r.id: r for r in (
    Rule("unreachable-node", "error", "a node no path reaches"),
    Rule("unreachable-ending", "error", "an ending no path reaches"),
    Rule("dead-end", "error", "a reachable state with no offered choice and no ending"),
    Rule("trap", "error", "a loop with no way out: reachable states from which no ending can be reached"),
    Rule("no-outcome", "error", "a random choice whose every outcome can be ruled out"),
    Rule("never-true", "warning", "a condition that is false in every reachable state where it is tested"),
    Rule("always-true", "warning", "a condition that is true in every reachable state where it is tested"),
    Rule("unused", "warning", "a declared character, item, flag or counter that nothing uses"),
    Rule("counter-range", "warning", "an effect that would take a counter past its declared min or max"),
    Rule("self-loop", "warning", "a choice that leads back to its own node and changes nothing"),
    Rule("no-turn-target", "warning", "the player can be bitten but infection.on_player_turned is not set"),
    Rule("search-incomplete", "warning", "the state search stopped at its limit; state rules are partial"),
    Rule("graph-unreachable", "error", "a node that no chain of gotos from the start reaches"),
    Rule("not-reached", "warning", "a node or ending neither the bounded state search nor random runs reached"),
)}


def check_story(story: Story, max_states: int = DEFAULT_MAX_STATES) -> list:
    """Every problem the rules find, sorted by place."""
    problems: list = []
    for rule in (unused_declarations, self_loops, counter_ranges, player_turn_target):
        problems.extend(rule(story))
    problems.extend(state_rules(story, max_states))
    problems.sort(key=sort_key)
    return problems


def _problem(rule: str, where, message: str, level: str | None = None) -> Problem:
    return Problem(where, level or RULES[rule].level, message, rule)


def unused_declarations(story: Story) -> Iterator[Problem]:
    """Declared names that no condition, effect, text or start value uses."""
    used: set = set(story.start_items)
    for node in story.nodes.values():
        used |= _template_names(story, node.text)
        if node.ending and node.ending.epilogue:
            used |= _template_names(story, node.ending.epilogue)
        used |= {e.target for e in node.effects}
        for choice in node.choices:
            used |= _template_names(story, choice.text) | _template_names(story, choice.locked)
            used |= {e.target for e in choice.effects}
            if choice.condition:
                used |= choice.condition.names
            for outcome in choice.outcomes:
                used |= {e.target for e in outcome.effects} | _template_names(story, outcome.text)
                if outcome.condition:
                    used |= outcome.condition.names
    for trigger in story.triggers:
        used |= trigger.condition.names | {e.target for e in trigger.effects}
    for kind, decls in (("character", story.characters), ("item", story.items), ("flag", story.flags),
                        ("counter", story.counters)):
        for decl in decls:
            if decl.id not in used:
                yield _problem("unused", decl.where, f"the {kind} {decl.id!r} is declared but nothing uses it; "
                               "hint: use it in a condition, an effect or a text, or remove it")


def _template_names(story: Story, template) -> set:
    """The ids a text reads: in its `{if}` conditions and its `{character}`/`{counter}` substitutions."""
    out: set = set()
    if template is None or template.static:
        return out

    def walk(parts):
        for part in parts:
            if isinstance(part, str):
                continue
            if part[0] == "if":
                for cond, body in part[1]:
                    if cond is not None:
                        out.update(cond.names)
                    walk(body)
            elif part[0] == "char":
                out.add(story.characters[part[1]].id)
            elif part[0] == "counter":
                out.add(story.counters[part[1]].id)

    walk(template.parts)
    return out


def self_loops(story: Story) -> Iterator[Problem]:
    for node in story.nodes.values():
        for choice in node.choices:
            if choice.goto == node.id and not choice.effects and not node.effects:
                yield _problem("self-loop", choice.where, f"this choice leads back to {node.id!r} and changes "
                               "nothing, so the player sees the same scene again; hint: add an effect or another goto")


def counter_ranges(story: Story) -> Iterator[Problem]:
    """`set` values outside the range, and `add` amounts larger than the whole range (always clamped)."""
    counters = {c.id: c for c in story.counters}
    for effect, _ in _all_effects(story):
        c = counters.get(effect.target)
        if c is None:
            continue
        if effect.op == "set" and not c.min <= effect.value <= c.max:
            yield _problem("counter-range", effect.where, f"sets {c.id} to {effect.value}, outside its range "
                           f"{c.min}..{c.max}; it will be clamped")
        if effect.op == "add" and abs(effect.value) > c.max - c.min:
            yield _problem("counter-range", effect.where, f"adds {effect.value} to {c.id}, more than its whole "
                           f"range {c.min}..{c.max}; it will be clamped")


def _all_effects(story: Story):
    for node in story.nodes.values():
        for e in node.effects:
            yield e, node
        for choice in node.choices:
            for e in choice.effects:
                yield e, node
            for outcome in choice.outcomes:
                for e in outcome.effects:
                    yield e, node
    for trigger in story.triggers:
        for e in trigger.effects:
            yield e, None


def player_turn_target(story: Story) -> Iterator[Problem]:
    if story.infection.on_player_turned is not None:
        return
    for effect, _ in _all_effects(story):
        if effect.op == "bite" and effect.target == "you":
            yield _problem("no-turn-target", effect.where, "the player can be bitten here, but nothing happens when "
                           "their clock runs out; hint: set infection.on_player_turned in story.yaml to the node of "
                           "that ending")
            return


def graph_reachable(story: Story) -> set:
    """Node ids a chain of gotos (and triggers) reaches from the start, ignoring conditions."""
    jumps = {t.goto for t in story.triggers}
    if story.infection.on_player_turned:
        jumps.add(story.infection.on_player_turned)
    seen = {story.start} | jumps
    stack = list(seen)
    while stack:
        node = story.nodes[stack.pop()]
        for choice in node.choices:
            for target in choice.targets:
                if target not in seen:
                    seen.add(target)
                    stack.append(target)
    return seen


def state_rules(story: Story, max_states: int) -> Iterator[Problem]:
    """Rules that need the exhaustive search of the game's states."""
    report = explore.explore_exhaustive(story, max_states, watch=True)
    kinds = {"soft-lock": "dead-end", "trap": "trap", "runtime-error": "no-outcome",
             "unreachable-node": "unreachable-node", "unreachable-ending": "unreachable-ending"}
    for finding in report.findings:
        rule = kinds.get(finding.kind)
        if rule is None:
            continue
        message = finding.message
        if finding.path:
            message += f" (shortest path: {len(finding.path)} choices; `explore --exhaustive --emit DIR` writes it)"
        yield _problem(rule, finding.where, message)
    if not report.complete:
        yield _problem("search-incomplete", story.where, f"the state search stopped after {report.states} states "
                       f"(--max-states); dead ends, traps and unreachable endings were looked for only there")
        reachable = graph_reachable(story)
        for node in story.nodes.values():
            if node.id not in reachable:
                yield _problem("graph-unreachable", node.where, f"no chain of gotos from {story.start!r} reaches "
                               f"{node.id!r}; hint: add a choice that leads here, or remove it")
        sampled = explore.explore_random(story, RANDOM_RUNS, seed=0)
        for finding in sampled.findings:
            rule = kinds.get(finding.kind)
            if rule is not None:
                yield _problem(rule, finding.where, f"{finding.message} (found by a random run, seed {finding.seed})")
        seen_nodes = report.coverage.nodes | sampled.coverage.nodes
        for node in story.nodes.values():
            if node.id in reachable and node.id not in seen_nodes:
                what = f"the ending {node.ending.id!r}" if node.ending else f"the node {node.id!r}"
                yield _problem("not-reached", node.where, f"neither the state search ({report.states} states) nor "
                               f"{RANDOM_RUNS} random runs reached {what}; it may be unreachable, or only rarely; "
                               "hint: `explore --random N --emit DIR` or a replay script can show a path")
        return
    tested = report.conditions
    for condition, (was_true, was_false) in tested.items():
        if was_true and not was_false:
            yield _problem("always-true", condition.where, f"`{condition.source}` is true in every reachable state "
                           "where it is tested; hint: drop the `if`, or check what it should test")
        elif was_false and not was_true:
            yield _problem("never-true", condition.where, f"`{condition.source}` is false in every reachable state "
                           "where it is tested, so what it guards never happens; hint: check its names and numbers")
