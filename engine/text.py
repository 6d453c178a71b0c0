"""Story text: parsing `{if}`/`{name}` templates at load time and rendering them against a state."""

from __future__ import annotations

import re

from . import conditions
from .conditions import ConditionError, Names
from .model import Condition, Location, Template
from .state import stage

BUILTIN_SUBSTITUTIONS = ("group", "items", "turn", "infection")
_PARAGRAPH = re.compile(r"\n[ \t]*\n\s*")
# The pieces of a text, in the order a brace is read: `{{`, `}}`, a tag `{...}`, a `{` never closed, plain
# text, a lone `}`.
_TOKEN = re.compile(r"\{\{|\}\}|\{[^}]*\}|\{|[^{}]+|\}")
_ONE_LINE = re.compile(r"\S+(?: \S+)*\Z")


def normalize(text: str) -> str:
    """Join the lines of each paragraph; keep blank lines between paragraphs.

    A paragraph that starts with a substitution (`{group} made it.`) gets a capital letter.
    """
    if _ONE_LINE.match(text):  # words and single spaces only (most choice texts): nothing to join or trim
        return text[0].upper() + text[1:]
    out = []
    for paragraph in _PARAGRAPH.split(text):
        words = paragraph.split()  # at the whitespace `\s` matches, in C: faster than a regex's sub and strip
        if words:
            joined = " ".join(words)
            out.append(joined[0].upper() + joined[1:])
    return "\n\n".join(out)


def parse_template(source: str, names: Names, where: Location, locate) -> tuple[Template, list]:
    """A compiled Template and the problems found, as (ConditionError, Location) pairs.

    `locate(offset)` turns an offset into `source` into a Location.
    """
    if "{" not in source and "}" not in source:  # most text: nothing to parse
        return Template(source=source, parts=(normalize(source),), where=where, static=True), []
    problems: list = []
    # A stack of open {if} blocks: [branches, current parts, opening offset, seen_else]
    root: list = []
    stack: list = []
    current = root
    literal: list = []

    def flush():
        if literal:
            current.append("".join(literal))
            literal.clear()

    end = 0
    for text in _TOKEN.findall(source):
        pos, end = end, end + len(text)  # where the token starts, and where the next one does
        if text[0] != "{":  # a run of plain text, `}}` (a literal brace) or a lone `}` (kept as it is)
            literal.append("}" if text == "}}" else text)
            continue
        if text == "{{":
            literal.append("{")
            continue
        if len(text) == 1:  # a `{` with no `}` anywhere after it
            problems.append((ConditionError(
                "`{` is never closed; expected `}` (write `{{` for a literal brace)", pos, "text-syntax"
            ), locate(pos)))
            literal.append(source[pos:])
            break
        flush()
        inside = text[1:-1]
        word, rest = (inside.split(None, 1) + [""])[:2] if inside.strip() else ("", "")  # a tag may wrap lines
        if word in ("if", "elif"):
            start = inside.index(word) + len(word)
            start += len(inside[start:]) - len(inside[start:].lstrip())  # the condition's first character
            cond = _condition(rest, names, pos + 1 + start, where, locate, problems)
            if word == "if":
                block = [[(cond, [])], None, pos, False]
                stack.append((block, current))
                current = block[0][-1][1]
            elif not stack:
                problems.append((ConditionError("`{elif}` without an open `{if}`", pos, "text-syntax"), locate(pos)))
            else:
                block = stack[-1][0]
                block[0].append((cond, []))
                current = block[0][-1][1]
        elif word == "else" and not rest:
            if not stack:
                problems.append((ConditionError("`{else}` without an open `{if}`", pos, "text-syntax"), locate(pos)))
            else:
                block = stack[-1][0]
                block[0].append((None, []))
                current = block[0][-1][1]
        elif word == "end" and not rest:
            if not stack:
                problems.append((ConditionError("`{end}` without an open `{if}`", pos, "text-syntax"), locate(pos)))
            else:
                block, parent = stack.pop()
                current = parent
                current.append(("if", tuple((c, tuple(p)) for c, p in block[0])))
        else:
            part = _substitution(inside.strip(), names)
            if part is None:
                choices = [*BUILTIN_SUBSTITUTIONS, *names.characters, *names.counters]
                problems.append((ConditionError(
                    f"`{{{inside}}}` names nothing; expected one of {{group}}, {{items}}, {{turn}}, "
                    "{infection}, a character or a counter, or {if ...}/{else}/{end}"
                    + conditions._did_you_mean(inside.strip(), choices),
                    pos, "unknown-substitution",
                ), locate(pos)))
            else:
                current.append(part)
    flush()
    while stack:
        block, parent = stack.pop()
        problems.append((ConditionError(
            "`{if}` is never closed; expected `{end}`", block[2], "text-syntax"
        ), locate(block[2])))
        current = parent
        current.append(("if", tuple((c, tuple(p)) for c, p in block[0])))
    parts = tuple(root)
    static = all(isinstance(p, str) for p in parts)
    if static:
        parts = (normalize("".join(parts)),)
    return Template(source=source, parts=parts, where=where, static=static), problems


def _condition(text: str, names: Names, offset: int, where: Location, locate, problems: list):
    tree, errors, test, read = conditions.understand(text, names)
    for err in errors:
        problems.append((ConditionError(err.message, offset + err.offset, err.rule), locate(offset + err.offset)))
    if tree is None:
        return Condition(text, ("false",), lambda s: False, locate(offset))
    return Condition(text, tree, test if test is not None else (lambda s: False), locate(offset), read)


def _substitution(name: str, names: Names):
    if name in BUILTIN_SUBSTITUTIONS:
        return ("sub", name)
    if name in names.characters:
        return ("char", names.characters[name])
    if name in names.counters:
        return ("counter", names.counters[name])
    return None


def template_reads(parts):
    """What a template's parts read, as (kind, value): ("names", a condition's names), ("char", index),
    ("counter", index) or ("sub", a built-in substitution's name)."""
    for part in parts:
        if isinstance(part, str):
            continue
        if part[0] == "if":
            for cond, body in part[1]:
                if cond is not None:
                    yield "names", cond.names
                yield from template_reads(body)
        else:
            yield part[0], part[1]


def render(story, state, template: Template) -> str:
    """The text a player sees now.

    Rendered text is remembered by what it can read (the template's share of the state's
    bits, and the turn if it shows it), so a scene seen again in the same relevant state
    costs one lookup.
    """
    if template.static:
        return template.parts[0]
    machine = story.machine
    mask, reads_turn = machine.template_mask(story, template)
    key = (id(template), state.bits & mask, state.turn if reads_turn else 0)
    memo = machine.rendered
    found = memo.get(key)
    if found is None:
        out: list = []
        _render_parts(story, state, template.parts, out)
        found = machine.remember(memo, key, normalize("".join(out)))
    return found


def _render_parts(story, state, parts, out: list) -> None:
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        kind = part[0]
        if kind == "if":
            for cond, body in part[1]:
                if cond is None or cond.test(state):
                    _render_parts(story, state, body, out)
                    break
        elif kind == "char":
            out.append(story.characters[part[1]].short)
        elif kind == "counter":
            out.append(str(state.counters[part[1]]))
        elif part[1] == "group":
            members = [c.short for c, f in zip(story.characters, state.fates) if f == "in-group"]
            out.append(join_names(members) if members else "no one")
        elif part[1] == "items":
            held = [story.item_by_id[i].name for i in sorted(state.items)]
            out.append(join_names([_article(h) for h in held]) if held else "nothing")
        elif part[1] == "turn":
            out.append(str(state.turn))
        elif part[1] == "infection":
            out.append(stage(story, state, "you"))


def join_names(names: list) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _article(name: str) -> str:
    if name[:1].isupper() or name.split(" ", 1)[0] in ("the", "a", "an", "some", "your"):
        return name
    return ("an " if name[:1].lower() in "aeiou" else "a ") + name
