"""The writer's full check: load-time problems, then rules that read the story and search its states."""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass
from typing import Iterator, Optional

from . import aim, analysis, explore, runtime
from .collector import collector_paused
from .model import Story
from .problems import Problem, sort_key
from .state import GameState
from .text import template_reads

DEFAULT_MAX_STATES = 200_000  # the cap of every search budget; another value given is used as the budget itself
STATES_PER_NODE = 100  # the state search's budget, per node, while the analysis leaves questions open
MIN_STATES = 10_000
RANDOM_RUNS = 3000  # the most seeded random runs, when nodes are left to reach
RUNS_PER_NODE = 20
RUN_BATCH = 500  # random runs go on in batches while a batch reaches a node none did before
FRESH_TRIES = 2  # states the sweep expands at each node, more only for new sets of offered choices
PATH_STATES = 5_000  # states for each search aimed at a node not yet reached


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
    Rule("search-incomplete", "warning", "the searches stopped at their limits with questions still open"),
    Rule("not-reached", "warning", "a node or ending no search reached and the analysis could not rule out"),
)}


def check_story(story: Story, max_states: int = DEFAULT_MAX_STATES) -> list:
    """Every problem the rules find, sorted by place."""
    problems: list = []
    with collector_paused():
        for rule in (unused_declarations, self_loops, counter_ranges, player_turn_target):
            problems.extend(rule(story))
        problems.extend(state_rules(story, max_states))
        problems.sort(key=sort_key)
    return problems


def _problem(rule: str, where, message: str, level: str | None = None) -> Problem:
    return Problem(where, level or RULES[rule].level, message, rule)


def unused_declarations(story: Story) -> Iterator[Problem]:
    """Declared names that no condition, effect, text or start value uses."""
    declared = {d.id for decls in (story.characters, story.items, story.flags, story.counters) for d in decls}
    used: set = set(story.start_items)
    for n, node in enumerate(story.nodes.values()):
        if n % 256 == 0 and declared <= used:
            break  # every declaration is used: the rest of the story cannot change the answer
        used |= _node_names(story, node)
    for trigger in story.triggers:
        used |= trigger.condition.names | {e.target for e in trigger.effects}
    for kind, decls in (("character", story.characters), ("item", story.items), ("flag", story.flags),
                        ("counter", story.counters)):
        for decl in decls:
            if decl.id not in used:
                yield _problem("unused", decl.where, f"the {kind} {decl.id!r} is declared but nothing uses it; "
                               "hint: use it in a condition, an effect or a text, or remove it")


def _node_names(story: Story, node) -> set:
    """The names a node's texts, effects and conditions use (its choices' and outcomes' too)."""
    used = _template_names(story, node.text)
    if node.ending and node.ending.epilogue:
        used |= _template_names(story, node.ending.epilogue)
    used.update(e.target for e in node.effects)
    for choice in node.choices:
        used |= _template_names(story, choice.text) | _template_names(story, choice.locked)
        used.update(e.target for e in choice.effects)
        if choice.condition:
            used |= choice.condition.names
        for outcome in choice.outcomes:
            used.update(e.target for e in outcome.effects)
            used |= _template_names(story, outcome.text)
            if outcome.condition:
                used |= outcome.condition.names
    return used


def _template_names(story: Story, template) -> set:
    """The ids a text reads: in its `{if}` conditions and its `{character}`/`{counter}` substitutions."""
    out: set = set()
    if template is None or template.static:
        return out
    for kind, value in template_reads(template.parts):
        if kind == "names":
            out.update(value)
        elif kind == "char":
            out.add(story.characters[value].id)
        elif kind == "counter":
            out.add(story.counters[value].id)
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


def state_rules(story: Story, max_states: int = DEFAULT_MAX_STATES) -> Iterator[Problem]:
    """Rules about the states the game can reach: proven by the analysis, then searched for what is left.

    The static analysis (engine/analysis.py) proves what it can, in time that grows with the
    story's size. The exhaustive search runs when the analysis leaves a dead end, a trap or a
    random choice open, or when the analysis bounds the states so that it will finish; if it
    finishes, its answers are exact. Otherwise a sweep, seeded random runs and searches aimed
    at the nodes next to what is reached prove what is reachable.
    """
    proof = analysis.analyze(story)
    problems = _Problems()
    open_nodes = _open_questions(story, proof)
    budget = _state_budget(story, proof, open_nodes, max_states)
    report = explore.explore_exhaustive(story, budget, watch=True) if budget else None
    if report is not None and report.complete:
        _complete_search(story, proof, report, problems)
        return iter(problems.found)
    reached = {story.start}
    searched = 0
    if report is not None:
        _search_findings(report.findings, problems, "")
        reached |= report.coverage.nodes
        searched = report.states
    cap = max_states if max_states != DEFAULT_MAX_STATES else _scaled(story)
    reads_turn = _reads_turn(story)
    if _left(story, proof, reached):
        found, expanded, findings = _sweep(story, cap, reads_turn)
        reached |= found
        searched += expanded
        for rule, where, message in findings:
            problems.add(rule, where, message)
    runs = 0
    most = min(RANDOM_RUNS, RUNS_PER_NODE * len(story.nodes))
    while runs < most and _left(story, proof, reached):  # in batches, while they still reach something new
        batch = min(RUN_BATCH, most - runs)
        sampled = explore.explore_random(story, batch, seed=runs)
        runs += batch
        _search_findings(sampled.findings, problems, "random run")
        if sampled.coverage.nodes <= reached:
            break
        reached |= sampled.coverage.nodes
    searched += _aim(story, proof, reached, cap, reads_turn)
    _proven(story, proof, problems, reached)
    missed = _left(story, proof, reached)
    for nid in missed:
        node = story.nodes[nid]
        what = f"the ending {node.ending.id!r}" if node.ending else f"the node {nid!r}"
        problems.add("not-reached", node.where, f"no search reached {what} ({searched} states, {runs} random runs), "
                     "and the analysis could not prove it unreachable; it may be unreachable, or only rarely "
                     "reached; hint: `explore --random N --emit DIR` or a replay script can show a path")
    _incomplete(story, proof, open_nodes, problems, searched, len(missed))
    return iter(problems.found)


class _Problems:
    """The state rules' problems, one per rule and place."""

    def __init__(self):
        self.found: list = []
        self.places: set = set()

    def add(self, rule: str, where, message: str) -> None:
        if (rule, where) not in self.places:
            self.places.add((rule, where))
            self.found.append(_problem(rule, where, message))


def _left(story: Story, proof, reached: set) -> list:
    """Nodes neither reached nor proven unreachable, in story order."""
    return [n for n in story.nodes if n not in reached and n not in proof.unreachable]


def _scaled(story: Story) -> int:
    return min(DEFAULT_MAX_STATES, max(MIN_STATES, STATES_PER_NODE * len(story.nodes)))


def _open_questions(story: Story, proof) -> dict:
    """What the analysis could not settle: {"dead-end": nodes, "trap": nodes, "no-outcome": (node, choice key)}."""
    return {
        "dead-end": [n for n in story.nodes if n not in proof.no_dead_end],
        "trap": [n for n in story.nodes if n not in proof.no_trap],
        "no-outcome": [(n.id, c.key) for n in story.nodes.values() for c in n.choices
                       if c.outcomes and (n.id, c.key) not in proof.outcome_safe],
    }


def _state_budget(story: Story, proof, open_nodes: dict, max_states: int) -> int:
    """States for the exhaustive search: 0 to skip it (the analysis settled all it could answer)."""
    if max_states != DEFAULT_MAX_STATES:
        return max_states
    scaled = _scaled(story)
    if any(open_nodes.values()) or _state_bound(story, proof, scaled) <= scaled:
        return scaled
    return 0


def _state_bound(story: Story, proof, enough: float = math.inf) -> float:
    """More states than the exhaustive search can find: every combination of what conditions read, per node.

    The sum only grows, so it stops as soon as it passes `enough`: what it returns then is still above it.
    """
    read: set = set()
    for node in story.nodes.values():
        for choice in node.choices:
            if choice.condition is not None:
                read |= choice.condition.names
            for outcome in choice.outcomes:
                if outcome.condition is not None:
                    read |= outcome.condition.names
    for trigger in story.triggers:
        read |= trigger.condition.names
    lay = proof.layout
    total = 0.0
    for state in proof.states.values():
        size = float(bin(state.clocks[0]).count("1"))
        for name in read:
            if name in lay.items:
                size *= 1 + (state.held >> lay.items[name] & state.missing >> lay.items[name] & 1)
            elif name in lay.flags:
                size *= 1 + (state.raised >> lay.flags[name] & state.lowered >> lay.flags[name] & 1)
            elif name in lay.counters:
                lo, hi = state.counters[lay.counters[name]]
                size *= hi - lo + 1
            elif name == "turn":
                size *= state.turn[1] - state.turn[0] + 1
            elif name in lay.characters:
                i = lay.characters[name]
                size *= bin(state.fates[i]).count("1") * bin(state.clocks[1 + i]).count("1")
        total += size
        if total > enough:
            break
    return total


KINDS = {"soft-lock": "dead-end", "trap": "trap", "runtime-error": "no-outcome",
         "unreachable-node": "unreachable-node", "unreachable-ending": "unreachable-ending"}


def _search_findings(findings, problems: _Problems, source: str) -> None:
    for finding in findings:
        rule = KINDS.get(finding.kind)
        if rule is None:
            continue
        if source:
            message = f"{finding.message} (found by a {source}, seed {finding.seed})"
        elif finding.path:
            message = (f"{finding.message} (shortest path: {len(finding.path)} choices; "
                       "`explore --exhaustive --emit DIR` writes it)")
        else:
            message = finding.message
        problems.add(rule, finding.where, message)


def _complete_search(story: Story, proof, report, problems: _Problems) -> None:
    """Every answer of a finished search; the analysis only explains what no path reaches."""
    proven = _unreachable_messages(story, proof)
    for finding in report.findings:
        if finding.kind in ("unreachable-node", "unreachable-ending") and finding.where in proven:
            problems.add(KINDS[finding.kind], finding.where, proven[finding.where])
    _search_findings(report.findings, problems, "")
    for condition, (was_true, was_false) in report.conditions.items():
        if was_true and not was_false:
            problems.add("always-true", condition.where, f"`{condition.source}` is true in every reachable state "
                         "where it is tested; hint: drop the `if`, or check what it should test")
        elif was_false and not was_true:
            problems.add("never-true", condition.where, f"`{condition.source}` is false in every reachable state "
                         "where it is tested, so what it guards never happens; hint: check its names and numbers")


def _unreachable_messages(story: Story, proof) -> dict:
    """Location -> message, for each node and ending the analysis proved unreachable."""
    out = {}
    for nid, why in proof.unreachable.items():
        out[story.nodes[nid].where] = (f"no path reaches the node {nid!r}, proven: {why}; hint: add a way in, fix "
                                       "the conditions on the way in, or remove it")
    by_ending: dict = {}  # ending id -> the nodes that end with it, the first one first
    for n in story.nodes.values():
        if n.ending is not None:
            by_ending.setdefault(n.ending.id, []).append(n)
    for eid, nodes in by_ending.items():
        node = nodes[0]
        if all(n.id in proof.unreachable for n in nodes):
            out[node.ending.where] = f"no path reaches the ending {eid!r}, proven: {proof.unreachable[node.id]}"
    return out


def _proven(story: Story, proof, problems: _Problems, reached: set) -> None:
    """What the analysis proved, when the exhaustive search could not finish (what a search reached wins)."""
    messages = _unreachable_messages(story, proof)
    for nid in proof.unreachable:
        if nid in reached:
            continue
        node = story.nodes[nid]
        problems.add("unreachable-node", node.where, messages[node.where])
        if node.ending is not None and node.ending.where in messages:
            problems.add("unreachable-ending", node.ending.where, messages[node.ending.where])
    for condition, why in proof.never_true:
        problems.add("never-true", condition.where, f"`{condition.source}` is never true where it is tested, "
                     f"proven: {why}; so what it guards never happens; hint: check its names and numbers")


def _incomplete(story: Story, proof, open_nodes: dict, problems: _Problems, states: int, missed: int) -> None:
    """One warning that sums up what neither the analysis nor the searches settled."""
    found = {p.where for p in problems.found}
    parts = []
    for rule, what in (("dead-end", "a dead end at {} node{}"), ("trap", "a trap at {} node{}"),
                       ("no-outcome", "running out of outcomes at {} random choice{}")):
        left = []
        for item in open_nodes[rule]:
            nid, key = item if rule == "no-outcome" else (item, None)
            if nid in proof.unreachable:
                continue
            node = story.nodes[nid]
            where = node.where if key is None else next(c.where for c in node.choices if c.key == key)
            if where not in found:
                left.append(nid if key is None else f"{nid} {key}")
        if left:
            shown = ", ".join(repr(x) for x in left[:3]) + (", ..." if len(left) > 3 else "")
            parts.append(what.format(len(left), "s" if len(left) != 1 else "") + f" ({shown})")
    if missed:
        parts.append(f"whether {missed} node{'s are' if missed != 1 else ' is'} reachable (not-reached)")
    if parts:
        problems.add("search-incomplete", story.where, f"the searches stopped ({states} states) before settling "
                     f"{'; '.join(parts)}; the analysis could not rule these out; hint: raise --max-states, or "
                     "simplify the conditions there")


def _aim(story: Story, proof, reached: set, cap: int, reads_turn: bool) -> int:
    """Searches aimed at each node not reached that a reached node leads to; a sweep follows each success.

    Adds to `reached`; returns the states expanded. Stops when every such node has been
    tried, or when the states expanded pass `cap`.
    """
    preds = aim.predecessors(story)
    ways = aim.Ways(story, preds)
    near = _Near(story, proof, preds, reached)
    searched = 0
    while searched < cap:
        target = near.first()
        if target is None:
            break
        end, expanded = _aimed(story, target, min(PATH_STATES, cap - searched), preds, reads_turn, ways)
        searched += expanded
        if end is not None:
            found, expanded, _ = _sweep(story, cap, reads_turn, end)
            near.reach(found)
            searched += expanded
    return searched


class _Near:
    """The nodes left (neither reached nor proven unreachable) that a reached node leads to, first in story order.

    Kept as a heap as `reached` grows, rather than a pass over the whole story for each search.
    """

    def __init__(self, story: Story, proof, preds: dict, reached: set):
        self.index = {n: i for i, n in enumerate(story.nodes)}
        self.succs: dict = {n: [] for n in story.nodes}
        for n, sources in preds.items():
            for p in sources:
                self.succs[p].append(n)
        self.unreachable = proof.unreachable
        self.reached = reached
        self.heap: list = []
        self.queued: set = set()
        self._discover(reached)

    def _discover(self, nodes) -> None:
        for r in nodes:
            for n in self.succs[r]:
                if n not in self.queued and n not in self.unreachable:
                    self.queued.add(n)
                    heapq.heappush(self.heap, (self.index[n], n))

    def first(self):
        """The next node to aim at (it counts as tried from now on), or None."""
        heap = self.heap
        while heap and heap[0][1] in self.reached:
            heapq.heappop(heap)
        return heapq.heappop(heap)[1] if heap else None

    def reach(self, found: set) -> None:
        """Adds what a sweep found to `reached`."""
        new = found - self.reached
        self.reached |= new
        self._discover(new)


def _aimed(story: Story, target: str, budget: int, preds: dict, reads_turn: bool,
           ways: Optional[aim.Ways] = None) -> tuple:
    """(a reachable state at `target` or None, states expanded): best-first by distance to it in gotos.

    The distance takes in the target's landmarks (aim.landmarks): a state without an item or
    flag that every way into the target needs is as far as the way round by where it is
    gained, and is dropped if no such place is ahead of it.
    """
    dist, ahead = aim.guide(story, target, preds, ways)
    start = runtime.start(story, 0)
    if ahead(start.node, start.bits) >= aim.FAR:
        return None, 0
    seen = {_key(start, reads_turn)}
    heap = [(ahead(start.node, start.bits), 0, 0, start)]
    order = expanded = 0
    ends = story.machine.ends
    while heap and expanded < budget:
        _, depth, _, state = heapq.heappop(heap)
        expanded += 1
        turn = state.turn + 1
        for choice in runtime.available(story, state):
            for outcome in runtime.possible_outcomes(story, state, choice) if choice.outcomes else (None,):
                # runtime.take's step, its state made only when it is new (most steps lead to one met before)
                node, bits, _ = runtime.advance(story, state, choice, outcome)
                if node == target:
                    return GameState(node, bits, state.rng, turn, state.layout), expanded
                if node not in dist or ends[node]:
                    continue
                key = (node, bits, turn) if reads_turn else (node, bits)
                if key not in seen:
                    seen.add(key)
                    h = ahead(node, bits)
                    if h >= aim.FAR:
                        continue  # it lacks what the target needs, and nothing ahead gives it
                    order += 1
                    heapq.heappush(heap, (h, depth + 1, order, GameState(node, bits, state.rng, turn, state.layout)))
    return None, expanded


def _sweep(story: Story, budget: int, reads_turn: bool, start=None) -> tuple:
    """(nodes reached, states expanded, findings): a breadth-first search of real states that keeps few per node.

    A state is expanded if its node has been expanded fewer than FRESH_TRIES times, or if it
    offers there a set of choices and outcomes not seen before; so it crosses the story fast,
    trying every choice that some state it met offers. Every state it meets is reachable, so
    a state with no offered choice is a real dead end.
    """
    start = start if start is not None else runtime.start(story, 0)
    reached = {start.node}
    seen = {_key(start, reads_turn)}
    queue = deque([(0, start)])
    tried: dict = {}  # node id -> {set of offered choices and outcomes: times expanded}
    findings: list = []
    expanded = 0
    ends = story.machine.ends
    while queue and expanded < budget:
        depth, state = queue.popleft()
        turn = state.turn + 1
        node = story.nodes[state.node]
        offered = runtime.available(story, state)
        branches = [(c, runtime.possible_outcomes(story, state, c) if c.outcomes else (None,)) for c in offered]
        signature = tuple((c.key, tuple(map(id, outcomes))) for c, outcomes in branches)
        here = tried.setdefault(node.id, {})
        if signature in here and sum(here.values()) >= FRESH_TRIES:
            continue
        here[signature] = here.get(signature, 0) + 1
        expanded += 1
        if not offered:
            findings.append(("dead-end", node.where, f"no choice is offered at {node.id!r} in a reachable state, "
                             f"and it is not an ending (a path of {depth} choices reaches it)"))
        for choice, outcomes in branches:
            if not outcomes:
                findings.append(("no-outcome", choice.where, "every outcome of this random choice is ruled out by "
                                 f"its condition (a path of {depth} choices reaches it)"))
            for outcome in outcomes:
                dest, bits, _ = runtime.advance(story, state, choice, outcome)  # runtime.take, as in _aimed
                reached.add(dest)
                if ends[dest]:
                    continue
                key = (dest, bits, turn) if reads_turn else (dest, bits)
                if key not in seen:
                    seen.add(key)
                    queue.append((depth + 1, GameState(dest, bits, state.rng, turn, state.layout)))
    return reached, expanded, findings


def _key(state, reads_turn: bool) -> tuple:
    return (state.node, state.bits, state.turn) if reads_turn else (state.node, state.bits)


def _reads_turn(story: Story) -> bool:
    conditions = [t.condition for t in story.triggers]
    for node in story.nodes.values():
        for choice in node.choices:
            conditions.append(choice.condition)
            conditions.extend(o.condition for o in choice.outcomes)
    return any(c is not None and "turn" in c.names for c in conditions)
