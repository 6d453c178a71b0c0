"""The story compiled for play: each effect list as one function of a state's bits, and a memo of rendered text."""

from __future__ import annotations

import weakref
from typing import Optional

from .effects import chain, compile_effects, compile_tick
from .model import PLAYER, Story
from .text import template_reads

RENDER_MEMO_LIMIT = 200_000  # entries; the memo starts over past it, so memory stays bounded


class Machine:
    """Derived once per loaded story (see `Story.machine`); never changes what a step does, only its speed.

    `entry_of` gives a node's entry effects, `run_of` the own effects of a choice, an outcome
    or a trigger (by id()), and `edge_of` (target, every effect of taking it) for a plain
    choice or an outcome (by id()); effects are one function or None. Each is compiled on
    first use, and kept in the dict of the same name: a player's first screen needs a few,
    a search all.
    """

    def __init__(self, story: Story):
        layout = story.layout
        self.layout = layout
        self.tick = compile_tick(story, layout)
        owners: dict = {}  # id() -> the choice, outcome or trigger
        takes: dict = {}  # id() of a plain choice or an outcome -> (its choice, the outcome or None)
        for node in story.nodes.values():
            for choice in node.choices:
                owners[id(choice)] = choice
                if choice.goto is not None:
                    takes[id(choice)] = (choice, None)
                for outcome in choice.outcomes:
                    owners[id(outcome)] = outcome
                    takes[id(outcome)] = (choice, outcome)
        for trigger in story.triggers:
            owners[id(trigger)] = trigger
        # Plain dicts, which the hot path indexes directly (a dict subclass filling itself is
        # slower to index); it calls the methods below on a KeyError.
        self.entry: dict = {}
        self.run: dict = {}
        self.edge: dict = {}
        # The story by a weak reference: it holds this machine, and a cycle would keep a checked
        # story alive until the collector's next full pass (a third of a second on 10,000 nodes).
        self._story, self._owners, self._takes = weakref.ref(story), owners, takes
        self.ends = {n.id: n.ending is not None for n in story.nodes.values()}
        # A trigger fires when its condition becomes true, which needs the bits it reads (or the turn) to change.
        self.triggers = tuple((t, *self.mask_of(story, t.condition.names), self.run_of(id(t))) for t in story.triggers)
        self.turn_at: Optional[str] = story.infection.on_player_turned
        self.player_shift = layout.clock_shifts[0]
        self.player_top = layout.turns[0] + 2  # the stored value of a clock that has run out
        self.rendered: dict = {}
        self.scenes: dict = {}
        self.verdicts: dict = {}  # invariants' memo
        self._masks: dict = {}

    def entry_of(self, node_id: str):
        """A node's entry effects as one function, or None."""
        try:
            return self.entry[node_id]
        except KeyError:
            story = self._story()
            fn = self.entry[node_id] = compile_effects(story, self.layout, story.nodes[node_id].effects)
            return fn

    def run_of(self, key: int):
        """The effects of one choice, outcome or trigger (by id()) as one function, or None."""
        try:
            return self.run[key]
        except KeyError:
            fn = self.run[key] = compile_effects(self._story(), self.layout, self._owners[key].effects)
            return fn

    def edge_of(self, key: int) -> tuple:
        """(target, all the effects of taking it) for a plain choice or an outcome, by id()."""
        try:
            return self.edge[key]
        except KeyError:
            choice, outcome = self._takes[key]
            if outcome is None:
                found = choice.goto, chain(self.run_of(id(choice)), self.entry_of(choice.goto))
            else:
                found = outcome.goto, chain(self.run_of(id(choice)), self.run_of(id(outcome)),
                                            self.entry_of(outcome.goto))
            self.edge[key] = found
            return found

    def mask_of(self, story: Story, names) -> tuple:
        """(the bits that hold these names' values, whether `turn` is among them)."""
        layout = self.layout
        mask = 0
        for name in names:
            if name in layout.item_bit:
                mask |= layout.item_bit[name]
            elif name in layout.flag_bit:
                mask |= layout.flag_bit[name]
            elif name in story.counter_index:
                s, m, _, _ = layout.counter_fields[story.counter_index[name]]
                mask |= m << s
            elif name in story.character_index:
                i = story.character_index[name]
                mask |= (7 << layout.fate_shifts[i]) | (layout.clock_mask << layout.clock_shifts[1 + i])
            elif name == PLAYER:
                mask |= layout.clock_mask << layout.clock_shifts[0]
        return mask, "turn" in names

    def remember(self, memo: dict, key, value):
        """Store `value` in a memo that starts over when full, and return it."""
        if len(memo) >= RENDER_MEMO_LIMIT:
            memo.clear()
        memo[key] = value
        return value

    def scene_mask(self, story: Story, node_id: str) -> tuple:
        """What a whole scene (its text, which choices are offered, their texts) can depend on."""
        found = self._masks.get(node_id)
        if found is None:
            node = story.nodes[node_id]
            mask, turn = self.template_mask(story, node.text)
            for choice in node.choices:
                for template in (choice.text, choice.locked):
                    if template is not None and not template.static:
                        m, t = self.template_mask(story, template)
                        mask, turn = mask | m, turn or t
                if choice.condition is not None:
                    m, t = self.mask_of(story, choice.condition.names)
                    mask, turn = mask | m, turn or t
            found = self._masks[node_id] = (mask, turn)
        return found

    def template_mask(self, story: Story, template) -> tuple:
        """What a template's rendering can depend on, as mask_of returns it."""
        found = self._masks.get(id(template))
        if found is None:
            names: set = set()
            extra = 0
            for kind, value in template_reads(template.parts):
                if kind == "names":
                    names |= value
                elif kind == "counter":
                    names.add(story.counters[value].id)
                elif kind == "sub" and value == "group":
                    extra |= self.layout.fates_mask
                elif kind == "sub" and value == "items":
                    for _, bit in self.layout.item_bits:
                        extra |= bit
                elif kind == "sub" and value == "turn":
                    names.add("turn")
                elif kind == "sub" and value == "infection":
                    names.add(PLAYER)
            mask, turn = self.mask_of(story, names)
            found = self._masks[id(template)] = (mask | extra, turn)
        return found
