"""Exploring a story: seeded random playthroughs with coverage, and an exhaustive search of its states."""

from __future__ import annotations

import time
from array import array
from collections import Counter
from dataclasses import dataclass, field
from typing import Optional

from . import invariants, runtime
from .collector import collector_paused
from .equivalence import value_classes
from .model import Location, Story
from .runtime import StoryRuntimeError
from .state import GameState, draw, seed_generator

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
    ending_paths: dict = field(default_factory=dict)  # ending id -> tuple of PathStep (shortest when exhaustive)
    ending_seeds: dict = field(default_factory=dict)  # ending id -> the seed of the run (random mode)
    conditions: dict = field(default_factory=dict)  # Condition -> (seen true, seen false), with watch
    start: Optional[object] = None  # the preset state runs began in (explore --from), or None for the story's start
    method: str = "explicit"  # exhaustive: state by state, or "symbolic" (engine/symbolic.py)
    depth: int = 0  # symbolic: the levels searched (the longest of the shortest paths to a state)
    diagram_nodes: int = 0  # symbolic: the decision diagram's nodes at the end
    stopped_by: str = ""  # an incomplete exhaustive search: "max-states", or "memory" (the diagrams' bound)

    @property
    def failed(self) -> bool:
        return any(f.level == "error" for f in self.findings)


def _outcome_index(choice, outcome) -> Optional[int]:
    """The 1-based index of the outcome drawn (by identity: equal outcomes compare field by field, slowly)."""
    if outcome is None:
        return None
    for which, o in enumerate(choice.outcomes, 1):
        if o is outcome:
            return which
    raise ValueError(f"{choice.where}: the outcome drawn is not one of this choice's")


# -- random --------------------------------------------------------------------------------


def explore_random(story: Story, runs: int, seed: int = 0, max_choices: int = MAX_RUN_CHOICES,
                   start=None) -> Report:
    """`runs` playthroughs, each picking uniformly among the offered choices; run i uses seed+i.

    `start` is a preset state to begin each run in (`explore --from`) instead of the story's start.
    """
    started = time.perf_counter()
    coverage = Coverage()
    findings: list = []
    made = 0
    firsts: dict = {}  # ending id -> (seed, path) of the first run that reached it
    for i in range(runs):
        run_seed = seed + i
        made += _random_run(story, run_seed, max_choices, coverage, findings, firsts, start)
    report = Report("random", coverage, findings, time.perf_counter() - started, choices_made=made, runs=runs,
                    start=start)
    report.ending_paths = {eid: path for eid, (_, path) in firsts.items()}
    report.ending_seeds = {eid: run_seed for eid, (run_seed, _) in firsts.items()}
    return report


def _random_run(story: Story, run_seed: int, max_choices: int, coverage: Coverage, findings: list,
                firsts: dict, start=None) -> int:
    state = runtime.start(story, run_seed) if start is None else start.with_(rng=seed_generator(run_seed))
    picker = seed_generator(run_seed ^ 0x5DEECE66D)
    # (choice key, outcome index) per choice made; the PathSteps are made only for a path that is kept
    steps: list = []
    nodes = story.nodes
    reached, taken = coverage.nodes, coverage.choices
    advance, broken = runtime.advance, invariants.broken
    reached.add(state.node)
    for made in range(max_choices):
        node = nodes[state.node]
        if node.ending is not None:
            coverage.endings[node.ending.id] += 1
            if node.ending.id not in firsts:
                firsts[node.ending.id] = (run_seed, _path(steps))
            return made
        offered = runtime.available(story, state)
        if not offered:
            findings.append(Finding("soft-lock", "error", f"no choice is offered at {node.id!r} and it is not an "
                                    "ending", node.where, _path(steps), run_seed))
            return made
        index, picker = draw(picker, len(offered))
        choice = offered[index]
        if choice.outcomes:
            try:
                turn = runtime.step(story, state, choice)
            except StoryRuntimeError as err:
                findings.append(Finding("runtime-error", "error", str(err).split(": ", 1)[-1], choice.where,
                                        _path(steps) + (PathStep(choice.key),), run_seed))
                return made
            after = turn.state
            steps.append((choice.key, _outcome_index(choice, turn.outcome)))
        else:  # runtime.step without its Turn: no draw to make
            target, bits, _ = advance(story, state, choice, None)
            after = GameState(target, bits, state.rng, state.turn + 1, state.layout)
            steps.append((choice.key, None))
        taken.add((node.id, choice.key))
        wrong = broken(story, state, after)
        if wrong:
            findings.append(Finding("invariant", "error", "; ".join(wrong), choice.where, _path(steps), run_seed))
            return made + 1
        state = after
        reached.add(state.node)
    findings.append(Finding("long-run", "warning", f"no ending after {max_choices} choices (seed {run_seed}); the "
                            f"run was at {state.node!r}", nodes[state.node].where, (), run_seed))
    return max_choices


def _path(steps: list) -> tuple:
    return tuple(PathStep(key, outcome) for key, outcome in steps)


# -- exhaustive ----------------------------------------------------------------------------


def _overwritten(effects) -> set:
    """Names whose value after these effects does not depend on their value before."""
    out: set = set()
    for e in effects:
        if e.op in ("gain", "lose", "set", "clear"):
            out.add(e.target)
    return out


def _liveness(story: Story) -> dict:
    """For each node, the names a condition may still read from there (backward, per edge).

    Along an edge, what the choice, the outcome and the target's entry effects overwrite is
    dead before the edge: whatever value it had cannot be read.
    """
    reads: dict = {}
    edges: dict = {}  # node -> [(target, names overwritten on the way)]
    for node in story.nodes.values():
        names: set = set()
        out: list = []
        for choice in node.choices:
            if choice.condition is not None:
                names |= choice.condition.names
            if choice.goto is not None:
                out.append((choice.goto, _overwritten(choice.effects)))
            for outcome in choice.outcomes:
                if outcome.condition is not None:
                    names |= outcome.condition.names
                out.append((outcome.goto, _overwritten(choice.effects) | _overwritten(outcome.effects)))
        reads[node.id] = names
        edges[node.id] = out
    everywhere: set = set()
    jumps: list = []
    for trigger in story.triggers:
        everywhere |= trigger.condition.names
        jumps.append((trigger.goto, _overwritten(trigger.effects)))
    if story.infection.on_player_turned:
        jumps.append((story.infection.on_player_turned, set()))
    entry_kills = {n.id: _overwritten(n.effects) for n in story.nodes.values()}
    for node_id in edges:
        edges[node_id] = edges[node_id] + jumps
    live = {n: set(r) | everywhere for n, r in reads.items()}
    preds: dict = {n: [] for n in edges}
    for n, out in edges.items():
        for target, killed in out:
            preds[target].append((n, killed | entry_kills[target]))
    work = list(edges)
    while work:
        n = work.pop()
        for p, killed in preds[n]:
            flows = live[n] - killed
            if not flows <= live[p]:
                live[p] |= flows
                work.append(p)
    return live


class _Projection:
    """A state's identity for the search: what can still change what happens next, packed in one int.

    A variable is kept only if some condition that can still be evaluated from the state's
    node reads it (a backward liveness analysis over the node graph; triggers and the
    turning of the player count from everywhere). Text is left out: it changes what is
    shown, not where the story can go. The player's infection clock is always kept. The
    key is the node's index, then the state's bits masked to what is live there (then the
    turn, if a condition reads it). It unpacks to an equivalent state: what it leaves out is
    set to its start value, which no later condition can tell apart.
    """

    def __init__(self, story: Story):
        self.story = story
        layout = story.layout
        self.layout = layout
        live = _liveness(story)
        self.node_ids = list(story.nodes)
        self.index = {n: i for i, n in enumerate(self.node_ids)}
        self.node_bits = max(1, len(self.node_ids).bit_length())
        self.node_mask = (1 << self.node_bits) - 1
        player_clock = layout.clock_mask << layout.clock_shifts[0]
        self.live = [story.machine.mask_of(story, live[n]) for n in self.node_ids]
        self.live = [(mask | player_clock, turn) for mask, turn in self.live]
        self.classes = value_classes(story, live)  # node index -> ((mask, value -> representative), ...)
        everything = 0
        for mask, _ in self.live:
            everything |= mask
        self.turn_shift = self.node_bits + everything.bit_length()
        self.start_bits = layout.start_bits

    def pack(self, state) -> int:
        i = self.index[state.node]
        mask, turn = self.live[i]
        bits = state.bits & mask
        for part, table in self.classes[i]:
            value = bits & part
            bits ^= value ^ table.get(value, value)
        if turn:
            return i | (bits << self.node_bits) | (state.turn << self.turn_shift)
        return i | (bits << self.node_bits)

    def unpack(self, key: int):
        from .state import GameState

        i = key & self.node_mask
        mask, turn = self.live[i]
        bits = ((key >> self.node_bits) & mask) | (self.start_bits & ~mask)
        return GameState(self.node_ids[i], bits, 0, key >> self.turn_shift if turn else 0, self.layout)


def explore_exhaustive(story: Story, max_states: int = 1_000_000, watch: bool = False, start=None) -> Report:
    """A breadth-first search over every reachable state, random outcomes followed as branches.

    States are kept as packed keys (see _Projection) with their parent and edges in flat
    arrays, so a search of millions of states fits in memory. With `watch`, the report's
    `conditions` maps each condition tested (of choices, outcomes and triggers) to
    (seen true, seen false) over the states where it was evaluated.
    """
    with collector_paused():
        return _exhaustive(story, max_states, watch, start)


def _exhaustive(story: Story, max_states: int, watch: bool, start) -> Report:
    started = time.perf_counter()
    project = _Projection(story)
    coverage = Coverage()
    findings: list = []
    given = start
    start = runtime.start(story, 0).with_(rng=0) if start is None else start.with_(rng=0)
    ids = {project.pack(start): 0}
    keys = [project.pack(start)]  # state id -> key, in the order found (the BFS order)
    # 4-byte ids and edge offsets while they fit, which halves the arrays' share of a state
    fan_out = max([sum(1 if c.goto is not None else len(c.outcomes) for c in n.choices) for n in story.nodes.values()] + [1])
    wide = "q" if max_states * fan_out >= 1 << 31 else "i"
    parent = array(wide, [-1])  # state id -> the state it was first reached from
    step_choice = array("H", [0])  # state id -> index of the choice taken, in its node's list
    step_outcome = array("B", [0])  # state id -> 1-based outcome index, 0 for a plain goto
    edge_start = array(wide)  # state id -> where its successors start in `edges`
    edges = array(wide)
    endings_at: dict = {}  # ending id -> first state id
    ending_states: list = []
    complete = True
    nodes = story.nodes
    watched: dict = {}  # id(condition) -> [condition, seen true, seen false]
    choice_index = {id(c): i for n in nodes.values() for i, c in enumerate(n.choices)}

    def note(condition, state) -> None:
        entry = watched.get(id(condition))
        if entry is None:
            entry = watched[id(condition)] = [condition, False, False]
        entry[1 if condition.test(state) else 2] = True

    def path_to(sid: int) -> tuple:
        steps = []
        while sid > 0:
            node = nodes[project.node_ids[keys[parent[sid]] & project.node_mask]]
            choice = node.choices[step_choice[sid]]
            steps.append(PathStep(choice.key, step_outcome[sid] or None))
            sid = parent[sid]
        return tuple(reversed(steps))

    # Per node index: the node, whether it ends, and its choices with what the loop needs.
    plan = []
    for node_id in project.node_ids:
        node = nodes[node_id]
        rows = tuple((c, None if c.condition is None else c.condition.test, (node_id, c.key), choice_index[id(c)],
                      bool(c.outcomes)) for c in node.choices)
        plan.append((node, node.ending is not None, rows))
    node_mask, node_bits, turn_shift = project.node_mask, project.node_bits, project.turn_shift
    live, index, start_bits, classes = project.live, project.index, project.start_bits, project.classes
    node_ids = project.node_ids
    layout = story.layout
    advance, possible, check = runtime.advance, runtime.possible_outcomes, invariants.broken_bits
    ticked_bits = runtime.ticked_bits
    offered_seen: set = set()
    ids_get = ids.get
    touches = [_touched(story, node, layout) if not ends else (0, False) for node, ends, _ in plan]
    expansions: dict = {}  # (node index, touched bits, turn) -> what expanding such a state gives

    def expand(state, rows) -> tuple:
        """(offered?, the edges as (choice, number, outcome, its 1-based index or 0, target index, touched bits after))."""
        if watch:
            for choice, *_ in rows:
                if choice.condition is not None:
                    note(choice.condition, state)
        offered = [row for row in rows if row[1] is None or row[1](state)]
        out = []
        ticked = ticked_bits(story, state)  # the clocks tick alike whichever choice is taken
        for choice, _, seen_key, number, random in offered:
            offered_seen.add(seen_key)
            if random:
                if watch:
                    for outcome in choice.outcomes:
                        if outcome.condition is not None:
                            note(outcome.condition, state)
                branches = [(_outcome_index(choice, o), o) for o in possible(story, state, choice)]
                if not branches:
                    out.append((choice, number, None, 0, -1, 0))  # no outcome can be drawn
                    continue
            else:
                branches = ((0, None),)
            for which, outcome in branches:
                target, after, _ = advance(story, state, choice, outcome, ticked)
                out.append((choice, number, outcome, which, index[target], after & touch))
        return bool(offered), tuple(out), [None] * len(out)  # the last: each edge's invariants, when first asked

    memoise, misses = True, 0
    sid = 0
    while sid < len(keys):
        key = keys[sid]
        i = key & node_mask
        node, ends, rows = plan[i]
        mask, with_turn = live[i]
        bits = ((key >> node_bits) & mask) | (start_bits & ~mask)
        turn = key >> turn_shift if with_turn else 0
        edge_start.append(len(edges))
        if ends or watch:
            state = GameState(node.id, bits, 0, turn, layout)
            if watch:
                for trigger in story.triggers:
                    note(trigger.condition, state)
            if ends:
                endings_at.setdefault(node.ending.id, sid)
                ending_states.append(sid)
                sid += 1
                continue
        # What a step does from here depends only on the bits it touches (and the turn, if
        # read), so states that differ elsewhere share one expansion.
        touch, reads_turn = touches[i]
        if memoise:
            memo_key = (i, bits & touch, turn if reads_turn else -1)
            found = expansions.get(memo_key)
            if found is None:
                misses += 1
                if len(expansions) >= EXPANSION_MEMO_LIMIT:
                    expansions.clear()
                    if misses > sid // 2:  # most states are new to the memo: it only costs here
                        memoise = False
                found = expansions[memo_key] = expand(GameState(node.id, bits, 0, turn, layout), rows)
        else:
            found = expand(GameState(node.id, bits, 0, turn, layout), rows)
        any_offered, out, verdicts = found
        if not any_offered:
            findings.append(Finding("soft-lock", "error", f"no choice is offered at {node.id!r} in a reachable "
                                    "state, and it is not an ending", node.where, path_to(sid)))
            sid += 1
            continue
        untouched = bits & ~touch
        for k, (choice, number, outcome, which, j, after) in enumerate(out):
            if j < 0:
                findings.append(Finding("runtime-error", "error", "every outcome of this random choice is "
                                        "ruled out by its condition", choice.where,
                                        path_to(sid) + (PathStep(choice.key),)))
                continue
            mask, with_turn = live[j]
            after |= untouched
            kept = after & mask
            for part, table in classes[j]:
                value = kept & part
                kept ^= value ^ table.get(value, value)
            key = j | (kept << node_bits)
            if with_turn:
                key |= (turn + 1) << turn_shift
            known = ids_get(key)
            if known is None:
                if len(keys) >= max_states:
                    complete = False
                    continue
                # The invariants are checked on each step that finds a new state: every state
                # is vouched for by the step that first reached it.
                broken = verdicts[k]  # the same for every state sharing this expansion: it reads touched bits only
                if broken is None:
                    broken = verdicts[k] = check(story, bits, after, turn)
                if broken:
                    findings.append(Finding("invariant", "error", "; ".join(broken), choice.where, path_to(sid)
                                            + (PathStep(choice.key, which or None),)))
                    continue
                known = len(keys)
                ids[key] = known
                keys.append(key)
                parent.append(sid)
                step_choice.append(number)
                step_outcome.append(which)
            edges.append(known)
        sid += 1
    coverage.choices = offered_seen
    coverage.nodes = {project.node_ids[key & node_mask] for key in keys}
    for ending_sid in ending_states:
        coverage.endings[nodes[project.node_ids[keys[ending_sid] & node_mask]].ending.id] += 1
    edge_start.append(len(edges))
    report = Report("exhaustive", coverage, findings, 0.0, states=len(keys), complete=complete,
                    max_states=max_states, start=given)
    report.ending_paths = {eid: path_to(sid) for eid, sid in endings_at.items()}
    report.conditions = {entry[0]: (entry[1], entry[2]) for entry in watched.values()}
    if complete:
        del ids  # the largest structure; trap analysis needs only the edges
        graph = _Edges(edge_start, edges)
        _find_traps(story, graph, ending_states, path_to, lambda sid: project.node_ids[keys[sid] & node_mask],
                    findings)
        # From a preset state (explore --from), most of the story is behind the player: what it
        # does not reach is not a problem of the story.
        if given is None:
            findings.extend(unreachable_findings(story, coverage))
    report.seconds = time.perf_counter() - started
    return report


def unreachable_findings(story: Story, coverage: Coverage) -> list:
    """A finding for each node, ending and choice a complete search from the start did not reach."""
    findings = []
    for kind, name, where in coverage.missing(story):
        if kind == "choice":
            node_id, key = name.split(" ", 1)
            findings.append(Finding("unreachable-choice", "warning", f"the choice {key!r} at {node_id!r} is "
                                    "never offered in any reachable state; hint: check its `if:`", where))
        else:
            findings.append(Finding(f"unreachable-{kind}", "error", f"no path reaches the {kind} {name!r}", where))
    return findings


EXPANSION_MEMO_LIMIT = 10_000  # entries: enough for the states that share a node's touched bits


def _touched(story: Story, node, layout) -> tuple:
    """(the bits a step from `node` can read or change, whether it reads the turn).

    The conditions of its choices and outcomes, every effect on the way (the choice's, the
    outcome's, the target's entry; the player's turning and each trigger, with theirs), the
    triggers' conditions, and every infection clock and fate (the tick). Outside these bits
    a step leaves a state as it was.
    """
    machine = story.machine
    names: set = set()
    effects: list = []
    for choice in node.choices:
        if choice.condition is not None:
            names |= choice.condition.names
        effects.extend(choice.effects)
        for target in choice.targets:
            effects.extend(story.nodes[target].effects)
        for outcome in choice.outcomes:
            if outcome.condition is not None:
                names |= outcome.condition.names
            effects.extend(outcome.effects)
    for trigger in story.triggers:
        names |= trigger.condition.names
        effects.extend(trigger.effects)
        effects.extend(story.nodes[trigger.goto].effects)
    if story.infection.on_player_turned is not None:
        effects.extend(story.nodes[story.infection.on_player_turned].effects)
    names |= {e.target for e in effects}
    mask, reads_turn = machine.mask_of(story, names)
    return mask | layout.clocks_mask | layout.fates_mask, reads_turn


class _Edges:
    """The explored state graph in compressed rows: the successors of state i are edges[start[i]:start[i+1]]."""

    def __init__(self, start, edges):
        self.start, self.edges = start, edges

    def __len__(self) -> int:
        return len(self.start) - 1

    def __getitem__(self, sid: int):
        return self.edges[self.start[sid]:self.start[sid + 1]]


def _find_traps(story, successors, ending_states, path_to, node_of, findings) -> None:
    """States from which no ending can be reached: loops with no way out. `node_of(sid)` is a state's node id."""
    count = len(successors)
    wide = successors.edges.typecode
    pred_count = array(wide, [0]) * (count + 1)
    for nxt in successors.edges:
        pred_count[nxt + 1] += 1
    for i in range(count):
        pred_count[i + 1] += pred_count[i]
    preds = array(wide, [0]) * len(successors.edges)
    fill = array(wide, pred_count)
    for sid in range(count):
        for nxt in successors[sid]:
            preds[fill[nxt]] = sid
            fill[nxt] += 1
    can_end = bytearray(count)
    stack = list(ending_states)
    for sid in stack:
        can_end[sid] = 1
    while stack:
        sid = stack.pop()
        for i in range(pred_count[sid], pred_count[sid + 1]):
            p = preds[i]
            if not can_end[p]:
                can_end[p] = 1
                stack.append(p)
    covered = bytearray(count)  # trapped states already explained by an earlier report
    for sid in range(count):
        if can_end[sid] or covered[sid] or not len(successors[sid]):
            continue  # soft-locks (no successors) are reported on their own
        region = [sid]
        covered[sid] = 1
        for member in region:
            for nxt in successors[member]:
                if not covered[nxt] and not can_end[nxt]:
                    covered[nxt] = 1
                    region.append(nxt)
        path = path_to(sid)
        state_node = node_of(sid)
        loop = _loop_nodes(sid, successors, node_of)
        node = story.nodes[state_node]
        findings.append(Finding("trap", "error", f"from {state_node!r} no ending can be reached: every path loops "
                                f"through {', '.join(repr(n) for n in loop)}", node.where, path))


def _loop_nodes(start_sid, successors, node_of, limit: int = 6) -> list:
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
        name = node_of(sid)
        if name not in names:
            names.append(name)
        if len(names) >= limit:
            break
    return names


def script_for(story: Story, path: tuple, story_ref: Optional[str] = None, seed: int = 0,
               name: str = "", start=None) -> str:
    """A replay script that follows `path` (from `start`, a preset state, if given) and expects the state it reaches."""
    import yaml

    from .replay import final_expectation, start_data
    from .session import Session

    session = Session(story, seed, None if start is None else start.with_(rng=seed_generator(seed)))
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
    if start is not None:
        doc["from"] = start_data(story, start)
    doc["steps"] = [_step_dict(s) for s in path] + [{"expect": final_expectation(story, session.state)}]
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)


__all__ = ["explore_random", "explore_exhaustive", "find_path", "script_for", "unreachable_findings", "Report", "Finding",
           "PathStep"]


def find_path(story: Story, target: str, max_states: int = 2_000_000, start=None) -> tuple:
    """(path or None, states searched): a path from the start to the node `target`.

    A best-first search over game states, guided by each node's distance to the target in
    the node graph and by what every way into the target needs (aim.guide); states are
    deduplicated like the exhaustive search's, so it is complete (given enough states) and
    usually fast where breadth-first search would drown.
    """
    import heapq

    from . import aim

    _, ahead = aim.guide(story, target)
    project = _Projection(story)
    start = runtime.start(story, 0).with_(rng=0) if start is None else start.with_(rng=0)
    if ahead(start.node, start.bits) >= aim.FAR:
        return None, 0
    keys = [project.pack(start)]
    seen = {keys[0]: 0}
    parent = [(-1, None)]
    heap = [(ahead(start.node, start.bits), 0, 0)]
    while heap:
        _, depth, sid = heapq.heappop(heap)
        state = project.unpack(keys[sid])
        if state.node == target:
            steps = []
            while sid > 0:
                sid, step = parent[sid]
                steps.append(step)
            return tuple(reversed(steps)), len(keys)
        if story.nodes[state.node].ending is not None:
            continue
        for choice in runtime.available(story, state):
            branches = runtime.possible_outcomes(story, state, choice) if choice.outcomes else (None,)
            for outcome in branches:
                nxt = runtime.take(story, state, choice, outcome).state
                far = ahead(nxt.node, nxt.bits)
                if far >= aim.FAR:
                    continue  # no way on to the target, or not without what this state can no longer get
                key = project.pack(nxt)
                if key in seen:
                    continue
                if len(keys) >= max_states:
                    return None, len(keys)
                seen[key] = len(keys)
                keys.append(key)
                parent.append((sid, PathStep(choice.key, _outcome_index(choice, outcome))))
                heapq.heappush(heap, (far, depth + 1, len(keys) - 1))
    return None, len(keys)
