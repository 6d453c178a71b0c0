"""The exhaustive search on sets of states: every reachable state, level by level, as decision diagrams.

The explicit search (explore.explore_exhaustive) meets each state one at a time, which
cannot finish on a campaign whose states number in the billions. This search keeps, for
each node and each depth, the set of states first reached there as a decision diagram
(engine/diagram.py) over the story's variables: each item, flag and counter, the
player's infection clock, and each character's fate with its clock. A step of the story
changes each variable from that variable alone, so one choice applied to a whole set is
one pass over its diagram.

It is the same search as the explicit one: the same transitions (runtime.advance: the
tick, the effects, the player's turning, the triggers), the same identity of a state
(explore._Projection: what no later condition reads is forgotten, counters merge by
value classes), breadth first, so it finds the same states, the same shortest path
lengths and the same problems, and counts its states exactly. A path to any state is
found by walking the levels back with preimages.
"""

from __future__ import annotations

import time
from collections import Counter

from . import bdd
from . import effects as effect_code
from . import runtime
from .conditions import Names, compile_tree
from .diagram import Conditions, Diagram
from .explore import Coverage, Finding, PathStep, Report, _Projection, unreachable_findings
from .model import PLAYER, Story
from .state import FATE_CODE, GameState

# Diagram nodes at which the search stops: about 2 GB of memory in Python, 12 GB in CUDD
MAX_NODES = {"python": 5_000_000, "cudd": 150_000_000}
_DEAD, _TURNED = FATE_CODE["dead"], FATE_CODE["turned"]


class Unsupported(Exception):
    """A story this search cannot take (a condition reads the turn); the explicit search can."""


class Variables:
    """The story's state as a list of small variables, in the diagram's order, with their place in the bits."""

    def __init__(self, story: Story):
        layout = story.layout
        cm = layout.clock_mask
        self.clock_size = cw = cm + 1
        self.vars = []  # (name, kind, size, fields): fields ((shift, mask, multiplier), ...)
        self.vars.append((PLAYER, "player", cw, ((layout.clock_shifts[0], cm, 1),)))
        for i, c in enumerate(story.characters):
            self.vars.append((c.id, "character", len(FATE_CODE) * cw,
                              ((layout.fate_shifts[i], 7, cw), (layout.clock_shifts[1 + i], cm, 1))))
        for c, (s, m, low, high) in zip(story.counters, layout.counter_fields):
            self.vars.append((c.id, "counter", high - low + 1, ((s, m, 1),)))
        for name, bit in layout.item_bits:
            self.vars.append((name, "item", 2, ((bit.bit_length() - 1, 1, 1),)))
        for name, bit in layout.flag_bits:
            self.vars.append((name, "flag", 2, ((bit.bit_length() - 1, 1, 1),)))
        first = _first_touch(story)
        self.vars.sort(key=lambda v: first.get(v[0], len(first)))
        self.index = {v[0]: i for i, v in enumerate(self.vars)}
        self.sizes = tuple(v[2] for v in self.vars)
        self.masks = []
        for _, _, _, fields in self.vars:
            mask = 0
            for s, m, _ in fields:
                mask |= m << s
            self.masks.append(mask)

    def get(self, k: int, bits: int) -> int:
        fields = self.vars[k][3]
        if len(fields) == 1:
            s, m, _ = fields[0]
            return (bits >> s) & m
        (fs, fm, mult), (cs, cm, _) = fields
        return ((bits >> fs) & fm) * mult + ((bits >> cs) & cm)

    def put(self, k: int, bits: int, value: int) -> int:
        fields = self.vars[k][3]
        bits &= ~self.masks[k]
        if len(fields) == 1:
            s, _, _ = fields[0]
            return bits | (value << s)
        (fs, _, mult), (cs, _, _) = fields
        return bits | ((value // mult) << fs) | ((value % mult) << cs)

    def values(self, bits: int) -> tuple:
        return tuple(self.get(k, bits) for k in range(len(self.vars)))



def _first_touch(story: Story) -> dict:
    """Name -> rank of the first node (in file order) whose conditions or effects name it.

    The diagram's order of variables: what the story decides together sits together, which
    measured on the campaign kept the diagrams several times smaller than grouping by kind.
    """
    seen: dict = {PLAYER: 0}
    for node in story.nodes.values():
        names = [e.target for e in node.effects]
        for choice in node.choices:
            for part in (choice, *choice.outcomes):
                if part.condition is not None:
                    names.extend(sorted(part.condition.names))
                names.extend(e.target for e in part.effects)
        for name in names:
            seen.setdefault(name, len(seen))
    return seen


class _Edge:
    """One way out of a node: a choice (and outcome), what it needs, and where its states go.

    `parts` splits the states by what was true before the step (the player's clock had not
    run out; each trigger's condition was false); each part has `exits` in the runtime's
    order: (condition on the state after the step or None for the rest, maps after the
    step's own, the node index it goes to, the tables of the whole step for the invariants).
    """

    __slots__ = ("choice", "number", "outcome", "outcome_index", "guard", "base", "parts", "node")

    def __init__(self, node, choice, number, outcome, outcome_index, guard, base, parts):
        self.node, self.choice, self.number = node, choice, number
        self.outcome, self.outcome_index = outcome, outcome_index
        self.guard, self.base, self.parts = guard, base, parts

    @property
    def step(self) -> PathStep:
        return PathStep(self.choice.key, self.outcome_index)


class SymbolicSearch:
    """Everything the search derives from a story once: variables, tables, condition diagrams, edges."""

    def __init__(self, story: Story, backend: str = "auto"):
        self.story = story
        self.layout = layout = story.layout
        self.vars = Variables(story)
        if backend == "auto":
            backend = "cudd" if bdd.available() else "python"
        self.backend = backend
        if backend == "cudd":
            self.D = self.C = bdd.BinarySets(self.vars.sizes)  # one manager holds both sets and conditions
        else:
            self.D = Diagram(self.vars.sizes)
            self.C = Conditions(self.vars.sizes)
        self.names = Names.from_story(story)
        self.project = _Projection(story)
        if any(turn for _, turn in self.project.live):
            raise Unsupported("a condition reads the turn")
        self.node_ids = self.project.node_ids
        self.index = self.project.index
        self.start_values = self.vars.values(layout.start_bits)
        self._cond_memo: dict = {}
        self._whole: dict = {}  # (edge, part) -> the maps of its step and projection together
        self._fused: dict = {}  # (edge, part) -> its exits with conditions before the step (CUDD)
        self._tick = self._tick_tables()
        self.projections = [self._projection(i) for i in range(len(self.node_ids))]
        self.edges = [self._edges_of(story.nodes[n]) for n in self.node_ids]
        self.choice_conds = []  # per node: (condition id per choice, any choice offered)
        self.undrawable: dict = {}  # id of a random choice -> offered, but no outcome's condition holds
        for n in self.node_ids:
            conds = tuple(self.cond(c.condition) for c in story.nodes[n].choices)
            offered = 0
            for c in conds:
                offered = self.C.either(offered, c)
            self.choice_conds.append((conds, offered))
            for choice, c in zip(story.nodes[n].choices, conds):
                if choice.outcomes:
                    drawable = 0
                    for o in choice.outcomes:
                        drawable = self.C.either(drawable, self.cond(o.condition))
                    self.undrawable[id(choice)] = self.C.both(c, self.C.negate(drawable))

    # -- conditions --------------------------------------------------------------------------

    def cond(self, condition) -> int:
        """The diagram of a model Condition (1 for None: always true)."""
        if condition is None:
            return 1
        found = self._cond_memo.get(id(condition))
        if found is None:
            found = self._cond_memo[id(condition)] = self._tree(condition.tree)
        return found

    def _tree(self, tree: tuple) -> int:
        op = tree[0]
        C = self.C
        if op == "true":
            return 1
        if op == "false":
            return 0
        if op == "not":
            return C.negate(self._tree(tree[1]))
        if op in ("and", "or"):
            out = 1 if op == "and" else 0
            for sub in tree[1:]:
                out = C.both(out, self._tree(sub)) if op == "and" else C.either(out, self._tree(sub))
            return out
        name = tree[1]
        if name == "turn":
            raise Unsupported("a condition reads the turn")
        k = self.vars.index[name]
        test = compile_tree(tree, self.names)
        start, node, layout = self.layout.start_bits, self.story.start, self.layout
        allowed = {v for v in range(self.vars.sizes[k])
                   if test(GameState(node, self.vars.put(k, start, v), 0, 0, layout))}
        return C.values(k, allowed)

    def clock_at_least(self, top: int) -> int:
        k = self.vars.index[PLAYER]
        return self.C.values(k, set(range(top, self.vars.sizes[k])))

    # -- tables ------------------------------------------------------------------------------

    def _identity(self, k: int) -> tuple:
        return tuple(range(self.vars.sizes[k]))

    def _table(self, k: int, fn) -> tuple:
        """The table of a function of the bits that changes the variable k from its own value alone."""
        start, V = self.layout.start_bits, self.vars
        return tuple(V.get(k, fn(V.put(k, start, v))) for v in range(V.sizes[k]))

    def _tick_tables(self) -> dict:
        layout, tick = self.layout, self.story.machine.tick
        running = layout.running
        out = {}
        for k, (_, kind, _, _) in enumerate(self.vars.vars):
            if kind in ("player", "character"):
                table = self._table(k, lambda b: tick(b) if b & running else b)
                if table != self._identity(k):
                    out[k] = table
        return out

    def _effect_var(self, e) -> int:
        return self.vars.index[e.target]

    def _then(self, tables: dict, effects) -> dict:
        """`tables` followed by `effects`, in order, as one table per variable."""
        tables = dict(tables)
        for e in effects:
            k = self._effect_var(e)
            table = self._table(k, effect_code._compile(self.story, self.layout, e))
            first = tables.get(k)
            tables[k] = table if first is None else tuple(table[v] for v in first)
        return tables

    def _projection(self, i: int) -> dict:
        """Per variable, what the state's identity keeps at node i: all of it (absent), its start, or its class."""
        mask, _ = self.project.live[i]
        out = {}
        for k, var_mask in enumerate(self.vars.masks):
            if not var_mask & mask:
                out[k] = (self.start_values[k],) * self.vars.sizes[k]
        for part, table in self.project.classes[i]:
            k = next(k for k, m in enumerate(self.vars.masks) if m == part)
            if k in out:
                continue
            shift = self.vars.vars[k][3][0][0]
            out[k] = tuple(table.get(v << shift, v << shift) >> shift for v in range(self.vars.sizes[k]))
        return out

    def _maps(self, tables: dict) -> int:
        return self.D.maps(tables.get(k) for k in range(len(self.vars.sizes)))

    def _compose(self, first: dict, then: dict) -> dict:
        out = dict(first)
        for k, table in then.items():
            before = out.get(k)
            out[k] = table if before is None else tuple(table[v] for v in before)
        return out

    def _edges_of(self, node) -> tuple:
        story, C = self.story, self.C
        if node.ending is not None:
            return ()
        turn_at = story.infection.on_player_turned
        top = self.layout.turns[0] + 2
        turned = self.clock_at_least(top)
        triggers = [(self.cond(t.condition), self.index[t.goto], self._then({}, t.effects + story.nodes[t.goto].effects))
                    for t in story.triggers]
        out = []
        for number, choice in enumerate(node.choices):
            branches = [(None, None)] if choice.goto is not None else [(o, i + 1) for i, o in enumerate(choice.outcomes)]
            for outcome, outcome_index in branches:
                target = choice.goto if outcome is None else outcome.goto
                effects = choice.effects + (outcome.effects if outcome is not None else ()) + story.nodes[target].effects
                step = self._then(self._tick, effects)
                guard = C.both(self.cond(choice.condition), self.cond(outcome.condition if outcome else None))
                j = self.index[target]
                rest = self._maps(self.projections[j])
                if story.nodes[target].ending is not None:
                    parts = ((1, ((None, rest, j, step),)),)
                else:
                    parts = []
                    # Which redirects can fire depends on what held before the step: the
                    # player's clock had not run out; a trigger's condition was false.
                    for can_turn in ((True, False) if turn_at is not None else (False,)):
                        for mask in range(1 << len(triggers)):
                            before = 1
                            if turn_at is not None:
                                before = C.both(before, C.negate(turned) if can_turn else turned)
                            exits = []
                            if can_turn:
                                extra = self._then({}, story.nodes[turn_at].effects)
                                exits.append((turned, self._maps(self._compose(extra, self.projections[self.index[turn_at]])),
                                              self.index[turn_at], self._compose(step, extra)))
                            for t, (tc, goto, extra) in enumerate(triggers):
                                fires = mask >> t & 1
                                before = C.both(before, C.negate(tc) if fires else tc)
                                if fires:
                                    exits.append((tc, self._maps(self._compose(extra, self.projections[goto])), goto,
                                                  self._compose(step, extra)))
                            exits.append((None, rest, j, step))
                            parts.append((before, tuple(exits)))
                out.append(_Edge(node.id, choice, number, outcome, outcome_index, guard,
                                 self._maps(step), tuple(parts)))
        return tuple(out)

    def exits(self, i: int):
        """(edge, part, exit, target node index) for every way out of node i."""
        for edge in self.edges[i]:
            for part, (_, exits) in enumerate(edge.parts):
                for exit, (_, _, j, _) in enumerate(exits):
                    yield edge, part, exit, j

    def start_set(self, state) -> int:
        values = self.vars.values(state.bits)
        i = self.index[state.node]
        return self.D.image(self.D.point(values), self._maps(self.projections[i]))

    # -- one step, both ways -----------------------------------------------------------------

    def _fused_exits(self, edge: _Edge, part: int) -> tuple:
        """Per exit: (its condition read before the step, or None for the rest; the whole step's maps; node)."""
        key = (id(edge), part)
        found = self._fused.get(key)
        if found is None:
            exits = []
            for post, _, j, tables in edge.parts[part][1]:
                before = None if post is None else self.D.preimage(post, edge.base)
                exits.append((before, self._maps(self._compose(tables, self.projections[j])), j))
            found = self._fused[key] = tuple(exits)
        return found

    def successors(self, edge: _Edge, states: int, out: dict) -> None:
        """Add to out (node index -> set) where `states` (at edge's node) go by `edge`."""
        D, C = self.D, self.C
        moved = D.restrict(states, edge.guard, C)
        if not moved:
            return
        if self.backend == "cudd":
            # Conditions are sets here: each exit's condition on the state after the step is
            # read back onto the state before it, and each exit is one image, not two.
            for k, (before, _) in enumerate(edge.parts):
                rest = D.meet(moved, before)
                for post, whole, j in self._fused_exits(edge, k) if rest else ():
                    if post is None:
                        taken, rest = rest, 0
                    else:
                        taken, rest = D.meet(rest, post), D.minus(rest, post)
                    if taken:
                        found = D.image(taken, whole)
                        out[j] = D.union(out[j], found) if j in out else found
                    if not rest:
                        break
            return
        for before, exits in edge.parts:
            part = D.restrict(moved, before, C)
            if not part:
                continue
            after = D.image(part, edge.base)
            for post, maps, j, _ in exits:
                if post is None:
                    taken, after = after, 0
                else:
                    taken = D.restrict(after, post, C)
                    after = D.restrict(after, C.negate(post), C)
                if taken:
                    found = D.image(taken, maps)
                    out[j] = D.union(out[j], found) if j in out else found
                if not after:
                    break

    def predecessors(self, edge: _Edge, part: int, exit: int, states: int) -> int:
        """The states at edge's node that go by `edge`, its part and exit, into `states`."""
        D, C = self.D, self.C
        before, exits = edge.parts[part]
        post, maps, j, tables = exits[exit]
        if exit == 0 and post is None:  # the step and the projection at once
            key = (id(edge), part)
            whole = self._whole.get(key)
            if whole is None:
                whole = self._whole[key] = self._maps(self._compose(tables, self.projections[j]))
            found = D.preimage(states, whole)
            return D.restrict(D.restrict(found, before, C), edge.guard, C)
        found = D.preimage(states, maps)
        for earlier, _, _, _ in exits[:exit]:
            found = D.restrict(found, C.negate(earlier), C)
        if post is not None:
            found = D.restrict(found, post, C)
        found = D.preimage(found, edge.base)
        return D.restrict(D.restrict(found, before, C), edge.guard, C)


def explore_symbolic(story: Story, max_states: int = 1_000_000, watch: bool = False, start=None,
                     max_nodes: int | None = None, backend: str = "python") -> Report:
    """Every reachable state, breadth first, on sets; raises Unsupported for a story it cannot take.

    Level by level, the sets are many and small, where the Python diagrams were measured
    faster than CUDD (12.5 s against 21 s to 1,352,896 campaign states), hence the default.

    It stops, incomplete, after the first level at which it has more than `max_states`
    states, or a diagram of more than `max_nodes` nodes.
    """
    started = time.perf_counter()
    s = SymbolicSearch(story, backend)
    D, C = s.D, s.C
    if max_nodes is None:
        max_nodes = MAX_NODES[s.backend]
    nodes = story.nodes
    given = start
    first = runtime.start(story, 0) if start is None else start
    begin = s.index[first.node]
    reached = {begin: s.start_set(first)}
    layers = [dict(reached)]
    frontier = dict(reached)
    offered_seen: set = set()
    complete, stopped_by = True, ""
    softlock_at: dict = {}  # node index -> first depth with a state that offers nothing
    error_at: dict = {}  # (node index, choice number) -> first depth where no outcome can be drawn
    while frontier:
        nxt: dict = {}
        for i, states in frontier.items():
            node = nodes[s.node_ids[i]]
            if node.ending is not None:
                continue
            conds, any_offered = s.choice_conds[i]
            for choice, c in zip(node.choices, conds):
                if (node.id, choice.key) not in offered_seen and D.restrict(states, c, C):
                    offered_seen.add((node.id, choice.key))
                if choice.outcomes and (i, choice) not in error_at and D.restrict(states, s.undrawable[id(choice)], C):
                    error_at[(i, choice)] = len(layers) - 1
            if i not in softlock_at and D.restrict(states, C.negate(any_offered), C):
                softlock_at[i] = len(layers) - 1
            for edge in s.edges[i]:
                s.successors(edge, states, nxt)
        frontier = {}
        for j, states in nxt.items():
            old = reached.get(j, 0)
            new = D.minus(states, old)
            if new:
                reached[j] = D.union(old, new)
                frontier[j] = new
        if frontier:
            layers.append(frontier)
        if frontier and len(D) > max_nodes:
            complete, stopped_by = False, "memory"
            break
        if frontier and sum(D.count(r) for r in reached.values()) > max_states:
            complete, stopped_by = False, "max-states"
            break

    incoming = incoming_edges(s)

    def path_to(j: int, states: int, depth: int) -> tuple:
        """A shortest path to a state of `states` first reached at `depth` at node index j."""
        return read_back(s, incoming, layers[:depth + 1], j, D.meet(states, layers[depth][j]))

    def first_depth(j: int, states: int) -> int:
        return next(d for d, layer in enumerate(layers) if j in layer and D.meet(states, layer[j]))

    findings: list = []
    for i, depth in sorted(softlock_at.items(), key=lambda kv: kv[1]):
        node = nodes[s.node_ids[i]]
        bad = D.restrict(layers[depth][i], C.negate(s.choice_conds[i][1]), C)
        findings.append(Finding("soft-lock", "error", f"no choice is offered at {node.id!r} in a reachable "
                                "state, and it is not an ending", node.where, path_to(i, bad, depth)))
    for (i, choice), depth in error_at.items():
        bad = D.restrict(layers[depth][i], s.undrawable[id(choice)], C)
        findings.append(Finding("runtime-error", "error", "every outcome of this random choice is ruled out by its "
                                "condition", choice.where, path_to(i, bad, depth) + (PathStep(choice.key),)))
    findings.extend(_invariants(s, reached, path_to, first_depth))

    coverage = Coverage()
    coverage.choices = offered_seen
    coverage.nodes = {s.node_ids[j] for j in reached}
    endings_at = {}
    for j, states in reached.items():
        node = nodes[s.node_ids[j]]
        if node.ending is not None:
            coverage.endings[node.ending.id] += D.count(states)
            endings_at[node.ending.id] = (j, first_depth(j, states))
    report = Report("exhaustive", coverage, findings, 0.0, states=sum(D.count(r) for r in reached.values()),
                    complete=complete, max_states=max_states, start=given, method="symbolic",
                    depth=len(layers) - 1, diagram_nodes=len(D), stopped_by=stopped_by)
    report.ending_paths = {eid: path_to(j, layers[d][j], d)
                           for eid, (j, d) in sorted(endings_at.items(), key=lambda kv: kv[1][1])}
    if watch:
        report.conditions = _watched(s, reached)
    if complete:
        _find_traps(s, reached, path_to, first_depth, findings)
        if given is None:  # from a preset state, most of the story is behind the player
            findings.extend(unreachable_findings(story, coverage))
    report.seconds = time.perf_counter() - started
    return report


def incoming_edges(s: SymbolicSearch) -> dict:
    """Node index -> the (edge, part, exit) that lead into it."""
    incoming: dict = {j: [] for j in range(len(s.node_ids))}
    for i in range(len(s.node_ids)):
        for edge, part, exit, j in s.exits(i):
            incoming[j].append((edge, part, exit))
    return incoming


def read_back(s: SymbolicSearch, incoming: dict, layers: list, j: int, hit) -> tuple:
    """The steps to a state of `hit` (at node index j, level len(layers) - 1), walking the levels back.

    layers[d] maps a node index to the states of level d there; each state of a level
    came from one of the level before.
    """
    D = s.D
    here, steps = D.point(D.pick(hit)), []
    for d in range(len(layers) - 1, 0, -1):
        earlier = layers[d - 1]
        for edge, part, exit in incoming[j]:
            p = s.index[edge.node]
            if p not in earlier:
                continue
            pre = D.meet(s.predecessors(edge, part, exit, here), earlier[p])
            if pre:
                steps.append(edge.step)
                here, j = D.point(D.pick(pre)), p
                break
        else:  # cannot happen
            raise AssertionError(f"no way back from level {d}")
    return tuple(reversed(steps))


def _broken(s: SymbolicSearch, k: int, table: tuple) -> set:
    """The values of variable k from which `table` breaks an invariant (runtime's invariants.broken)."""
    kind = s.vars.vars[k][1]
    cw = s.vars.clock_size
    bad = set()
    if kind not in ("player", "character"):
        return bad
    for v, w in enumerate(table):
        c0, c1 = v % cw - 2, w % cw - 2
        if 0 <= c1 < c0:
            bad.add(v)
        if kind == "character":
            f0, f1 = v // cw, w // cw
            if (f0 == _DEAD and f1 != _DEAD) or (f0 == _TURNED and f1 not in (_TURNED, _DEAD)):
                bad.add(v)
    return bad


def broken_steps(s: SymbolicSearch, i: int, states: int):
    """(edge, the states of `states` from which it breaks an invariant), for each such edge out of node i."""
    D, C = s.D, s.C
    for edge in s.edges[i]:
        for part, (_, exits) in enumerate(edge.parts):
            for exit, (_, _, j, tables) in enumerate(exits):
                bad = 0
                for k, table in tables.items():
                    values = _broken(s, k, table)
                    if values:
                        bad = C.either(bad, C.values(k, values))
                if not bad:
                    continue
                pre = D.restrict(D.meet(s.predecessors(edge, part, exit, D.everything()), states), bad, C)
                if pre:
                    yield edge, pre


def invariant_finding(edge: _Edge, path: tuple) -> Finding:
    return Finding("invariant", "error", "a step breaks an invariant of the state (a fate or an infection clock "
                   "went back)", edge.choice.where, path + (edge.step,))


def _invariants(s: SymbolicSearch, reached: dict, path_to, first_depth) -> list:
    """A finding for each step that breaks an invariant from a reachable state."""
    return [invariant_finding(edge, path_to(i, pre, first_depth(i, pre)))
            for i, states in reached.items() for edge, pre in broken_steps(s, i, states)]


def note_watched(s: SymbolicSearch, i: int, states: int, out: dict) -> None:
    """Add to out (condition -> (seen true, seen false)) what the conditions tested at node i give on `states`."""
    D, C = s.D, s.C

    def note(condition, states) -> None:
        c = s.cond(condition)
        seen = out.get(condition, (False, False))
        out[condition] = (seen[0] or bool(D.restrict(states, c, C)), seen[1] or bool(D.restrict(states, C.negate(c), C)))

    node = s.story.nodes[s.node_ids[i]]
    for trigger in s.story.triggers:
        note(trigger.condition, states)
    for choice in node.choices if node.ending is None else ():
        if choice.condition is not None:
            note(choice.condition, states)
        offered = D.restrict(states, s.cond(choice.condition), C)
        for outcome in choice.outcomes if offered else ():
            if outcome.condition is not None:
                note(outcome.condition, offered)


def _watched(s: SymbolicSearch, reached: dict) -> dict:
    """Condition -> (true in some reached state where it is tested, false in some)."""
    out: dict = {}
    for i, states in reached.items():
        note_watched(s, i, states, out)
    return out


def _find_traps(s: SymbolicSearch, reached: dict, path_to, first_depth, findings: list, settled=()) -> None:
    """States from which no ending can be reached: a backward fixpoint of preimages from the endings.

    `settled`: nodes already known to reach an ending from each of their states, left out.
    """
    D, C = s.D, s.C
    nodes = s.story.nodes
    good = {j: states for j, states in reached.items() if nodes[s.node_ids[j]].ending is not None or j in settled}
    order = sorted((j for j in reached if j not in good), key=lambda j: -first_depth(j, reached[j]))
    changed = True
    while changed:
        changed = False
        for i in order:
            acc = good.get(i, 0)
            for edge, part, exit, j in s.exits(i):
                target = good.get(j)
                if target:
                    acc = D.union(acc, D.meet(s.predecessors(edge, part, exit, target), reached[i]))
            if D.minus(acc, good.get(i, 0)):  # it only grows
                good[i] = acc
                changed = True
    trapped = {}
    for i in order:
        stuck = D.restrict(reached[i], s.choice_conds[i][1], C)  # soft-locks are reported on their own
        bad = D.minus(stuck, good.get(i, 0))
        if bad:
            trapped[i] = bad
    covered: set = set()
    for i in sorted(trapped, key=lambda i: first_depth(i, trapped[i])):
        if i in covered:
            continue
        region, names = [i], []
        covered.add(i)
        for member in region:
            if len(names) < 6:
                names.append(s.node_ids[member])
            for _, _, _, j in s.exits(member):
                if j in trapped and j not in covered:
                    covered.add(j)
                    region.append(j)
        node = nodes[s.node_ids[i]]
        depth = first_depth(i, trapped[i])
        findings.append(Finding("trap", "error", f"from {node.id!r} no ending can be reached: every path loops "
                                f"through {', '.join(repr(n) for n in names)}", node.where,
                                path_to(i, trapped[i], depth)))
