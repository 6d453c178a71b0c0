"""Exploring a story: seeded random playthroughs with coverage, and an exhaustive search of its states."""

from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Optional

from . import invariants, runtime
from .model import PLAYER, Location, Story
from .runtime import StoryRuntimeError
from .state import draw, seed_generator

MAX_RUN_CHOICES = 2000


@dataclass(frozen=True)
class PathStep:
    """One move on a path: the choice's key, and the outcome (1-based, as written) if it was random."""

    choice: str
    outcome: Optional[int] = None


@dataclass
class Finding:
    """Something wrong that exploration found, with a path that reproduces it."""

    kind: str  # soft-lock, runtime-error, invariant, trap, unreachable-ending, unreachable-node, ...
    level: str  # error or warning
    message: str
    where: Location
    path: tuple = ()
    seed: Optional[int] = None

    def __str__(self) -> str:
        return f"{self.where}: {self.level}: {self.message} [{self.kind}]"

    def as_dict(self) -> dict:
        return {"kind": self.kind, "level": self.level, "message": self.message, "path": str(self.where.path),
                "line": self.where.line, "column": self.where.column, "seed": self.seed,
                "steps": [_step_dict(s) for s in self.path]}


def _step_dict(step: PathStep) -> dict:
    return {"choose": step.choice} if step.outcome is None else {"choose": step.choice, "outcome": step.outcome}


@dataclass
class Coverage:
    nodes: set = field(default_factory=set)
    choices: set = field(default_factory=set)  # (node id, choice key)
    endings: Counter = field(default_factory=Counter)

    def summary(self, story: Story) -> dict:
        all_choices = [(n.id, c.key) for n in story.nodes.values() for c in n.choices]
        return {
            "nodes": [len(self.nodes & story.nodes.keys()), len(story.nodes)],
            "choices": [len(self.choices & set(all_choices)), len(all_choices)],
            "endings": [len(set(self.endings) & story.endings.keys()), len(story.endings)],
        }

    def missing(self, story: Story) -> list:
        """(kind, id, location) for every node, choice and ending never reached."""
        out = []
        for eid, node in story.endings.items():
            if eid not in self.endings:
                out.append(("ending", eid, node.ending.where))
        for node in story.nodes.values():
            if node.id not in self.nodes:
                out.append(("node", node.id, node.where))
        for node in story.nodes.values():
            if node.id in self.nodes:
                for choice in node.choices:
                    if (node.id, choice.key) not in self.choices:
                        out.append(("choice", f"{node.id} {choice.key}", choice.where))
        return out


@dataclass
class Report:
    mode: str
    coverage: Coverage
    findings: list
    seconds: float
    choices_made: int = 0
    runs: int = 0
    states: int = 0
    complete: bool = True
    max_states: int = 0
    ending_paths: dict = field(default_factory=dict)  # ending id -> tuple of PathStep (shortest)
    conditions: dict = field(default_factory=dict)  # Condition -> (seen true, seen false), with watch

    @property
    def failed(self) -> bool:
        return any(f.level == "error" for f in self.findings)


def _outcome_index(choice, outcome) -> Optional[int]:
    return None if outcome is None else choice.outcomes.index(outcome) + 1


# -- random --------------------------------------------------------------------------------


def explore_random(story: Story, runs: int, seed: int = 0, max_choices: int = MAX_RUN_CHOICES) -> Report:
    """`runs` playthroughs, each picking uniformly among the offered choices; run i uses seed+i."""
    started = time.perf_counter()
    coverage = Coverage()
    findings: list = []
    made = 0
    for i in range(runs):
        run_seed = seed + i
        made += _random_run(story, run_seed, max_choices, coverage, findings)
    return Report("random", coverage, findings, time.perf_counter() - started, choices_made=made, runs=runs)


def _random_run(story: Story, run_seed: int, max_choices: int, coverage: Coverage, findings: list) -> int:
    state = runtime.start(story, run_seed)
    picker = seed_generator(run_seed ^ 0x5DEECE66D)
    path: list = []
    nodes = story.nodes
    coverage.nodes.add(state.node)
    for made in range(max_choices):
        node = nodes[state.node]
        if node.ending is not None:
            coverage.endings[node.ending.id] += 1
            return made
        offered = runtime.available(story, state)
        if not offered:
            findings.append(Finding("soft-lock", "error", f"no choice is offered at {node.id!r} and it is not an "
                                    "ending", node.where, tuple(path), run_seed))
            return made
        index, picker = draw(picker, len(offered))
        choice = offered[index]
        try:
            turn = runtime.step(story, state, choice)
        except StoryRuntimeError as err:
            findings.append(Finding("runtime-error", "error", str(err).split(": ", 1)[-1], choice.where,
                                    tuple(path) + (PathStep(choice.key),), run_seed))
            return made
        path.append(PathStep(choice.key, _outcome_index(choice, turn.outcome)))
        coverage.choices.add((node.id, choice.key))
        broken = invariants.broken(story, state, turn.state)
        if broken:
            findings.append(Finding("invariant", "error", "; ".join(broken), choice.where, tuple(path), run_seed))
            return made + 1
        state = turn.state
        coverage.nodes.add(state.node)
    findings.append(Finding("long-run", "warning", f"no ending after {max_choices} choices (seed {run_seed}); the "
                            f"run was at {state.node!r}", nodes[state.node].where, (), run_seed))
    return max_choices


# -- exhaustive ----------------------------------------------------------------------------


class _Projection:
    """The part of a state that can change what happens next, node by node.

    A variable is kept in a state's identity only if some condition that can still be
    evaluated from the state's node reads it (a backward liveness analysis over the node
    graph; triggers and the turning of the player count from everywhere). Text is left
    out: it changes what is shown, not where the story can go. The player's infection
    clock is always kept, because it moves the player by itself.
    """

    def __init__(self, story: Story):
        reads: dict = {}
        succ: dict = {}
        for node in story.nodes.values():
            names: set = set()
            targets: set = set()
            for choice in node.choices:
                if choice.condition is not None:
                    names |= choice.condition.names
                for outcome in choice.outcomes:
                    if outcome.condition is not None:
                        names |= outcome.condition.names
                targets.update(choice.targets)
            reads[node.id] = names
            succ[node.id] = targets
        everywhere: set = set()
        jumps: set = set()
        for trigger in story.triggers:
            everywhere |= trigger.condition.names
            jumps.add(trigger.goto)
        if story.infection.on_player_turned:
            jumps.add(story.infection.on_player_turned)
        for node_id in succ:
            succ[node_id] |= jumps
        live = {n: set(r) | everywhere for n, r in reads.items()}
        preds: dict = {n: set() for n in succ}
        for n, targets in succ.items():
            for t in targets:
                preds[t].add(n)
        work = list(succ)
        while work:
            n = work.pop()
            for p in preds[n]:
                if not live[n] <= live[p]:
                    live[p] |= live[n]
                    work.append(p)
        self.read = set().union(*live.values()) if live else set()
        self.by_node: dict = {}
        shared: dict = {}
        for n, names in live.items():
            spec = (
                frozenset(i.id for i in story.items if i.id in names),
                frozenset(f.id for f in story.flags if f.id in names),
                tuple(i for i, c in enumerate(story.counters) if c.id in names),
                tuple(i for i, c in enumerate(story.characters) if c.id in names),
                "turn" in names,
            )
            self.by_node[n] = shared.setdefault(spec, spec)

    def key(self, state) -> tuple:
        items, flags, counters_at, people, turn = self.by_node[state.node]
        fates = state.fates
        infection = state.infection
        counters = state.counters
        return (
            state.node,
            state.items & items,
            state.flags & flags,
            tuple(counters[i] for i in counters_at),
            tuple(fates[i] for i in people),
            (infection[0], *(infection[i + 1] for i in people)),
            state.turn if turn else 0,
        )


def explore_exhaustive(story: Story, max_states: int = 1_000_000, watch: bool = False) -> Report:
    """A breadth-first search over every reachable state, random outcomes followed as branches.

    With `watch`, the report's `conditions` maps each condition tested (of choices, outcomes
    and triggers) to [seen true, seen false] over the states where it was evaluated.
    """
    started = time.perf_counter()
    project = _Projection(story)
    coverage = Coverage()
    findings: list = []
    start = runtime.start(story, 0)
    ids = {project.key(start): 0}
    parent: list = [(-1, None)]  # state id -> (parent id, PathStep)
    successors: list = [[]]
    endings_at: dict = {}  # ending id -> first state id
    ending_states: list = []
    queue = deque([(0, start)])
    complete = True
    nodes = story.nodes
    watched: dict = {}  # id(condition) -> [condition, seen true, seen false]

    def note(condition, state) -> None:
        entry = watched.get(id(condition))
        if entry is None:
            entry = watched[id(condition)] = [condition, False, False]
        entry[1 if condition.test(state) else 2] = True

    def path_to(sid: int) -> tuple:
        steps = []
        while sid > 0:
            sid, step = parent[sid]
            steps.append(step)
        return tuple(reversed(steps))

    while queue:
        sid, state = queue.popleft()
        node = nodes[state.node]
        coverage.nodes.add(node.id)
        if watch:
            for trigger in story.triggers:
                note(trigger.condition, state)
        if node.ending is not None:
            coverage.endings[node.ending.id] += 1
            endings_at.setdefault(node.ending.id, sid)
            ending_states.append(sid)
            continue
        if watch:
            for choice in node.choices:
                if choice.condition is not None:
                    note(choice.condition, state)
        offered = runtime.available(story, state)
        if watch:
            for choice in offered:
                for outcome in choice.outcomes:
                    if outcome.condition is not None:
                        note(outcome.condition, state)
        if not offered:
            findings.append(Finding("soft-lock", "error", f"no choice is offered at {node.id!r} in a reachable "
                                    "state, and it is not an ending", node.where, path_to(sid)))
            continue
        succ = successors[sid]
        for choice in offered:
            coverage.choices.add((node.id, choice.key))
            if choice.outcomes:
                branches = runtime.possible_outcomes(story, state, choice)
                if not branches:
                    findings.append(Finding("runtime-error", "error", "every outcome of this random choice is "
                                            "ruled out by its condition", choice.where,
                                            path_to(sid) + (PathStep(choice.key),)))
                    continue
            else:
                branches = (None,)
            for outcome in branches:
                nxt = runtime.take(story, state, choice, outcome).state
                broken = invariants.broken(story, state, nxt)
                if broken:
                    findings.append(Finding("invariant", "error", "; ".join(broken), choice.where,
                                            path_to(sid) + (PathStep(choice.key, _outcome_index(choice, outcome)),)))
                    continue
                key = project.key(nxt)
                known = ids.get(key)
                if known is None:
                    if len(ids) >= max_states:
                        complete = False
                        continue
                    known = len(parent)
                    ids[key] = known
                    parent.append((sid, PathStep(choice.key, _outcome_index(choice, outcome))))
                    successors.append([])
                    queue.append((known, nxt))
                succ.append(known)
    report = Report("exhaustive", coverage, findings, 0.0, states=len(ids), complete=complete,
                    max_states=max_states)
    report.ending_paths = {eid: path_to(sid) for eid, sid in endings_at.items()}
    report.conditions = {entry[0]: (entry[1], entry[2]) for entry in watched.values()}
    if complete:
        _find_traps(story, successors, ending_states, parent, path_to, findings)
        for kind, name, where in coverage.missing(story):
            if kind == "choice":
                node_id, key = name.split(" ", 1)
                findings.append(Finding("unreachable-choice", "warning", f"the choice {key!r} at {node_id!r} is "
                                        "never offered in any reachable state; hint: check its `if:`", where))
            else:
                findings.append(Finding(f"unreachable-{kind}", "error", f"no path reaches the {kind} {name!r}",
                                        where))
    report.seconds = time.perf_counter() - started
    return report


def _find_traps(story, successors, ending_states, parent, path_to, findings) -> None:
    """States from which no ending can be reached: loops with no way out."""
    count = len(successors)
    preds: list = [[] for _ in range(count)]
    for sid, succ in enumerate(successors):
        for nxt in succ:
            preds[nxt].append(sid)
    can_end = bytearray(count)
    stack = list(ending_states)
    for sid in stack:
        can_end[sid] = 1
    while stack:
        sid = stack.pop()
        for p in preds[sid]:
            if not can_end[p]:
                can_end[p] = 1
                stack.append(p)
    covered = bytearray(count)  # trapped states already explained by an earlier report
    for sid in range(count):
        if can_end[sid] or covered[sid] or not successors[sid]:
            continue  # soft-locks (no successors) are reported on their own
        region = [sid]
        covered[sid] = 1
        for member in region:
            for nxt in successors[member]:
                if not covered[nxt] and not can_end[nxt]:
                    covered[nxt] = 1
                    region.append(nxt)
        path = path_to(sid)
        state_node = _node_after(story, path)
        loop = _loop_nodes(story, sid, successors, path_to)
        node = story.nodes[state_node]
        findings.append(Finding("trap", "error", f"from {state_node!r} no ending can be reached: every path loops "
                                f"through {', '.join(repr(n) for n in loop)}", node.where, path))


def _node_after(story: Story, path: tuple) -> str:
    from .session import Session

    session = Session(story, 0)
    for step in path:
        choice = runtime.find_choice(story, session.state, step.choice)
        forced = choice.outcomes[step.outcome - 1] if step.outcome else None
        session.choose(choice, forced)
    return session.state.node


def _loop_nodes(story, start_sid, successors, path_to, limit: int = 6) -> list:
    seen = {start_sid}
    order = [start_sid]
    stack = [start_sid]
    while stack and len(order) < 200:
        sid = stack.pop()
        for nxt in successors[sid]:
            if nxt not in seen:
                seen.add(nxt)
                order.append(nxt)
                stack.append(nxt)
    names: list = []
    for sid in order:
        name = _node_after(story, path_to(sid))
        if name not in names:
            names.append(name)
        if len(names) >= limit:
            break
    return names


def script_for(story: Story, path: tuple, story_ref: Optional[str] = None, seed: int = 0,
               name: str = "") -> str:
    """A replay script that follows `path` and expects the state it reaches."""
    import yaml

    from .replay import final_expectation
    from .session import Session

    session = Session(story, seed)
    for step in path:
        choice = runtime.find_choice(story, session.state, step.choice)
        forced = choice.outcomes[step.outcome - 1] if step.outcome else None
        session.choose(choice, forced)
    doc: dict = {}
    if name:
        doc["name"] = name
    if story_ref is not None:
        doc["story"] = story_ref
    doc["seed"] = seed
    doc["steps"] = [_step_dict(s) for s in path] + [{"expect": final_expectation(story, session.state)}]
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)


__all__ = ["explore_random", "explore_exhaustive", "script_for", "Report", "Finding", "PathStep", "PLAYER"]
