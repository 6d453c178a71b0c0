"""The story file format as data: every key, its type and meaning (the loader and the schema read this)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from .effects import EFFECT_OPS


@dataclass(frozen=True)
class Field:
    """One key of a mapping.

    kind: str, int, bool, id, text, condition, effects, ids (an id or a list of ids),
    object (a mapping of `shape`), map (ids to `shape` objects), list (of `shape` objects).
    """

    kind: str
    doc: str
    required: bool = False
    shape: Optional["Shape"] = None
    enum: tuple = ()
    minimum: Optional[int] = None


@dataclass(frozen=True)
class Shape:
    name: str
    doc: str
    fields: dict = field(default_factory=dict)
    one_of: tuple = ()  # groups of keys of which exactly one must be present


ENDING = Shape("ending", "How the story ends at this node.", {
    "title": Field("str", "The ending's title, shown to the player and in the gallery.", required=True),
    "id": Field("id", "The ending's id (default: the node id); replay scripts and the gallery use it."),
    "epilogue": Field("text", "Text shown after the title: who survived, what was carried."),
})

OUTCOME = Shape("outcome", "One weighted branch of a random choice.", {
    "goto": Field("id", "The node this outcome leads to.", required=True),
    "weight": Field("int", "Relative chance (default 1).", minimum=1),
    "if": Field("condition", "The outcome is left out of the draw when this is false."),
    "text": Field("text", "A line shown when this outcome happens."),
    "do": Field("effects", "Effects applied when this outcome happens."),
})

CHOICE = Shape("choice", "A choice the player may be offered at a node.", {
    "text": Field("text", "What the player reads in the list of choices.", required=True),
    "id": Field("id", "A stable id, unique within the node: replay scripts and saves use it."),
    "if": Field("condition", "The choice is offered only when this is true."),
    "locked": Field("text", "Show the choice, disabled, with this reason when `if` is false."),
    "do": Field("effects", "Effects applied when the choice is taken."),
    "goto": Field("id", "The node the choice leads to."),
    "random": Field("list", "Weighted outcomes drawn with the seeded generator.", shape=OUTCOME),
}, one_of=(("goto", "random"),))

NODE = Shape("node", "One moment of the story: text, then choices or an ending.", {
    "text": Field("text", "What the player reads.", required=True),
    "place": Field("str", "Where this happens (shown in the status panel); default: the file's place."),
    "do": Field("effects", "Effects applied when the player arrives here."),
    "choices": Field("list", "The choices offered here.", shape=CHOICE),
    "ending": Field("object", "Makes this node an ending.", shape=ENDING),
}, one_of=(("choices", "ending"),))

CHARACTER = Shape("character", "A person whose fate the story tracks.", {
    "name": Field("str", "Full name.", required=True),
    "short": Field("str", "How prose and the status panel call them (default: the name)."),
    "fate": Field("str", "Fate at the start (default absent).", enum=("in-group", "separated", "absent")),
    "turns": Field("int", "This person's own infection clock: choices after a bite until they turn.", minimum=1),
    "description": Field("str", "A note for writers."),
})

ITEM = Shape("item", "Something the player can carry.", {
    "name": Field("str", "How the item is called in text and in the inventory.", required=True),
    "description": Field("str", "Shown in the inventory."),
})

FLAG = Shape("flag", "A true/false fact about the run.", {
    "description": Field("str", "A note for writers."),
    "start": Field("bool", "The value at the start (default false)."),
})

COUNTER = Shape("counter", "A whole number the story tracks, kept within min..max.", {
    "min": Field("int", "The lowest value.", required=True),
    "max": Field("int", "The highest value.", required=True),
    "start": Field("int", "The value at the start (default 0)."),
    "name": Field("str", "A label for the status panel (default: the id)."),
    "show": Field("bool", "Show it in the status panel."),
    "description": Field("str", "A note for writers."),
})

TRIGGER = Shape("trigger", "Sends the player somewhere when its condition becomes true after a choice.", {
    "if": Field("condition", "When this becomes true, the trigger fires.", required=True),
    "goto": Field("id", "Where the player is sent.", required=True),
    "do": Field("effects", "Effects applied when it fires."),
})

INFECTION = Shape("infection", "The infection clock, in choices after a bite.", {
    "turns": Field("int", "Choices after a bite until a person turns (default 8).", minimum=1),
    "feverish": Field("int", "Choices after a bite until the fever shows (default 3).", minimum=0),
    "turning": Field("int", "Choices after a bite until the last stage (default 6).", minimum=0),
    "on_player_turned": Field("id", "The node the player is sent to when they turn."),
})

PLAYER_SHAPE = Shape("player", "The player at the start.", {
    "items": Field("ids", "Items carried at the start."),
})

SCENE = Shape("scene file", "A story file: nodes, and a default place for them.", {
    "nodes": Field("map", "Node id to node.", shape=NODE),
    "place": Field("str", "Default place of this file's nodes."),
})

MANIFEST = Shape("manifest", "story.yaml: the story's title, start and declarations.", {
    "title": Field("str", "The story's title.", required=True),
    "start": Field("id", "The id of the first node.", required=True),
    "author": Field("str", "Who wrote it."),
    "infection": Field("object", "The infection clock.", shape=INFECTION),
    "player": Field("object", "The player at the start.", shape=PLAYER_SHAPE),
    "characters": Field("map", "Character id to character.", shape=CHARACTER),
    "items": Field("map", "Item id to item.", shape=ITEM),
    "flags": Field("map", "Flag id to flag.", shape=FLAG),
    "counters": Field("map", "Counter id to counter.", shape=COUNTER),
    "triggers": Field("list", "Checked in order after every choice.", shape=TRIGGER),
    "nodes": Field("map", "Node id to node.", shape=NODE),
    "place": Field("str", "Default place of this file's nodes."),
})

EFFECT_DOCS = {
    "gain": "You now carry the item(s).",
    "lose": "You no longer carry the item(s).",
    "join": "The character(s) join your group (not the dead or turned).",
    "leave": "The character(s) are separated from you.",
    "die": "The character(s) die.",
    "turn": "The character(s) turn into one of them.",
    "bite": "`you` or the character(s) are bitten: the infection clock starts.",
    "cure": "`you` or the character(s) are clean again.",
    "carrier": "`you` or the character(s) become asymptomatic carriers: infected, never turning.",
    "set": "A flag (or list of flags) becomes true; or a mapping of flags and counters to values.",
    "clear": "The flag(s) become false.",
    "add": "A mapping of counters to amounts added (may be negative).",
}
assert set(EFFECT_DOCS) == set(EFFECT_OPS)

ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_.\-]*$"
