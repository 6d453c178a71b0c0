"""Values no later condition can tell apart: per node, classes of each counter's values.

Two states at the same node that differ only in one counter behave alike from there on
when every condition that can still be evaluated gives the same answer for both values,
and every step keeps them alike. That is a bisimulation, and each counter can be
minimised on its own: no effect or condition reads two counters at once. (Characters'
fates and clocks could be minimised the same way; measured on the campaign, it merged
almost nothing and slowed the search, so they are left to the liveness.)

The explorer replaces a value by the smallest of its class, so `noise` 4 and 5 are one
state where only `noise >= 7` is ever asked again and no step adds more than 2 before a
`set`.
"""

from __future__ import annotations

from . import effects as effect_code
from .conditions import Names, compile_tree
from .model import Story
from .state import GameState

WORK_BUDGET = 400_000  # value-edge pairs: a few tenths of a second of preparation at most


def value_classes(story: Story, live: dict) -> list:
    """Per node (in story order): ((mask, {value bits: representative bits}), ...) for the counters that merge.

    `live` maps a node id to the names a condition may still read from there (the
    explorer's liveness); a part not live at a node is left to the liveness, which drops it.
    """
    layout = story.layout
    names = Names.from_story(story)
    node_ids = list(story.nodes)
    parts = []  # (name, mask, values as bits)
    for i, c in enumerate(story.counters):
        shift, mask, low, high = layout.counter_fields[i]
        parts.append((c.id, mask << shift, [v << shift for v in range(high - low + 1)]))
    # The work is about (nodes where it is live) x (its values) x (edges) per part; the
    # cheapest parts first, until the budget is spent, so a huge story costs bounded time.
    redirects = 1 + len(story.triggers) + (story.infection.on_player_turned is not None)
    fan = {n: 1 + redirects * sum(1 if c.goto is not None else len(c.outcomes) for c in node.choices)
           for n, node in story.nodes.items()}
    costed = sorted((sum(fan[n] for n in story.nodes if name in live[n]) * len(values), k)
                    for k, (name, _, values) in enumerate(parts))
    spent = 0
    chosen = []
    for cost, k in costed:
        if cost and spent + cost <= WORK_BUDGET:
            spent += cost
            chosen.append(parts[k])
    if not chosen:
        return [() for _ in node_ids]
    needed = {n for name, _, _ in chosen for n in story.nodes if name in live[n]}
    edges = _edges(story, needed)
    atoms = _atoms(story, needed)
    order = _reverse_topological(needed, edges)
    out: list = [[] for _ in node_ids]
    index = {n: i for i, n in enumerate(node_ids)}
    for name, mask, values in chosen:
        tables = _classes(story, layout, names, name, mask, values, live, edges, atoms, order)
        for node_id, table in tables.items():
            out[index[node_id]].append((mask, table))
    return [tuple(x) for x in out]


def _edges(story: Story, needed: set) -> dict:
    """Node id -> [(target, the effects of the step there, in order)], redirects included.

    The tick is left out: it moves infection clocks only, and the classes are of counters.
    """
    nodes = story.nodes
    turn_at = story.infection.on_player_turned
    out: dict = {}
    for node_id in needed:
        node = nodes[node_id]
        rows = []
        if node.ending is None:
            for choice in node.choices:
                owners = [(choice, choice.goto)] if choice.goto is not None else [(o, o.goto) for o in choice.outcomes]
                for owner, target in owners:
                    step = choice.effects + (owner.effects if owner is not choice else ()) + nodes[target].effects
                    rows.append((target, step))
                    if nodes[target].ending is not None:
                        continue
                    if turn_at is not None:
                        rows.append((turn_at, step + nodes[turn_at].effects))
                    for trigger in story.triggers:
                        rows.append((trigger.goto, step + trigger.effects + nodes[trigger.goto].effects))
        out[node.id] = rows
    return out


def _leaves(tree: tuple):
    op = tree[0]
    if op in ("and", "or"):
        for sub in tree[1:]:
            yield from _leaves(sub)
    elif op == "not":
        yield from _leaves(tree[1])
    elif op in ("with", "fate", "stage", "cmp"):
        yield tree


def _atoms(story: Story, needed: set) -> dict:
    """Node id -> the leaves of every condition evaluated there (triggers' everywhere), by the name they read."""
    everywhere = [leaf for t in story.triggers for leaf in _leaves(t.condition.tree)]
    out: dict = {}
    for node_id in needed:
        node = story.nodes[node_id]
        found: dict = {}
        if node.ending is None:
            leaves = list(everywhere)
            for choice in node.choices:
                if choice.condition is not None:
                    leaves.extend(_leaves(choice.condition.tree))
                for outcome in choice.outcomes:
                    if outcome.condition is not None:
                        leaves.extend(_leaves(outcome.condition.tree))
            for leaf in leaves:
                found.setdefault(leaf[1], set()).add(leaf)
        out[node.id] = found
    return out


def _reverse_topological(needed: set, edges: dict) -> list:
    """The needed node ids, successors before predecessors where the graph allows (classes settle fast)."""
    seen: set = set()
    order: list = []
    for root in sorted(needed):
        if root in seen:
            continue
        seen.add(root)
        stack = [(root, iter(edges[root]))]
        while stack:
            node, successors = stack[-1]
            for target, _ in successors:
                if target not in seen and target in needed:
                    seen.add(target)
                    stack.append((target, iter(edges[target])))
                    break
            else:
                stack.pop()
                order.append(node)
    return order


def _classes(story, layout, names, name, mask, values, live, edges, atoms, order) -> dict:
    """Node id -> {value: representative} for the nodes where `name` is live and some values merge."""
    rest = layout.start_bits & ~mask
    position = {v: i for i, v in enumerate(values)}
    live_at = {n for n in story.nodes if name in live[n]}
    if not live_at:
        return {}
    count = len(values)
    signature_of_atoms: dict = {}
    for n in live_at:
        leaves = sorted(atoms[n].get(name, ()), key=repr)
        tests = [compile_tree(leaf, names) for leaf in leaves]
        signature_of_atoms[n] = [tuple(t(GameState(n, rest | v, 0, 0, layout)) for t in tests) for v in values]
    moves: dict = {}  # node -> [(target, (value index after the step, by value index before))], no repeats
    preds: dict = {n: set() for n in live_at}
    identity = tuple(range(count))
    tables: dict = {(): identity}  # the effects on this counter -> their table
    for n in live_at:
        rows = set()
        for target, step in edges[n]:
            if target in live_at:
                mine = tuple(e for e in step if e.target == name)  # no other effect changes this counter
                table = tables.get(mine)
                if table is None:
                    fns = [effect_code._compile(story, layout, e) for e in mine]
                    after = []
                    for v in values:
                        b = rest | v
                        for fn in fns:
                            b = fn(b)
                        after.append(position.get(b & mask, 0))
                    table = tables[mine] = tuple(after)
                rows.add((target, table))
                preds[target].add(n)
        moves[n] = sorted(rows)
    cls = {n: [0] * count for n in live_at}
    sizes = {n: 1 for n in live_at}
    ordered = [n for n in order if n in live_at]
    dirty = set(ordered)
    while dirty:  # refine until no node's classes split further; a split re-examines its predecessors
        for n in ordered:
            if n not in dirty:
                continue
            dirty.discard(n)
            own, marks, rows = cls[n], signature_of_atoms[n], moves[n]
            seen: dict = {}
            new = []
            for i in range(count):
                key = (own[i], marks[i], tuple([cls[t][after[i]] for t, after in rows]))
                new.append(seen.setdefault(key, len(seen)))
            cls[n] = new
            if len(seen) != sizes[n]:
                sizes[n] = len(seen)
                dirty |= preds[n]
    out: dict = {}
    for n in live_at:
        if sizes[n] == count:
            continue
        first: dict = {}
        table = {}
        for i, c in enumerate(cls[n]):
            table[values[i]] = first.setdefault(c, values[i])
        out[n] = table
    return out
