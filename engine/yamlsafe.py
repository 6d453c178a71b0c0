"""YAML reading that cannot be crashed: the fastest safe loader, and a guard against deep nesting."""

from __future__ import annotations

import threading

import yaml
from yaml.nodes import ScalarNode, SequenceNode

try:  # libyaml is several times faster; fall back to the pure-Python parser when it is absent
    from yaml import CSafeLoader as _Base
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Base

MAX_DEPTH = 100  # nesting of mappings and lists; libyaml's composer recurses in C and crashes far deeper
_STACK_PER_LEVEL = 1600  # bytes of C stack per level of libyaml's composer: about 400 measured, 4x margin
_MAIN_STACK = 8 * 1024 * 1024  # the main thread's stack when its limit cannot be read
MAX_RESCAN = 1024 * 1024  # characters the pure-Python scanner may read to place a nesting libyaml refused
_OPENING = (yaml.BlockMappingStartToken, yaml.BlockSequenceStartToken, yaml.FlowMappingStartToken,
            yaml.FlowSequenceStartToken)
_CLOSING = (yaml.BlockEndToken, yaml.FlowMappingEndToken, yaml.FlowSequenceEndToken)


class SafeLoader(_Base):
    """The safe loader with the same tags resolved by a leaner `resolve`.

    libyaml's composer calls `resolve` once for every node, and `descend_resolver` and
    `ascend_resolver` around it; the inherited ones rebuild a list of candidate patterns each
    time, and were a third of the time of composing a story. With no path resolvers (the safe
    loader has none) the two around it do nothing, so they become builtins that do nothing;
    and a plain scalar's tag is remembered, since keys and ids repeat through a file.
    """

    def __init__(self, stream):
        super().__init__(stream)
        table = self.yaml_implicit_resolvers
        wildcard = tuple(table.get(None, ()))
        self._implicit = {first: tuple(found) + wildcard for first, found in table.items() if first is not None}
        self._wildcard = wildcard
        self._plain_paths = not self.yaml_path_resolvers
        self._tags: dict = {}  # plain scalar -> its tag, for this file
        if self._plain_paths:
            self.descend_resolver = {}.get  # called with (parent, index): returns index, ignored
            self.ascend_resolver = tuple  # called with nothing: returns (), ignored

    def resolve(self, kind, value, implicit):
        if not self._plain_paths:
            return super().resolve(kind, value, implicit)
        if kind is ScalarNode:
            if not implicit[0]:
                return self.DEFAULT_SCALAR_TAG
            tag = self._tags.get(value)
            if tag is None:
                tag = self._tags[value] = self._implicit_tag(value)
            return tag
        return self.DEFAULT_SEQUENCE_TAG if kind is SequenceNode else self.DEFAULT_MAPPING_TAG

    def implicit_tags(self) -> set:
        """The tags plain scalars resolved to so far, and the default ones (with path resolvers: unknown)."""
        if not self._plain_paths:
            return {"?"}  # resolved by the inherited resolve, which does not remember them
        return {*self._tags.values(), self.DEFAULT_SCALAR_TAG, self.DEFAULT_SEQUENCE_TAG, self.DEFAULT_MAPPING_TAG}

    def _implicit_tag(self, value: str) -> str:
        for tag, regexp in self._implicit.get(value[:1], self._wildcard):
            if regexp.match(value):
                return tag
        return self.DEFAULT_SCALAR_TAG


def nesting_bound(lines: list, source: str) -> int:
    """An upper bound on how deep any YAML in `source` nests, from one cheap pass over its lines.

    A block collection starts a line's content, after its indentation and any `- `, `? `, `: `
    indicators; nested block collections move right at least every second level. Flow
    collections need a bracket (a `[a: b]` pair adds a level inside one). `lines` must split
    at every YAML line break (str.splitlines splits at those and more).
    """
    brackets = source.count("[") + source.count("{")
    column = max((len(line) - len(line.lstrip(" \t-?:")) for line in lines), default=0)
    return 2 * brackets + 2 * (column + 1)


def compose_budget() -> int:
    """How deep libyaml's recursive composer may go on this thread's stack without risk."""
    if threading.current_thread() is not threading.main_thread():
        size = threading.stack_size()
        return max(MAX_DEPTH, size // _STACK_PER_LEVEL) if size else MAX_DEPTH  # an unknown default: be strict
    stack = _MAIN_STACK
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_STACK)[0]
        if soft != resource.RLIM_INFINITY and soft > 0:
            stack = soft
    except (ImportError, ValueError, OSError):  # no resource module (Windows): assume its 1 MiB main stack
        stack = 1024 * 1024
    return max(MAX_DEPTH, min(5000, stack // _STACK_PER_LEVEL))


def too_deep(source: str):
    """(line, column) where nesting first passes MAX_DEPTH, or None. Cheap for ordinary files."""
    if nesting_bound(source.splitlines(), source) <= MAX_DEPTH:
        return None  # depth is bounded by both counts: no need to scan
    try:
        return _first_too_deep(source, SafeLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        if "maximum nesting depth" not in str(err) or mark is None or mark.index > MAX_RESCAN:
            return None  # the composer reports the error with its position
    # libyaml 0.2.5+ looks ahead through a run of `[` or `{` and stops at its own limit (1000)
    # before handing over the first token; the pure-Python scanner has no limit and hands
    # tokens over as it goes, so it finds where nesting first passes MAX_DEPTH (before where
    # libyaml stopped, so it reads at most MAX_RESCAN characters, at under a second a MiB).
    try:
        return _first_too_deep(source, yaml.SafeLoader)
    except yaml.YAMLError:
        return None


def _first_too_deep(source: str, loader):
    """(line, column) of the first token nested deeper than MAX_DEPTH, or None; YAMLError from the scanner."""
    depth = 0
    for token in yaml.scan(source, Loader=loader):  # the scanner is iterative: safe at any depth
        if isinstance(token, _OPENING):
            depth += 1
            if depth > MAX_DEPTH:
                return token.start_mark.line + 1, token.start_mark.column + 1
        elif isinstance(token, _CLOSING):
            depth -= 1
    return None
