"""YAML reading that cannot be crashed: the fastest safe loader, and a guard against deep nesting."""

from __future__ import annotations

import re

import yaml

try:  # libyaml is several times faster; fall back to the pure-Python parser when it is absent
    from yaml import CSafeLoader as SafeLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader

MAX_DEPTH = 100  # nesting of mappings and lists; libyaml's composer recurses in C and crashes far deeper
_INDENT = re.compile(rb"\n( +)")
_OPENING = (yaml.BlockMappingStartToken, yaml.BlockSequenceStartToken, yaml.FlowMappingStartToken,
            yaml.FlowSequenceStartToken)
_CLOSING = (yaml.BlockEndToken, yaml.FlowMappingEndToken, yaml.FlowSequenceEndToken)


def too_deep(source: str, data: bytes | None = None):
    """(line, column) where nesting first passes MAX_DEPTH, or None. Cheap for ordinary files."""
    if data is None:
        data = source.encode("utf-8", "replace")
    brackets = data.count(b"[") + data.count(b"{")
    indent = max((len(m) for m in _INDENT.findall(data)), default=0)
    if brackets <= MAX_DEPTH and indent <= MAX_DEPTH:
        return None  # depth is bounded by both counts: no need to scan
    depth = 0
    try:
        for token in yaml.scan(source, Loader=SafeLoader):  # the scanner is iterative: safe at any depth
            if isinstance(token, _OPENING):
                depth += 1
                if depth > MAX_DEPTH:
                    return token.start_mark.line + 1, token.start_mark.column + 1
            elif isinstance(token, _CLOSING):
                depth -= 1
    except yaml.YAMLError:
        return None  # the composer reports the syntax error with its position
    return None
