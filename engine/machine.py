"""The story compiled for play: each effect list as one function of a state's bits, and a memo of rendered text."""

from __future__ import annotations

from typing import Optional

from .effects import chain, compile_effects, compile_tick
from .model import PLAYER, Story
from .text import template_reads

RENDER_MEMO_LIMIT = 200_000  # entries; the memo starts over past it, so memory stays bounded


class Machine:
    """Derived once per loaded story (see `Story.machine`); never changes what a step does, only its speed.

    `run` maps id() of a choice, an outcome or a trigger to its compiled effects (absent
    when it has none); `entry` maps a node id to its entry effects.
    """

    def __init__(self, story: Story):
        layout = story.layout
        self.layout = layout
        self.tick = compile_tick(story, layout)
        self.run: dict = {}
        self.entry: dict = {}
        self.ends = {n.id: n.ending is not None for n in story.nodes.values()}
        self.edge: dict = {}  # id() of a plain choice or of an outcome -> (target, all its effects or None)
        for node in story.nodes.values():
            fn = compile_effects(story, layout, node.effects)
            if fn is not None:
                self.entry[node.id] = fn
        for node in story.nodes.values():
            for choice in node.choices:
                self._add(story, choice)
                if choice.goto is not None:
                    self.edge[id(choice)] = (choice.goto, chain(self.run.get(id(choice)),
                                                                 self.entry.get(choice.goto)))
                for outcome in choice.outcomes:
                    self._add(story, outcome)
                    self.edge[id(outcome)] = (outcome.goto, chain(self.run.get(id(choice)), self.run.get(id(outcome)),
                                                                   self.entry.get(outcome.goto)))
        for trigger in story.triggers:
            self._add(story, trigger)
        # A trigger fires when its condition becomes true, which needs the bits it reads (or the turn) to change.
        self.triggers = tuple((t, *self.mask_of(story, t.condition.names), self.run.get(id(t))) for t in story.triggers)
        self.turn_at: Optional[str] = story.infection.on_player_turned
        self.player_shift = layout.clock_shifts[0]
        self.player_top = layout.turns[0] + 2  # the stored value of a clock that has run out
        self.rendered: dict = {}
        self.scenes: dict = {}
        self.verdicts: dict = {}  # invariants' memo
        self._masks: dict = {}

    def _add(self, story: Story, owner) -> None:
        fn = compile_effects(story, self.layout, owner.effects)
        if fn is not None:
            self.run[id(owner)] = fn

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
