"""Aiming a search at a node: distances in the node graph, and the items and flags every way in needs."""

from __future__ import annotations

import heapq
from typing import Optional

from .model import Story

FAR = 1 << 30  # the distance of a state that cannot reach the target


def needs(tree) -> frozenset:
    """The items and flags that every state making a condition true holds: {("has", item), ("flag", flag)}."""
    op = tree[0]
    if op in ("has", "flag"):
        return frozenset({(op, tree[1])})
    if op == "and":
        return frozenset().union(*map(needs, tree[1:]))
    if op == "or":
        return frozenset.intersection(*map(needs, tree[1:]))
    return frozenset()


def gives(effects) -> set:
    """The items gained and flags set by these effects, as needs() names them."""
    return {("has", e.target) if e.op == "gain" else ("flag", e.target) for e in effects if e.op in ("gain", "set")}


class Ways:
    """What conditions on the ways into each node need, and where effects give items and flags; made once per story searched."""

    def __init__(self, story: Story, preds: dict):
        self.into: dict = {}  # node -> [what each way in needs, less what it gives itself]
        self.given: dict = {}  # fact -> [(the nodes a step giving it leaves from, the node it arrives at)]

        def way(target, wanted, given) -> None:
            self.into.setdefault(target, []).append(wanted - given)

        def give(facts, sources, after) -> None:
            for fact in facts:
                self.given.setdefault(fact, []).append((sources, after))

        for node in story.nodes.values():
            give(gives(node.effects), preds[node.id], node.id)  # given on the way in, from wherever leads there
            for choice in node.choices:
                wanted = needs(choice.condition.tree) if choice.condition is not None else frozenset()
                given = gives(choice.effects)
                if choice.goto is not None:
                    way(choice.goto, wanted, given)
                    give(given, (node.id,), choice.goto)
                for outcome in choice.outcomes:
                    more = needs(outcome.condition.tree) if outcome.condition is not None else frozenset()
                    also = given | gives(outcome.effects)
                    way(outcome.goto, wanted | more, also)
                    give(also, (node.id,), outcome.goto)
        for trigger in story.triggers:
            given = gives(trigger.effects)
            way(trigger.goto, needs(trigger.condition.tree), given)
            give(given, preds[trigger.goto], trigger.goto)
        if story.infection.on_player_turned is not None:
            way(story.infection.on_player_turned, frozenset(), frozenset())


def landmarks(story: Story, target: str, preds: dict, dist: dict, ways: Optional[Ways] = None) -> list:
    """[(bit, {node: distance to the target by way of where that bit is first given})] for the target's landmarks.

    A landmark is an item or flag needed by the condition of every way into the target (a
    choice, an outcome, a trigger) that the way does not give itself. Items are gained and
    flags set by effects only, so a state without one must take a step that gives it: the
    distance from a node is the fewest gotos to the target by way of such a step. A state
    from whose node no such step is ahead cannot reach the target.
    """
    ways = ways if ways is not None else Ways(story, preds)
    into = ways.into.get(target)
    needed = frozenset.intersection(*into) if into else frozenset()
    if not needed:
        return []
    # fact -> {node: 1 + distance to the target from where a step from that node that gives it arrives}
    givers: dict = {fact: {} for fact in needed}
    for fact in needed:
        costs = givers[fact]
        for sources, after in ways.given.get(fact, ()):
            if after in dist:
                cost = 1 + dist[after]
                for source in sources:
                    if cost < costs.get(source, FAR):
                        costs[source] = cost
    layout = story.layout
    marks = []
    for (kind, name), sources in sorted(givers.items()):
        bit = layout.item_bit.get(name) if kind == "has" else layout.flag_bit.get(name)
        if bit is None:
            continue
        # Fewest gotos to the target by way of a step that gives the fact: breadth first back
        # from the steps' sources, each starting at its own cost.
        detour: dict = {}
        heap = [(cost, node) for node, cost in sources.items()]
        heapq.heapify(heap)
        while heap:
            cost, node = heapq.heappop(heap)
            if node in detour:
                continue
            detour[node] = cost
            for p in preds[node]:
                if p not in detour:
                    heapq.heappush(heap, (cost + 1, p))
        marks.append((bit, detour))
    return marks


def predecessors(story: Story) -> dict:
    """Node id -> the nodes with a way to it (a trigger or turning can follow any choice)."""
    preds: dict = {n: set() for n in story.nodes}
    movers = {n for n, node in story.nodes.items() if node.ending is None}
    for nid in movers:
        for choice in story.nodes[nid].choices:
            for target in choice.targets:
                preds[target].add(nid)
    jumps = [t.goto for t in story.triggers]
    if story.infection.on_player_turned is not None:
        jumps.append(story.infection.on_player_turned)
    for jump in jumps:
        preds[jump] |= movers
    return preds


def distances(preds: dict, target: str) -> dict:
    """Node id -> fewest gotos from it to `target`; absent when there is no way."""
    dist = {target: 0}
    frontier = [target]
    d = 0
    while frontier:
        d += 1
        nxt = []
        for n in frontier:
            for p in preds[n]:
                if p not in dist:
                    dist[p] = d
                    nxt.append(p)
        frontier = nxt
    return dist


def guide(story: Story, target: str, preds: Optional[dict] = None, ways: Optional[Ways] = None) -> tuple:
    """(dist, ahead) for a search aimed at `target`.

    `dist` maps each node with a way to the target to its fewest gotos there; `ahead(node,
    bits)` is a state's distance to the target, taking in the landmarks of the target and of
    the nodes it can be reached only through: a state without one is as far as the way
    round by a step that gives it, and FAR (it cannot get there) when no such step is ahead.
    """
    preds = preds if preds is not None else predecessors(story)
    ways = ways if ways is not None else Ways(story, preds)
    dist = distances(preds, target)
    marks = landmarks(story, target, preds, dist, ways)
    # A node whose only way in is from one node is reached through it: that node's landmarks
    # are needed too (on the way to it, then its distance on), and so on back along such a chain.
    node, passed = target, {target}
    while len(preds[node]) == 1:
        (node,) = preds[node]
        if node in passed:
            break
        passed.add(node)
        on = dist[node]
        marks += [(bit, {n: d + on for n, d in detour.items()})
                  for bit, detour in landmarks(story, node, preds, distances(preds, node), ways)]
    if not marks:
        return dist, lambda node, bits: dist.get(node, FAR)

    def ahead(node, bits) -> int:
        far = dist.get(node, FAR)
        for bit, detour in marks:
            if not bits & bit:
                far = max(far, detour.get(node, FAR))
        return far

    return dist, ahead
