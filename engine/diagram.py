"""Decision diagrams: sets of states as shared graphs, so a search can handle billions of states at once.

A `Diagram` holds sets of assignments to a fixed list of variables, each with a small
domain (0 .. size-1). It is quasi-reduced: every path from a set's root visits every
level in order, and a node keeps only the values that lead somewhere, as sorted
(value, child) pairs. Nodes are hash-consed, so equal sets are the same int, and a set
of independent choices costs the sum of its parts, not their product.

A `Conditions` store holds the story's conditions the other way round: a condition reads
a few variables, so its diagram skips the levels it does not read, with a child for every
value of those it does.

Changes of state are `maps`: for some levels, a table value -> new value (the effects of
a step, the tick of the infection clocks, the projection that forgets what no later
condition reads). Every effect of the story changes one variable from that variable
alone, so a whole step is one map per level, and `image` and `preimage` apply it to a
whole set in one pass.
"""

from __future__ import annotations

CACHE_LIMIT = 2_000_000  # entries per operation cache; it starts over past it, so memory stays bounded


class Diagram:
    """Hash-consed nodes of sets of assignments; 0 is the empty set, 1 the set of the empty assignment."""

    def __init__(self, sizes):
        self.sizes = tuple(sizes)
        self.depth = len(self.sizes)
        self.level = [self.depth, self.depth]  # node -> its level (terminals below the last)
        self.edges = [(), ()]  # node -> ((value, child), ...) sorted by value
        self._unique: dict = {}
        self._union: dict = {}
        self._meet: dict = {}
        self._minus: dict = {}
        self._restrict: dict = {}
        self._image: dict = {}
        self._pre: dict = {}
        self._maps: dict = {}  # maps -> (id, maps, deepest level with a table)
        self._map_list: list = []

    def __len__(self) -> int:
        """The number of nodes made so far (the diagram's memory)."""
        return len(self.level)

    def node(self, level: int, edges: tuple) -> int:
        if not edges:
            return 0
        key = (level, edges)
        n = self._unique.get(key)
        if n is None:
            n = self._unique[key] = len(self.level)
            self.level.append(level)
            self.edges.append(edges)
        return n

    def point(self, values) -> int:
        """The set of the one assignment `values` (one value per level)."""
        n = 1
        for level in range(self.depth - 1, -1, -1):
            n = self.node(level, ((values[level], n),))
        return n

    def pick(self, n: int) -> tuple:
        """One assignment of the non-empty set `n` (the smallest values first)."""
        out = []
        while n > 1:
            value, n = self.edges[n][0]
            out.append(value)
        return tuple(out)

    def count(self, n: int) -> int:
        """The number of assignments in `n`."""
        memo = {0: 0, 1: 1}
        edges = self.edges

        def go(m: int) -> int:
            found = memo.get(m)
            if found is None:
                found = memo[m] = sum(go(c) for _, c in edges[m])
            return found

        return go(n)

    def everything(self) -> int:
        """Every assignment (the set that a preimage narrows down)."""
        n = 1
        for level in range(self.depth - 1, -1, -1):
            n = self.node(level, tuple((v, n) for v in range(self.sizes[level])))
        return n

    def nodes_in(self, roots) -> int:
        """How many distinct nodes the sets `roots` use together."""
        seen = {0, 1}
        stack = [r for r in roots if r not in seen]
        seen.update(stack)
        edges = self.edges
        while stack:
            for _, c in edges[stack.pop()]:
                if c not in seen:
                    seen.add(c)
                    stack.append(c)
        return len(seen) - 2

    def _tidy(self, cache: dict) -> dict:
        if len(cache) >= CACHE_LIMIT:
            cache.clear()
        return cache

    # -- set operations ----------------------------------------------------------------------

    def union(self, a: int, b: int) -> int:
        if a == 0 or a == b:
            return b
        if b == 0:
            return a
        if a > b:
            a, b = b, a
        cache = self._union
        key = (a, b)
        found = cache.get(key)
        if found is not None:
            return found
        ea, eb = self.edges[a], self.edges[b]
        out = []
        i = j = 0
        while i < len(ea) and j < len(eb):
            va, ca = ea[i]
            vb, cb = eb[j]
            if va == vb:
                out.append((va, self.union(ca, cb)))
                i += 1
                j += 1
            elif va < vb:
                out.append(ea[i])
                i += 1
            else:
                out.append(eb[j])
                j += 1
        out.extend(ea[i:])
        out.extend(eb[j:])
        found = self._tidy(cache)[key] = self.node(self.level[a], tuple(out))
        return found

    def meet(self, a: int, b: int) -> int:
        """The intersection of two sets."""
        if a == 0 or b == 0:
            return 0
        if a == b:
            return a
        if a > b:
            a, b = b, a
        cache = self._meet
        key = (a, b)
        found = cache.get(key)
        if found is not None:
            return found
        eb = dict(self.edges[b])
        out = []
        for v, ca in self.edges[a]:
            cb = eb.get(v)
            if cb is not None:
                c = self.meet(ca, cb)
                if c:
                    out.append((v, c))
        found = self._tidy(cache)[key] = self.node(self.level[a], tuple(out))
        return found

    def minus(self, a: int, b: int) -> int:
        """The assignments of `a` not in `b`."""
        if a == 0 or a == b:
            return 0
        if b == 0:
            return a
        cache = self._minus
        key = (a, b)
        found = cache.get(key)
        if found is not None:
            return found
        eb = dict(self.edges[b])
        out = []
        for v, ca in self.edges[a]:
            cb = eb.get(v)
            if cb is None:
                out.append((v, ca))
            else:
                c = self.minus(ca, cb)
                if c:
                    out.append((v, c))
        found = self._tidy(cache)[key] = self.node(self.level[a], tuple(out))
        return found

    def restrict(self, a: int, cond: int, conds: "Conditions") -> int:
        """The assignments of `a` for which the condition `cond` (of `conds`) holds."""
        if cond == 1 or a == 0:
            return a
        if cond == 0:
            return 0
        cache = self._restrict
        key = (a, cond)
        found = cache.get(key)
        if found is not None:
            return found
        level = self.level[a]
        if conds.level[cond] == level:
            kids = conds.kids[cond]
            out = tuple((v, r) for v, c in self.edges[a] if (r := self.restrict(c, kids[v], conds)))
        else:
            out = tuple((v, r) for v, c in self.edges[a] if (r := self.restrict(c, cond, conds)))
        found = self._tidy(cache)[key] = self.node(level, out)
        return found

    # -- changes of state --------------------------------------------------------------------

    def maps(self, tables) -> int:
        """An id for `tables` (per level: None, or a tuple value -> new value), to pass to image and preimage."""
        tables = tuple(None if t is None else tuple(t) for t in tables)
        found = self._maps.get(tables)
        if found is None:
            deepest = max((level for level, t in enumerate(tables) if t is not None), default=-1)
            found = self._maps[tables] = len(self._map_list)
            self._map_list.append((tables, deepest))
        return found

    def image(self, a: int, maps: int) -> int:
        """{the map applied to x : x in a}."""
        return self._walk(a, maps, self._image, self._image_level)

    def preimage(self, a: int, maps: int) -> int:
        """{x : the map applied to x is in a}."""
        return self._walk(a, maps, self._pre, self._pre_level)

    def _image_level(self, table: tuple, edges: tuple, below) -> tuple:
        groups: dict = {}
        for v, c in edges:
            w = table[v]
            c = below(c)
            groups[w] = self.union(groups[w], c) if w in groups else c
        return tuple(sorted(groups.items()))

    def _pre_level(self, table: tuple, edges: tuple, below) -> tuple:
        kids = dict(edges)
        return tuple((v, below(kids[w])) for v, w in enumerate(table) if w in kids)

    def _walk(self, a: int, maps: int, cache: dict, at_table) -> int:
        """`a` rebuilt level by level, `at_table(table, edges, below)` making the edges where `maps` has a table."""
        tables, deepest = self._map_list[maps]
        levels, edges = self.level, self.edges
        self._tidy(cache)

        def below(n: int) -> int:
            level = levels[n]
            if level > deepest:
                return n  # nothing changes under the deepest table
            key = (maps, n)
            found = cache.get(key)
            if found is None:
                table = tables[level]
                if table is None:
                    out = tuple((v, below(c)) for v, c in edges[n])
                else:
                    out = at_table(table, edges[n], below)
                found = cache[key] = self.node(level, out)
            return found

        return below(a)


class Conditions:
    """Reduced diagrams of conditions over the same levels: a node skips the levels its condition does not read.

    0 is false and 1 is true. A node has a child for every value of its level.
    """

    def __init__(self, sizes):
        self.sizes = tuple(sizes)
        depth = len(self.sizes)
        self.level = [depth, depth]
        self.kids = [(), ()]
        self._unique: dict = {}
        self._apply: dict = {}

    def node(self, level: int, kids: tuple) -> int:
        first = kids[0]
        if all(k == first for k in kids):
            return first
        key = (level, kids)
        n = self._unique.get(key)
        if n is None:
            n = self._unique[key] = len(self.level)
            self.level.append(level)
            self.kids.append(kids)
        return n

    def values(self, level: int, allowed) -> int:
        """The condition `the variable at level is one of allowed`."""
        return self.node(level, tuple(1 if v in allowed else 0 for v in range(self.sizes[level])))

    def negate(self, a: int) -> int:
        if a < 2:
            return 1 - a
        key = ("not", a)
        found = self._apply.get(key)
        if found is None:
            found = self._apply[key] = self.node(self.level[a], tuple(self.negate(k) for k in self.kids[a]))
        return found

    def both(self, a: int, b: int) -> int:
        if a == 0 or b == 0:
            return 0
        if a == 1:
            return b
        if b == 1 or a == b:
            return a
        return self._combine("and", a, b)

    def either(self, a: int, b: int) -> int:
        if a == 1 or b == 1:
            return 1
        if a == 0:
            return b
        if b == 0 or a == b:
            return a
        return self._combine("or", a, b)

    def _combine(self, op: str, a: int, b: int) -> int:
        if a > b:
            a, b = b, a
        key = (op, a, b)
        found = self._apply.get(key)
        if found is not None:
            return found
        la, lb = self.level[a], self.level[b]
        level = min(la, lb)
        size = self.sizes[level]
        ka = self.kids[a] if la == level else (a,) * size
        kb = self.kids[b] if lb == level else (b,) * size
        fn = self.both if op == "and" else self.either
        found = self._apply[key] = self.node(level, tuple(fn(x, y) for x, y in zip(ka, kb)))
        return found
