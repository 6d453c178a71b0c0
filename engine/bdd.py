"""Sets of states as binary decision diagrams in CUDD (through the `dd` package), for the symbolic search.

`BinarySets` offers what the symbolic search asks of engine.diagram's `Diagram` and
`Conditions` together, on a compiled library: each variable of the story (domain
0 .. size-1) is a few bits, each with a primed twin beside it, and a step's tables become
one relation that CUDD applies to a whole set in one relational product. The empty set
and the false condition are the int 0 and the true condition is 1, as in engine.diagram,
so the search's `if not states` tests read the same on both.
"""

from __future__ import annotations

try:
    from dd import cudd as _cudd
except ImportError:  # the dd package without its compiled CUDD module (no wheel for this machine)
    _cudd = None


def available() -> bool:
    """True when CUDD can be used here."""
    return _cudd is not None


class _Step:
    """The maps of one step: per variable a table, and their relation, built on first use."""

    __slots__ = ("tables", "relation", "xs", "ys", "to_x", "to_y", "compose")

    def __init__(self, tables: tuple):
        self.tables = tables
        self.relation = None
        self.compose = None  # each bit of a changed variable -> the function of the old bits it becomes


class BinarySets:
    """Sets of assignments to the story's variables, and conditions on them, in one CUDD manager."""

    def __init__(self, sizes):
        self.sizes = tuple(sizes)
        self.depth = len(self.sizes)
        self.bdd = bdd = _cudd.BDD()
        bdd.configure(reordering=False)
        self.x: list = []  # variable -> its bit names, the most significant first
        self.y: list = []  # the primed twins, each declared just after its bit
        for k, n in enumerate(self.sizes):
            width = max(1, (n - 1).bit_length())
            xs = [f"x{k}_{i}" for i in range(width)]
            ys = [f"y{k}_{i}" for i in range(width)]
            for a, b in zip(xs, ys):
                bdd.declare(a, b)
            self.x.append(xs)
            self.y.append(ys)
        self.all_x = [name for xs in self.x for name in xs]
        self.width = len(self.all_x)
        self._true, self._false = bdd.true, bdd.false
        self._cubes: dict = {}
        self._values: dict = {}
        self._relations: dict = {}
        self._steps: dict = {}

    def __len__(self) -> int:
        """The nodes alive in the manager (the diagrams' memory)."""
        return len(self.bdd)

    def _f(self, a):
        return (self._true if a else self._false) if type(a) is int else a

    def _r(self, u):
        if u == self._false:
            return 0
        return 1 if u == self._true else u

    def _cube(self, k: int, v: int, primed: bool = False):
        key = (k, v, primed)
        u = self._cubes.get(key)
        if u is None:
            names = (self.y if primed else self.x)[k]
            top = len(names) - 1
            u = self._cubes[key] = self.bdd.cube({name: bool(v >> (top - i) & 1) for i, name in enumerate(names)})
        return u

    # -- conditions (engine.diagram.Conditions) ----------------------------------------------

    def values(self, k: int, allowed) -> int:
        """The condition that variable k has one of the values `allowed`."""
        key = (k, frozenset(allowed))
        u = self._values.get(key)
        if u is None:
            u = self._false
            for v in sorted(allowed):
                u = u | self._cube(k, v)
            u = self._values[key] = self._r(u)
        return u

    def negate(self, a):
        return self._r(~self._f(a))

    def both(self, a, b):
        return self._r(self._f(a) & self._f(b))

    def either(self, a, b):
        return self._r(self._f(a) | self._f(b))

    # -- sets (engine.diagram.Diagram) -------------------------------------------------------

    def union(self, a, b):
        return b if not a else a if not b else self._r(self._f(a) | self._f(b))

    def meet(self, a, b):
        return 0 if not a or not b else self._r(self._f(a) & self._f(b))

    def minus(self, a, b):
        return a if not a or not b else self._r(self._f(a) & ~self._f(b))

    def restrict(self, a, cond, conds=None):
        """The states of `a` where the condition holds."""
        return self.meet(a, cond)

    def count(self, a) -> int:
        if not a:
            return 0
        return int(round(self.bdd.count(self._f(a), nvars=self.width)))

    def point(self, values):
        u = self._true
        for k, v in enumerate(values):
            u = u & self._cube(k, v)
        return u

    def pick(self, a) -> tuple:
        """One assignment of the non-empty set `a`."""
        bits = self.bdd.pick(self._f(a), care_vars=self.all_x)
        return tuple(sum(int(bits[name]) << (len(xs) - 1 - i) for i, name in enumerate(xs)) for xs in self.x)

    def everything(self):
        """Every assignment (the set that a preimage narrows down)."""
        u = self._true
        for k, n in enumerate(self.sizes):
            if n < 1 << len(self.x[k]):
                u = u & self.values(k, range(n))
        return self._r(u)

    def maps(self, tables) -> _Step:
        """A step: for some variables, a table value -> new value (None or identity: unchanged)."""
        key = tuple((k, tuple(t)) for k, t in enumerate(tables) if t is not None and tuple(t) != tuple(range(len(t))))
        step = self._steps.get(key)
        if step is None:
            step = self._steps[key] = _Step(key)
        return step

    def _relation(self, step: _Step):
        if step.relation is None:
            rel, xs, ys, to_x, to_y = self._true, [], [], {}, {}
            for k, table in step.tables:
                one = self._relations.get((k, table))
                if one is None:
                    one = self._false
                    for v, w in enumerate(table):
                        one = one | (self._cube(k, v) & self._cube(k, w, True))
                    self._relations[(k, table)] = one
                rel = rel & one
                xs.extend(self.x[k])
                ys.extend(self.y[k])
                to_x.update(zip(self.y[k], self.x[k]))
                to_y.update(zip(self.x[k], self.y[k]))
            step.relation, step.xs, step.ys, step.to_x, step.to_y = rel, xs, ys, to_x, to_y
        return step.relation

    def image(self, a, step: _Step):
        """Where the states of `a` go by the step."""
        if not a or not step.tables:
            return a
        rel = self._relation(step)
        return self._r(self.bdd.let(step.to_x, _cudd.and_exists(self._f(a), rel, step.xs)))

    def preimage(self, a, step: _Step):
        """The states (of every assignment) that the step takes into `a`.

        A step is a function, so its preimage is a substitution of each new bit by the
        function of the old ones that gives it: no relation, no quantifier.
        """
        if not a or not step.tables:
            return a
        if step.compose is None:
            defs = {}
            for k, table in step.tables:
                names = self.x[k]
                top = len(names) - 1
                for i, name in enumerate(names):
                    defs[name] = self.values(k, [v for v, w in enumerate(table) if w >> (top - i) & 1])
                    defs[name] = self._f(defs[name])
            step.compose = defs
        return self._r(self.bdd.let(step.compose, self._f(a)))
