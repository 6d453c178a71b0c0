"""Reading a story directory: safe YAML with positions, checked against the spec, built into a Story."""

from __future__ import annotations

import gc
import os
import re
from pathlib import Path
from typing import Optional

import yaml

from . import conditions, spec, text
from .conditions import Names
from .effects import EFFECT_OPS
from .model import (
    PLAYER, Character, Choice, Condition, Counter, Effect, Ending, Flag, Infection, Item, Location,
    Node, Outcome, Story, Trigger,
)
from .problems import Problem, StoryError, sort_key
from .sources import MANIFEST_NAME, MAX_FILE_BYTES, Source, read_sources, story_files
from .state import Layout
from .yamlsafe import MAX_DEPTH, SafeLoader as _SafeLoader, compose_budget, nesting_bound, too_deep

_ID = re.compile(spec.ID_PATTERN)
_STD = "tag:yaml.org,2002:"
_ALLOWED_TAGS = {_STD + t for t in ("str", "int", "bool", "null", "map", "seq", "float")}
_NULL, _INT, _BOOL, _STR = (_STD + t for t in ("null", "int", "bool", "str"))
_CONSTRUCT = yaml.constructor.SafeConstructor()
# Where an explicit tag could start: `!` after a line start, a space or a flow indicator (never
# inside a word, as in "Run!"); a file without one has only the tags its scalars resolve to.
_MAY_TAG = re.compile(r"(?:^|[\s\[\]{},])!", re.M)
# The fields of bare values (a goto, an id in a list, an amount, a flag's value), made once: each is read thousands of times.
_ID_FIELD = spec.Field("id", "")
_INT_FIELD = spec.Field("int", "")
_BOOL_FIELD = spec.Field("bool", "")


def load(directory) -> Story:
    """The story in `directory`, or StoryError with every problem found."""
    story, problems = load_story(directory)
    if story is None:
        raise StoryError(problems)
    return story


def load_story(directory, sources: Optional[tuple] = None) -> tuple[Optional[Story], list]:
    """(story or None, problems). Never raises for bad story input.

    `sources` is what sources.read_sources(directory) returned, when the caller has read the files already.
    """
    # Loading makes hundreds of thousands of objects that all live on; collecting while they are
    # made only re-scans them (about 60% of the time of a large story), so the collector waits.
    paused = gc.isenabled()
    gc.disable()
    try:
        return _Loader(str(directory)).run(sources)
    finally:
        if paused:
            gc.enable()


class _File:
    """One story file: its displayed path, its lines (for locating text) and its root node."""

    def __init__(self, shown: str, lines: list, root):
        self.shown = shown
        self.lines = lines
        self.root = root
        self.place = ""


class _Loader:
    def __init__(self, directory: str):
        self.directory = directory
        self.problems: list = []
        self.files: list = []
        self.hash = ""
        self.names = Names()
        self.node_defs: dict = {}  # id -> (file, key node, value node)
        self.duplicates: list = []
        self.budget = compose_budget()

    # -- reporting -------------------------------------------------------------------------

    def error(self, where: Location, message: str, rule: str) -> None:
        self.problems.append(Problem(where, "error", message, rule))

    def at(self, file: _File, node) -> Location:
        mark = node.start_mark
        return Location(file.shown, mark.line + 1, mark.column + 1)

    def locate(self, file: _File, node, offset: int) -> Location:
        """The position of character `offset` of a scalar's value in the file."""
        mark = node.start_mark
        style = node.style
        value = node.value
        if style in ("|", ">"):
            line = mark.line + 1
            while line < len(file.lines) and not file.lines[line].strip():
                line += 1
            indent = len(file.lines[line]) - len(file.lines[line].lstrip(" ")) if line < len(file.lines) else 0
            before = value[:offset]
            lineno = line + before.count("\n") if style == "|" else line
            col = indent + (offset - (before.rfind("\n") + 1)) if style == "|" else indent + offset
            return Location(file.shown, lineno + 1, col + 1)
        quote = 1 if style in ("'", '"') else 0
        return Location(file.shown, mark.line + 1, mark.column + 1 + quote + offset)

    # -- reading files ---------------------------------------------------------------------

    def run(self, sources: Optional[tuple] = None) -> tuple:
        root = Path(self.directory)
        if not root.is_dir():
            self.error(Location(self.directory, 1, 1), "expected a story directory, found "
                       + ("a file" if root.exists() else "nothing") + " at this path", "no-story")
            return None, self.problems
        files, self.hash = sources if sources is not None else read_sources(self.directory)
        if not any(f.rel == MANIFEST_NAME for f in files):
            self.error(Location(os.path.join(self.directory, MANIFEST_NAME), 1, 1),
                       "expected the manifest story.yaml (with title and start) in the story directory, found none",
                       "no-manifest")
        for source in files:
            self.read_file(source)
        manifest = next((f for f in self.files if f.shown == os.path.join(self.directory, MANIFEST_NAME)), None)
        story = None
        if manifest is not None:
            story = self.build(manifest)
        self.problems.sort(key=sort_key)
        if any(p.level == "error" for p in self.problems):
            return None, self.problems
        return story, self.problems

    def read_file(self, entry: Source) -> None:
        rel, shown, data = entry.rel, entry.shown, entry.data
        top = Location(shown, 1, 1)
        if data is None:
            if entry.error is None:
                self.error(top, f"expected a story file under {MAX_FILE_BYTES // (1024 * 1024)} MiB, found "
                           f"{entry.size / (1024 * 1024):.0f} MiB; hint: split the story into smaller files",
                           "file-too-large")
            else:
                self.error(top, f"cannot read this file: {entry.error}", "unreadable-file")
            return
        if b"\0" in data:
            self.error(top, "expected YAML text, found binary data (a NUL byte)", "not-text")
            return
        try:
            source = data.decode("utf-8")
        except UnicodeDecodeError as err:
            line = data.count(b"\n", 0, err.start) + 1
            col = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
            self.error(Location(shown, line, col),
                       f"expected UTF-8 text, found the byte 0x{data[err.start]:02x}; hint: save the file as UTF-8",
                       "not-utf8")
            return
        if source.startswith("\ufeff"):
            source = source[1:]
        lines = source.splitlines()
        # Nesting deeper than MAX_DEPTH is refused at the first token that passes it. Scanning
        # every token to find it costs as much as composing; so a file that cannot nest deeply
        # enough to harm libyaml's recursive composer is composed first, and scanned only if the
        # composed tree turns out deeper than MAX_DEPTH (the tree is never shallower than the tokens).
        bound = nesting_bound(lines, source)
        scanned = bound <= MAX_DEPTH or bound > self.budget
        if bound > self.budget and self.refuse_deep(shown, source):
            return
        composer = _SafeLoader(source)
        try:
            documents = []
            while composer.check_node():
                documents.append(composer.get_node())
        except yaml.MarkedYAMLError as err:
            if not scanned and self.refuse_deep(shown, source):
                return
            mark = err.problem_mark or err.context_mark
            where = Location(shown, mark.line + 1, mark.column + 1) if mark else top
            what = err.problem or err.context or "invalid YAML"
            self.error(where, f"this is not valid YAML: {what}", "yaml-syntax")
            return
        except (yaml.YAMLError, RecursionError, MemoryError) as err:
            if not scanned and self.refuse_deep(shown, source):
                return
            self.error(top, f"this is not valid YAML: {str(err).splitlines()[0] if str(err) else type(err).__name__}",
                       "yaml-syntax")
            return
        finally:
            composer.dispose()
        documents = [d for d in documents if d is not None]
        if not documents:
            if rel == MANIFEST_NAME:
                self.error(top, "expected the manifest (title, start, ...), found an empty file", "missing-key")
            return
        file = _File(shown, lines, documents[0])
        # A tagged node is reported, never constructed; the rest of the file is still checked.
        if scanned and not _MAY_TAG.search(source) and composer.implicit_tags() <= _ALLOWED_TAGS:
            bad, depth, shared = False, 0, False  # no tag, and nesting known to be shallow: no need to walk
        else:
            bad, depth, shared = self.shape(documents[0])
        if not scanned and (depth > MAX_DEPTH or shared or len(documents) > 1) and self.refuse_deep(shown, source):
            return
        if len(documents) > 1:
            self.error(self.at(file, documents[1]), "expected one YAML document per file, found another here",
                       "yaml-syntax")
        for node in self.tagged(documents[0]) if bad else ():
            self.error(self.at(file, node), f"expected plain YAML data, found the tag {node.tag!r}; "
                       "story files cannot build objects", "unsafe-tag")
        self.files.append(file)

    def refuse_deep(self, shown: str, source: str) -> bool:
        """Reports nesting deeper than MAX_DEPTH at the token that first passes it; False if none does."""
        deep = too_deep(source)
        if deep is None:
            return False
        self.error(Location(shown, deep[0], deep[1]), f"expected mappings and lists nested at most {MAX_DEPTH} "
                   f"deep, found deeper nesting here", "too-deep")
        return True

    @staticmethod
    def shape(root) -> tuple:
        """(whether any node has a tag not allowed, the deepest nesting of collections, whether an alias shares one).

        Walks the collections only, the scalars in them checked in place: a story is mostly scalars.
        """
        allowed = _ALLOWED_TAGS
        mapping, sequence = yaml.MappingNode, yaml.SequenceNode
        bad = root.tag not in allowed
        deepest = 0
        shared = False
        stack = [(root, 1)] if type(root) is mapping or type(root) is sequence else []
        seen = set()
        pop, push, mark = stack.pop, stack.append, seen.add
        while stack:
            node, depth = pop()
            if id(node) in seen:
                shared = True  # an alias: depths measured here may be shallower than at the anchor
                continue
            mark(id(node))
            if depth > deepest:
                deepest = depth
            depth += 1
            if type(node) is mapping:
                for pair in node.value:
                    for child in pair:
                        kind = type(child)
                        if kind is mapping or kind is sequence:
                            if child.tag not in allowed:
                                bad = True
                            push((child, depth))
                        elif child.tag not in allowed:
                            bad = True
            else:
                for child in node.value:
                    kind = type(child)
                    if kind is mapping or kind is sequence:
                        if child.tag not in allowed:
                            bad = True
                        push((child, depth))
                    elif child.tag not in allowed:
                        bad = True
        return bad, deepest, shared

    @staticmethod
    def tagged(root) -> list:
        """The nodes whose tags are not allowed, in the order they have always been reported."""
        found = []
        stack = [root]
        seen = set()
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            if node.tag not in _ALLOWED_TAGS:
                found.append(node)
            if isinstance(node, yaml.MappingNode):
                for k, v in node.value:
                    stack.append(k)
                    stack.append(v)
            elif isinstance(node, yaml.SequenceNode):
                stack.extend(node.value)
        return found

    # -- generic shape checks --------------------------------------------------------------

    def mapping(self, file: _File, node, shape: spec.Shape) -> Optional[dict]:
        """key -> (key node, value node) for a mapping of `shape`; reports what is wrong."""
        if not isinstance(node, yaml.MappingNode):
            self.error(self.at(file, node), f"expected a mapping ({shape.name}), found {_describe(node)}", "wrong-type")
            return None
        out: dict = {}
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else None
            if name is None:
                self.error(self.at(file, key), "expected a key name, found " + _describe(key), "wrong-type")
                continue
            if name in out:
                first = out[name][0].start_mark
                self.error(self.at(file, key), f"duplicate key {name!r}; it is already set at line "
                           f"{first.line + 1}; hint: keep one", "duplicate-key")
                continue
            if name not in shape.fields:
                hint = _did_you_mean(name, shape.fields)
                self.error(self.at(file, key), f"unknown key {name!r} in a {shape.name}; expected one of "
                           f"{', '.join(shape.fields)}{hint}", "unknown-key")
                continue
            out[name] = (key, value)
        for name, f in shape.fields.items():
            if f.required and name not in out:
                self.error(self.at(file, node), f"this {shape.name} has no {name!r}; expected {f.doc[0].lower()}"
                           f"{f.doc[1:].rstrip('.')}", "missing-key")
        for group in shape.one_of:
            present = [k for k in group if k in out]
            if len(present) > 1:
                key = out[present[1]][0]
                self.error(self.at(file, key), f"a {shape.name} has either {' or '.join(repr(g) for g in group)}, "
                           f"found both", "conflicting-keys")
            elif not present:
                hint = " Do you need an `ending:`?" if shape is spec.NODE else ""
                self.error(self.at(file, node), f"this {shape.name} has no way forward: expected "
                           f"{' or '.join(repr(g) for g in group)}.{hint}", "no-way-forward")
        return out

    def scalar(self, file: _File, node, f: spec.Field, what: str):
        """A scalar of the field's kind, or None (reported)."""
        kind = f.kind
        if not isinstance(node, yaml.ScalarNode) or node.tag == _NULL:
            expected = {"str": "text", "text": "text", "id": "an id", "int": "a whole number",
                        "bool": "true or false", "condition": "a condition"}[kind]
            self.error(self.at(file, node), f"{what}: expected {expected}, found {_describe(node)}", "wrong-type")
            return None
        if kind in ("str", "text"):
            value = node.value
            if f.enum and value not in f.enum:
                self.error(self.at(file, node), f"{what}: expected one of {', '.join(f.enum)}, found {value!r}"
                           + _did_you_mean(value, f.enum), "wrong-value")
                return None
            return value
        if kind == "id":
            if not _ID.match(node.value):
                self.error(self.at(file, node), f"{what}: expected an id (letters, digits, _ - . starting with "
                           f"a letter), found {node.value!r}", "bad-id")
                return None
            return node.value
        if kind == "int":
            if node.tag != _INT:
                self.error(self.at(file, node), f"{what}: expected a whole number, found {node.value!r}", "wrong-type")
                return None
            value = _int_value(node)
            if f.minimum is not None and value < f.minimum:
                self.error(self.at(file, node), f"{what}: expected at least {f.minimum}, found {value}", "wrong-value")
                return None
            return value
        if kind == "bool":
            if node.tag != _BOOL:
                self.error(self.at(file, node), f"{what}: expected true or false, found {node.value!r}", "wrong-type")
                return None
            return _CONSTRUCT.construct_yaml_bool(node)
        raise ValueError(kind)

    def ids(self, file: _File, node, what: str) -> list:
        """An id or a list of ids, as (id, node) pairs."""
        items = node.value if isinstance(node, yaml.SequenceNode) else [node]
        out = []
        for item in items:
            value = self.scalar(file, item, _ID_FIELD, what)
            if value is not None:
                out.append((value, item))
        return out

    def entries(self, file: _File, node, shape: spec.Shape, what: str) -> list:
        """For a `map` field: (id, key node, value dict) for each well-formed entry."""
        if not isinstance(node, yaml.MappingNode):
            self.error(self.at(file, node), f"{what}: expected a mapping of ids to {shape.name}s, found "
                       f"{_describe(node)}", "wrong-type")
            return []
        out = []
        seen: dict = {}
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else ""
            if not _ID.match(name):
                self.error(self.at(file, key), f"expected a {shape.name} id (letters, digits, _ - . starting with a "
                           f"letter), found {name!r}", "bad-id")
                continue
            if name in seen:
                self.error(self.at(file, key), f"duplicate key {name!r}; it is already set at line {seen[name]}",
                           "duplicate-key")
                continue
            seen[name] = key.start_mark.line + 1
            fields = self.mapping(file, value, shape)
            if fields is not None:
                out.append((name, key, fields))
        return out

    def sequence(self, file: _File, node, what: str) -> list:
        if not isinstance(node, yaml.SequenceNode):
            self.error(self.at(file, node), f"{what}: expected a list, found {_describe(node)}", "wrong-type")
            return []
        return node.value

    # -- the manifest ----------------------------------------------------------------------

    def build(self, manifest: _File) -> Optional[Story]:
        fields = self.mapping(manifest, manifest.root, spec.MANIFEST)
        if fields is None:
            return None
        get = lambda k, f, what: self.scalar(manifest, fields[k][1], f, what) if k in fields else None  # noqa: E731
        m = spec.MANIFEST.fields
        title = get("title", m["title"], "title")
        start = get("start", m["start"], "start")
        author = get("author", m["author"], "author") or ""
        declared: dict = {}  # id -> (kind, location)
        characters = self.declare_characters(manifest, fields, declared)
        items = self.declare(manifest, fields, "items", spec.ITEM, declared, self.make_item)
        flags = self.declare(manifest, fields, "flags", spec.FLAG, declared, self.make_flag)
        counters = self.declare(manifest, fields, "counters", spec.COUNTER, declared, self.make_counter)
        infection = self.make_infection(manifest, fields)
        names = self.names
        names.items = {i.id for i in items}
        names.flags = {f.id for f in flags}
        names.counters = {c.id: i for i, c in enumerate(counters)}
        names.characters = {c.id: i for i, c in enumerate(characters)}
        names.turns = {c.id: c.turns or infection.turns for c in characters}
        names.turns[PLAYER] = infection.turns
        names.feverish = infection.feverish
        names.turning = infection.turning
        names.layout = Layout.build(items, flags, counters, characters, infection)
        start_items = []
        if "player" in fields:
            pf = self.mapping(manifest, fields["player"][1], spec.PLAYER_SHAPE)
            if pf and "items" in pf:
                for item, node in self.ids(manifest, pf["items"][1], "player items"):
                    if self.check_ref(manifest, node, item, "item", names.items):
                        start_items.append(item)
        # Scene files, then the manifest's own nodes
        for file in self.files:
            if file is manifest:
                file.place = get("place", m["place"], "place") or ""
                if "nodes" in fields:
                    self.collect_nodes(file, fields["nodes"][1])
                continue
            sf = self.mapping(file, file.root, spec.SCENE)
            if sf is None:
                continue
            if "place" in sf:
                file.place = self.scalar(file, sf["place"][1], spec.SCENE.fields["place"], "place") or ""
            if "nodes" in sf:
                self.collect_nodes(file, sf["nodes"][1])
        nodes = {}
        for node_id, (file, key, value) in self.node_defs.items():
            node = self.make_node(file, node_id, key, value)
            if node is not None:
                nodes[node_id] = node
        for file, node_id, key, value in self.duplicates:
            self.make_node(file, node_id, key, value)
        if start is not None and start not in self.node_defs:
            self.dangling(manifest, fields["start"][1], start, "start")
        if infection.on_player_turned is not None and infection.on_player_turned not in self.node_defs:
            inf = self.mapping(manifest, fields["infection"][1], spec.INFECTION) or {}
            self.dangling(manifest, inf["on_player_turned"][1], infection.on_player_turned, "on_player_turned")
        triggers = self.make_triggers(manifest, fields)
        if not self.node_defs and not any(p.rule == "no-manifest" for p in self.problems):
            self.error(self.at(manifest, manifest.root), "expected at least one node (under `nodes:`), found none",
                       "no-nodes")
        if any(p.level == "error" for p in self.problems) or title is None or start is None:
            return None
        return Story(
            title=title, start=start, author=author, infection=infection, start_items=tuple(start_items),
            characters=tuple(characters), items=tuple(items), flags=tuple(flags), counters=tuple(counters),
            triggers=tuple(triggers), nodes=nodes, content_hash=self.hash,
            root=self.directory, files=tuple(f.shown for f in self.files), where=self.at(manifest, manifest.root),
        )

    def declare(self, file, fields, key, shape, declared, make) -> list:
        if key not in fields:
            return []
        out = []
        for name, knode, f in self.entries(file, fields[key][1], shape, key):
            if name == PLAYER or name in ("turn",) or name in conditions.KEYWORDS:
                self.error(self.at(file, knode), f"{name!r} is a reserved word; expected another id", "reserved-id")
                continue
            if name in declared:
                kind, where = declared[name]
                self.error(self.at(file, knode), f"{name!r} is already declared as a {kind} at {where}; "
                           "ids must be unique across characters, items, flags and counters", "duplicate-name")
                continue
            made = make(file, name, knode, f)
            if made is not None:
                declared[name] = (shape.name, self.at(file, knode))
                out.append(made)
        return out

    def declare_characters(self, file, fields, declared) -> list:
        return self.declare(file, fields, "characters", spec.CHARACTER, declared, self.make_character)

    def value(self, file, f: dict, shape: spec.Shape, key: str, default=None):
        if key not in f:
            return default
        got = self.scalar(file, f[key][1], shape.fields[key], key)
        return default if got is None else got

    def make_character(self, file, name, knode, f) -> Character:
        v = lambda k, d=None: self.value(file, f, spec.CHARACTER, k, d)  # noqa: E731
        full = v("name", name)
        return Character(name, full, v("short", full), v("fate", "absent"), v("turns"), self.at(file, knode))

    def make_item(self, file, name, knode, f) -> Item:
        v = lambda k, d=None: self.value(file, f, spec.ITEM, k, d)  # noqa: E731
        return Item(name, v("name", name), v("description", ""), self.at(file, knode))

    def make_flag(self, file, name, knode, f) -> Flag:
        v = lambda k, d=None: self.value(file, f, spec.FLAG, k, d)  # noqa: E731
        return Flag(name, v("description", ""), v("start", False), self.at(file, knode))

    def make_counter(self, file, name, knode, f) -> Optional[Counter]:
        v = lambda k, d=None: self.value(file, f, spec.COUNTER, k, d)  # noqa: E731
        low, high, start = v("min", 0), v("max", 0), v("start", 0)
        if low > high:
            self.error(self.at(file, knode), f"counter {name!r}: expected min <= max, found min {low} > max {high}",
                       "counter-range")
            return None
        if not low <= start <= high:
            self.error(self.at(file, f["start"][1] if "start" in f else knode),
                       f"counter {name!r}: expected a start within {low}..{high}, found {start}", "counter-range")
            return None
        return Counter(name, v("name", name), start, low, high, v("show", False), self.at(file, knode))

    def make_infection(self, file, fields) -> Infection:
        if "infection" not in fields:
            return Infection()
        f = self.mapping(file, fields["infection"][1], spec.INFECTION) or {}
        v = lambda k, d=None: self.value(file, f, spec.INFECTION, k, d)  # noqa: E731
        inf = Infection(v("turns", 8), v("feverish", 3), v("turning", 6), v("on_player_turned"))
        if not inf.feverish <= inf.turning <= inf.turns:
            self.error(self.at(file, fields["infection"][1]), "infection: expected feverish <= turning <= turns, "
                       f"found {inf.feverish}, {inf.turning}, {inf.turns}", "infection-clock")
        return inf

    def make_triggers(self, file, fields) -> list:
        if "triggers" not in fields:
            return []
        out = []
        for tnode in self.sequence(file, fields["triggers"][1], "triggers"):
            f = self.mapping(file, tnode, spec.TRIGGER)
            if not f or "if" not in f or "goto" not in f:
                continue
            cond = self.condition(file, f["if"][1])
            goto = self.goto(file, f["goto"][1])
            effects = self.effects(file, f["do"][1]) if "do" in f else ()
            if cond is not None and goto is not None:
                out.append(Trigger(cond, goto, effects, self.at(file, tnode)))
        return out

    # -- nodes -----------------------------------------------------------------------------

    def collect_nodes(self, file: _File, node) -> None:
        if not isinstance(node, yaml.MappingNode):
            self.error(self.at(file, node), f"nodes: expected a mapping of node ids to nodes, found {_describe(node)}",
                       "wrong-type")
            return
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else ""
            if not _ID.match(name):
                self.error(self.at(file, key), f"expected a node id (letters, digits, _ - . starting with a letter), "
                           f"found {name!r}", "bad-id")
                continue
            if name in self.node_defs:
                other_file, other_key, _ = self.node_defs[name]
                self.error(self.at(file, key), f"duplicate node id {name!r}; it is already defined at "
                           f"{self.at(other_file, other_key)}", "duplicate-node")
                self.duplicates.append((file, name, key, value))  # still checked, never used
                continue
            self.node_defs[name] = (file, key, value)

    def make_node(self, file: _File, node_id: str, key, value) -> Optional[Node]:
        f = self.mapping(file, value, spec.NODE)
        if f is None:
            return None
        where = self.at(file, key)
        body = self.template(file, f["text"][1], "text") if "text" in f else None
        place = self.value(file, f, spec.NODE, "place", file.place)
        effects = self.effects(file, f["do"][1]) if "do" in f else ()
        choices = []
        ending = None
        if "choices" in f:
            seen: dict = {}
            cnodes = self.sequence(file, f["choices"][1], "choices")
            if isinstance(f["choices"][1], yaml.SequenceNode) and not cnodes:
                self.error(self.at(file, f["choices"][1]), "expected at least one choice, found an empty list. "
                           "Do you need an `ending:`?", "no-way-forward")
            for n, cnode in enumerate(cnodes, 1):
                choice = self.make_choice(file, cnode, n)
                if choice is None:
                    continue
                if choice.id is not None:
                    if choice.id in seen:
                        self.error(choice.where, f"duplicate choice id {choice.id!r} in node {node_id!r}; the first is "
                                   f"at line {seen[choice.id].line}", "duplicate-choice")
                    seen[choice.id] = choice.where
                choices.append(choice)
        if "ending" in f:
            ef = self.mapping(file, f["ending"][1], spec.ENDING)
            if ef is not None:
                title = self.value(file, ef, spec.ENDING, "title")
                eid = self.value(file, ef, spec.ENDING, "id", node_id)
                epilogue = self.template(file, ef["epilogue"][1], "epilogue") if "epilogue" in ef else None
                if title is not None:
                    ending = Ending(eid, title, epilogue, self.at(file, f["ending"][1]))
        if body is None:
            return None
        return Node(node_id, body, place, effects, tuple(choices), ending, where)

    def make_choice(self, file: _File, cnode, n: int) -> Optional[Choice]:
        f = self.mapping(file, cnode, spec.CHOICE)
        if f is None:
            return None
        where = self.at(file, cnode)
        cid = self.value(file, f, spec.CHOICE, "id")
        label = self.template(file, f["text"][1], "choice text") if "text" in f else None
        cond = self.condition(file, f["if"][1]) if "if" in f else None
        locked = self.template(file, f["locked"][1], "locked") if "locked" in f else None
        effects = self.effects(file, f["do"][1]) if "do" in f else ()
        goto = self.goto(file, f["goto"][1]) if "goto" in f else None
        outcomes = []
        if "random" in f:
            onodes = self.sequence(file, f["random"][1], "random")
            if isinstance(f["random"][1], yaml.SequenceNode) and not onodes:
                self.error(self.at(file, f["random"][1]), "expected at least one outcome, found an empty list",
                           "no-way-forward")
            for onode in onodes:
                of = self.mapping(file, onode, spec.OUTCOME)
                if of is None or "goto" not in of:
                    continue
                ogoto = self.goto(file, of["goto"][1])
                if ogoto is None:
                    continue
                outcomes.append(Outcome(
                    goto=ogoto,
                    weight=self.value(file, of, spec.OUTCOME, "weight", 1),
                    condition=self.condition(file, of["if"][1]) if "if" in of else None,
                    effects=self.effects(file, of["do"][1]) if "do" in of else (),
                    text=self.template(file, of["text"][1], "outcome text") if "text" in of else None,
                    where=self.at(file, onode),
                ))
        if label is None or (goto is None and not outcomes):
            return None
        if locked is not None and cond is None:
            self.error(self.at(file, f["locked"][0]), "`locked` explains why a choice cannot be taken, but this "
                       "choice has no `if`; expected an `if:` condition", "locked-without-if")
        return Choice(cid or f"#{n}", cid, label, cond, locked, tuple(effects), goto, tuple(outcomes), where)

    # -- references, conditions, text, effects ---------------------------------------------

    def goto(self, file: _File, node) -> Optional[str]:
        target = self.scalar(file, node, _ID_FIELD, "goto")
        if target is None:
            return None
        if target not in self.node_defs:
            self.dangling(file, node, target, "goto")
            return None
        return target

    def dangling(self, file: _File, node, target: str, what: str) -> None:
        hint = _did_you_mean(target, self.node_defs)
        self.error(self.at(file, node), f"{what}: no node has the id {target!r}{hint or '; hint: define it under nodes:'}",
                   "dangling-goto")

    def check_ref(self, file: _File, node, name: str, kind: str, pool) -> bool:
        if name in pool:
            return True
        found = self.names.kind_of(name)
        if name == PLAYER:
            self.error(self.at(file, node), f"`you` is the player, not {_a(kind)}; hint: `you` can be bitten, cured "
                       "or made a carrier, and tested with `you are ...`", "wrong-kind")
        elif found is not None and found != kind:
            self.error(self.at(file, node), f"{name!r} is {_a(found)}, not {_a(kind)}", "wrong-kind")
        else:
            hint = _did_you_mean(name, pool) or f"; hint: declare it under {kind}s: in story.yaml"
            self.error(self.at(file, node), f"undeclared {kind} {name!r}{hint}", "undeclared-name")
        return False

    def condition(self, file: _File, node) -> Optional[Condition]:
        where = self.at(file, node)
        if isinstance(node, yaml.ScalarNode) and node.tag == _BOOL:
            value = _CONSTRUCT.construct_yaml_bool(node)
            return Condition(node.value, ("true",) if value else ("false",), (lambda s: True) if value
                             else (lambda s: False), where)
        if not isinstance(node, yaml.ScalarNode) or node.tag != _STR:
            self.error(where, f"expected a condition such as `has mop` or `noise < 3`, found {_describe(node)}",
                       "wrong-type")
            return None
        source = node.value
        tree, errors, test, read = conditions.understand(source, self.names)
        for err in errors:
            self.error(self.locate(file, node, err.offset), err.message, err.rule)
        if errors:
            return None
        return Condition(source, tree, test, where, read)

    def template(self, file: _File, node, what: str):
        if not isinstance(node, yaml.ScalarNode) or node.tag == _NULL:
            self.error(self.at(file, node), f"{what}: expected text, found {_describe(node)}", "wrong-type")
            return None
        tpl, problems = text.parse_template(node.value, self.names, self.at(file, node),
                                            lambda off: self.locate(file, node, off))
        for err, where in problems:
            self.error(where, err.message, err.rule)
        return tpl

    def effects(self, file: _File, node) -> tuple:
        out = []
        for entry in self.sequence(file, node, "do"):
            if not isinstance(entry, yaml.MappingNode) or len(entry.value) != 1:
                self.error(self.at(file, entry), "expected an effect: a one-key mapping such as `gain: mop` or "
                           f"`add: {{noise: 1}}`, found {_describe(entry)}", "wrong-type")
                continue
            key, value = entry.value[0]
            op = key.value if isinstance(key, yaml.ScalarNode) else ""
            if op not in EFFECT_OPS:
                self.error(self.at(file, key), f"unknown effect {op!r}; expected one of {', '.join(EFFECT_OPS)}"
                           + _did_you_mean(op, EFFECT_OPS), "unknown-effect")
                continue
            out.extend(self.effect(file, op, value))
        return tuple(out)

    def effect(self, file: _File, op: str, node) -> list:
        names = self.names
        out = []
        if op in ("add",) or (op == "set" and isinstance(node, yaml.MappingNode)):
            if not isinstance(node, yaml.MappingNode):
                self.error(self.at(file, node), f"{op}: expected a mapping of counters to numbers such as "
                           f"`{{noise: 1}}`, found {_describe(node)}", "wrong-type")
                return out
            for k, v in node.value:
                target = k.value if isinstance(k, yaml.ScalarNode) else ""
                if op == "add" or target in names.counters:
                    if not self.check_ref(file, k, target, "counter", names.counters):
                        continue
                    amount = self.scalar(file, v, _INT_FIELD, f"{op} {target}")
                    if amount is not None:
                        out.append(Effect(op, target, amount, self.at(file, k)))
                else:
                    if not self.check_ref(file, k, target, "flag", names.flags):
                        continue
                    flag = self.scalar(file, v, _BOOL_FIELD, f"set {target}")
                    if flag is not None:
                        out.append(Effect("set", target, int(flag), self.at(file, k)))
            return out
        for target, tnode in self.ids(file, node, op):
            where = self.at(file, tnode)
            if op in ("gain", "lose"):
                ok = self.check_ref(file, tnode, target, "item", names.items)
            elif op in ("set", "clear"):
                ok = self.check_ref(file, tnode, target, "flag", names.flags)
            elif op in ("bite", "cure", "carrier") and target == PLAYER:
                ok = True
            else:
                ok = self.check_ref(file, tnode, target, "character", names.characters)
            if ok:
                out.append(Effect(op, target, 1 if op == "set" else 0, where))
        return out


def _int_value(node) -> int:
    """A YAML int's value: plain decimals (what stories write) directly, the rest (0x1f, 1_000, 0o17) by PyYAML."""
    text = node.value
    digits = text[1:] if text[:1] in ("+", "-") else text
    if digits.isascii() and digits.isdigit() and (digits == "0" or digits[0] != "0"):
        return -int(digits) if text[0] == "-" else int(digits)
    return _CONSTRUCT.construct_yaml_int(node)


def _a(kind: str) -> str:
    return ("an " if kind[0] in "aeiou" else "a ") + kind


def _describe(node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if node is None or node.tag == _NULL:
        return "nothing"
    if node.tag == _BOOL:
        return f"the boolean {node.value}"
    if node.tag == _INT:
        return f"the number {node.value}"
    return f"the text {node.value[:40]!r}"


def _did_you_mean(name: str, candidates) -> str:
    import difflib  # only when a name is wrong: not on every start

    close = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


__all__ = ["load", "load_story", "story_files", "StoryError"]
