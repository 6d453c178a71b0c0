"""The exhaustive search node by node: every reachable state, one sweep of the node graph, on sets.

The breadth-first searches (explore.explore_exhaustive, symbolic.explore_symbolic) meet
the campaign's states level by level, and its billions of states across some eighty
levels do not fit. But the story's node graph has almost no cycles, so when the nodes are
taken in topological order every state of a node is known before the node is left: one
image per choice takes the whole set on (the search called saturation in model checking).
Cycles (strongly connected groups of nodes) are iterated until nothing new arrives. The
sets are decision diagrams (symbolic.SymbolicSearch), in CUDD when it is there.

What breadth first gave for free, the depth of a state, is found afterwards and only for
what is reported. For a target (an ending, a problem) at node j, the distances in the
graph of the choices that some reachable state takes give a lower bound L on the length
of any path to it; a breadth-first search from the start, bounded by L, that keeps a state
only at a node whose distance to j still fits, either meets the target (at the shortest
length) or rules L out, and the bound grows. The path is read back level by level.
"""

from __future__ import annotations

import time
from collections import deque

from . import runtime
from .explore import Coverage, Finding, PathStep, Report, unreachable_findings
from .model import Story
from .symbolic import (MAX_NODES, SymbolicSearch, _find_traps, broken_steps, incoming_edges, invariant_finding,
                       note_watched, read_back)

MAX_DETOUR = 100_000  # choices beyond the graph distance: a reachable state is always found far sooner


def _components(successors: list) -> list:
    """Strongly connected components of a graph (node -> set of nodes), in topological order."""
    index: dict = {}
    low: dict = {}
    on_stack: set = set()
    stack: list = []
    out: list = []
    counter = 0
    for root in range(len(successors)):
        if root in index:
            continue
        work = [(root, iter(sorted(successors[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(successors[w]))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    out.append(comp)
    out.reverse()
    return out


def explore_by_node(story: Story, max_states: int | None = None, watch: bool = False, start=None,
                    max_nodes: int | None = None, backend: str = "auto", progress=None,
                    keep_sets: bool = False) -> Report:
    """Every reachable state, node by node in topological order; raises symbolic.Unsupported as it does.

    It stops, incomplete, once it holds more than `max_states` states (None: no bound) or a
    diagram of more than `max_nodes` nodes. `progress(node id, states there, seconds)` is
    called after each node.

    Once the sweep has left a node outside any cycle, no state arrives there again, so
    what is asked of its set (its count, the steps that break an invariant, the watched
    conditions) is asked then and the set is let go: the diagrams hold only the nodes still
    ahead. The sets of endings and cycles are kept for the paths and the trap analysis. Only
    a story with a soft-lock, an impossible draw or a cycle that can hold a state forever
    needs every set afterwards; for it the sweep is made again with `keep_sets`.
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
    start_set = s.start_set(first)
    n = len(s.node_ids)
    graph = [set() for _ in range(n)]
    for i in range(n):
        graph[i].update(j for _, _, _, j in s.exits(i))
    order = _components(graph)
    rank = {i: r for r, comp in enumerate(order) for i in comp}
    reached = {begin: start_set}  # node index -> its states (let go of behind the sweep, see above)
    counts: dict = {}  # node index -> how many states it has, once the sweep has left it
    broken: list = []  # (node index, edge, the states from which it breaks an invariant)
    watched: dict = {}
    dropped: set = set()
    taken: list = [set() for _ in range(n)]  # node -> nodes that some reachable state goes to
    offered_seen: set = set()
    softlocks: dict = {}  # node index -> its states that offer nothing
    errors: dict = {}  # (node index, choice) -> the states where no outcome can be drawn
    complete, stopped_by = True, ""
    total = 0

    def leave(i: int, drop: bool) -> None:
        """What is asked of node i's set, asked as the sweep leaves it; then, if `drop`, let go of the set."""
        states = reached[i]
        counts[i] = D.count(states)
        broken.extend((i, edge, pre) for edge, pre in broken_steps(s, i, states))
        if watch:
            note_watched(s, i, states, watched)
        if drop and nodes[s.node_ids[i]].ending is None:
            del reached[i]
            dropped.add(i)

    for comp in order:
        if not complete:
            break
        members = set(comp)
        done: dict = {}  # node index -> the part of its set already sent on
        todo = [i for i in comp if i in reached]
        while todo:
            i = todo.pop()
            states = reached[i]
            new = D.minus(states, done[i]) if i in done else states
            done[i] = states
            node = nodes[s.node_ids[i]]
            if not new:
                continue
            if node.ending is None:
                conds, any_offered = s.choice_conds[i]
                for choice, c in zip(node.choices, conds):
                    if (node.id, choice.key) not in offered_seen and D.restrict(new, c, C):
                        offered_seen.add((node.id, choice.key))
                    if choice.outcomes:
                        bad = D.restrict(new, s.undrawable[id(choice)], C)
                        if bad:
                            errors[(i, choice)] = D.union(errors.get((i, choice), 0), bad)
                stuck = D.restrict(new, C.negate(any_offered), C)
                if stuck:
                    softlocks[i] = D.union(softlocks.get(i, 0), stuck)
                for edge in s.edges[i]:
                    out: dict = {}
                    s.successors(edge, new, out)
                    for j, found in out.items():
                        taken[i].add(j)
                        old = reached.get(j, 0)
                        grown = D.union(old, found)
                        if D.minus(grown, old):
                            reached[j] = grown
                            if j in members and j not in todo:
                                todo.append(j)
            if progress is not None:
                progress(node.id, D.count(reached[i]), time.perf_counter() - started)
            if len(D) > max_nodes:
                complete, stopped_by = False, "memory"
                break
        for i in comp:
            if i in reached:
                leave(i, not keep_sets and len(comp) == 1 and i not in graph[i])
        total += sum(counts[i] for i in comp if i in counts)
        if max_states is not None and total > max_states and comp is not order[-1]:
            complete, stopped_by = False, "max-states"
    for i in sorted(set(reached) - set(counts), key=rank.get):  # reached, but the search stopped before them
        leave(i, False)
    incoming = incoming_edges(s)

    back: list = [set() for _ in range(n)]
    for i in range(n):
        for j in taken[i]:
            back[j].add(i)
    # Distances in the graph of the moves that reachable states make: lower bounds on path lengths.
    to_node: dict = {}  # node index -> {node index: graph distance to it over the moves taken}

    def distances_to(j: int) -> dict:
        found = to_node.get(j)
        if found is None:
            found = to_node[j] = {j: 0}
            queue = deque([j])
            while queue:
                q = queue.popleft()
                for p in sorted(back[q]):
                    if p not in found:
                        found[p] = found[q] + 1
                        queue.append(p)
        return found

    def shortest(j: int, target) -> tuple:
        """A shortest path from the start to a state of `target` (reachable states at node index j).

        Breadth first from the start, as the other searches, but with a bound B on the
        length: a state k choices out is kept only at a node whose graph distance to j is
        at most B - k. A shortest path keeps to that all along, so once B is at least its
        length, the first level that meets the target gives it. B starts at the graph
        distance and grows by doubling slack, so a long detour costs a few rounds.
        """
        if j == begin and D.meet(target, start_set):
            return ()
        near = distances_to(j)
        slack = 0
        while slack <= MAX_DETOUR:
            bound = near[begin] + slack
            layers = [{begin: start_set}]
            seen = {begin: start_set}
            for k in range(1, bound + 1):
                layer: dict = {}
                for i, states in layers[-1].items():
                    for edge in s.edges[i]:
                        out: dict = {}
                        s.successors(edge, states, out)
                        for q, found in out.items():
                            if near.get(q, bound + 1) > bound - k:
                                continue
                            new = D.minus(found, seen.get(q, 0))
                            if new:
                                layer[q] = D.union(layer.get(q, 0), new)
                for q, new in layer.items():
                    seen[q] = D.union(seen.get(q, 0), new)
                layers.append(layer)
                hit = D.meet(layer[j], target) if j in layer else 0
                if hit:
                    return read_back(s, incoming, layers, j, hit)
                if not layer:
                    break
            slack = 2 * slack + 1
        raise AssertionError(f"no path to a reachable state at {s.node_ids[j]!r}")  # cannot happen

    findings: list = []
    for i, bad in sorted(softlocks.items(), key=lambda kv: rank[kv[0]]):
        node = nodes[s.node_ids[i]]
        findings.append(Finding("soft-lock", "error", f"no choice is offered at {node.id!r} in a reachable "
                                "state, and it is not an ending", node.where, shortest(i, bad)))
    for (i, choice), bad in sorted(errors.items(), key=lambda kv: rank[kv[0][0]]):
        findings.append(Finding("runtime-error", "error", "every outcome of this random choice is ruled out by its "
                                "condition", choice.where, shortest(i, bad) + (PathStep(choice.key),)))

    def path_to(i, states, _depth):
        return shortest(i, states)

    def first_depth(i, _states):
        return rank[i]

    findings.extend(invariant_finding(edge, path_to(i, pre, None)) for i, edge, pre in broken)
    coverage = Coverage()
    coverage.choices = offered_seen
    coverage.nodes = {s.node_ids[j] for j in counts}
    ending_nodes = []
    for j in counts:
        node = nodes[s.node_ids[j]]
        if node.ending is not None:
            coverage.endings[node.ending.id] += counts[j]
            ending_nodes.append(j)
    report = Report("exhaustive", coverage, findings, 0.0, states=sum(counts.values()),
                    complete=complete, max_states=max_states, start=given, method="symbolic",
                    depth=None, diagram_nodes=len(D), stopped_by=stopped_by)
    paths = {nodes[s.node_ids[j]].ending.id: shortest(j, reached[j]) for j in ending_nodes}
    report.ending_paths = dict(sorted(paths.items(), key=lambda kv: (len(kv[1]), kv[0])))
    if watch:
        report.conditions = watched
    if complete:
        settled = _settled(s, order, reached, counts, taken, softlocks, errors)
        if dropped - settled:  # the trap analysis needs their sets: sweep again, keeping them
            return explore_by_node(story, max_states, watch, given, max_nodes, backend, progress, keep_sets=True)
        # A settled node's states all reach an ending, so as a target of the trap analysis
        # (states whose step lands in it) every state will do for its dropped set.
        everything = D.everything()
        _find_traps(s, {**reached, **dict.fromkeys(dropped, everything)}, path_to, first_depth, findings, settled)
        if given is None:
            findings.extend(unreachable_findings(story, coverage))
    report.seconds = time.perf_counter() - started
    return report


def _settled(s: SymbolicSearch, order: list, reached: dict, counts: dict, taken: list, softlocks: dict,
             errors: dict) -> set:
    """Nodes from every state of which an ending can be reached, mostly known without a preimage.

    Outside a cycle, a node's states all offer a choice (no soft-lock) and every outcome
    can be drawn (no runtime error), so each state goes on to some node it was seen going
    to; if every such node is settled or an ending, so is this one. A cycle whose ways out
    are all settled gets a small backward fixpoint of its own. What is left (upstream of a
    soft-lock, an error or a cycle that can hold a state forever) is for the full fixpoint.
    `reached` holds the sets of cycles and endings, `counts` every node reached.
    """
    D = s.D
    nodes = s.story.nodes
    stuck = set(softlocks) | {i for i, _ in errors}

    def done(j: int) -> bool:
        return j in settled or nodes[s.node_ids[j]].ending is not None

    settled: set = set()
    everything = D.everything()
    for comp in reversed(order):
        members = [i for i in comp if i in counts and nodes[s.node_ids[i]].ending is None]
        if not members or any(i in stuck for i in members):
            continue
        inside = set(members)
        if any(not done(j) for i in members for j in taken[i] if j not in inside):
            continue
        if len(comp) == 1 and comp[0] not in taken[comp[0]]:
            settled.add(comp[0])
            continue
        # The states that step out of the cycle into a settled node or an ending are good
        # from the start (a settled node's set, or every state: the same here, as a reached
        # state only steps into reached states); then what steps into good states inside.
        good = {}
        for i in members:
            acc = 0
            for edge, part, exit, j in s.exits(i):
                target = 0 if j in inside else reached.get(j, everything if j in counts else 0) if done(j) else 0
                if target:
                    acc = D.union(acc, D.meet(s.predecessors(edge, part, exit, target), reached[i]))
            good[i] = acc
        changed = True
        while changed and any(D.minus(reached[i], good[i]) for i in members):  # stop once all are good
            changed = False
            for i in members:
                acc = good[i]
                for edge, part, exit, j in s.exits(i):
                    target = good.get(j) if j in inside else 0
                    if target:
                        acc = D.union(acc, D.meet(s.predecessors(edge, part, exit, target), reached[i]))
                if D.minus(acc, good[i]):
                    good[i] = acc
                    changed = True
        if not any(D.minus(reached[i], good[i]) for i in members):
            settled.update(members)
    return settled
