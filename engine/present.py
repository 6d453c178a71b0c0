"""What the players show, as plain strings: status, inventory, changes after a step, the ending report."""

from __future__ import annotations

from .model import PLAYER, Story
from .state import GameState, stage
from .runtime import offers
from .text import join_names, render

STAGE_METER = {"clean": 0, "carrier": 0, "bitten": 1, "feverish": 2, "turning": 3, "turned": 4}
FATE_LABEL = {"in-group": "with you", "separated": "separated", "absent": "not met", "dead": "dead",
              "turned": "turned"}

HELP = """Commands (type the word, or in the full-screen game press the key in brackets):
  a number     take that choice
  save [SLOT]  save the game (default slot: quicksave)            [s]
  load [SLOT]  load a save (default: the latest)                  [l]
  undo         take back the last choice, as often as you like    [u]
  status       where you are, who is with you, your infection     [t]
  inventory    what you carry                                     [i]
  reload       read the story files again after an edit (writers) [r]
  help         this list                                          [h or ?]
  quit         leave the game (your progress is autosaved)        [q]"""


def infection_meter(story: Story, state: GameState, who: str = PLAYER) -> str:
    """Your infection as a meter, e.g. `[##--] feverish`."""
    s = stage(story, state, who)
    if s == "carrier":
        return "[~~~~] carrier"
    filled = STAGE_METER[s]
    return "[" + "#" * filled + "-" * (4 - filled) + "] " + s


def person_line(story: Story, state: GameState, index: int) -> str:
    c = story.characters[index]
    fate = state.fates[index]
    line = f"{c.short}: {FATE_LABEL[fate]}"
    s = stage(story, state, c.id)
    if fate not in ("dead", "turned") and s != "clean":
        line += f", {s}"
    return line


def known_people(story: Story, state: GameState) -> list:
    """Indices of characters the player has met (not absent)."""
    return [i for i, f in enumerate(state.fates) if f != "absent"]


def status_lines(story: Story, state: GameState) -> list:
    node = story.nodes[state.node]
    lines = [f"Place: {node.place or '-'}", f"Turn: {state.turn}", f"You: {infection_meter(story, state)}"]
    people = known_people(story, state)
    if people:
        lines.append("People:")
        lines.extend("  " + person_line(story, state, i) for i in people)
    shown = [(c, v) for c, v in zip(story.counters, state.counters) if c.show]
    for c, v in shown:
        lines.append(f"{c.name}: {v}/{c.max}")
    lines.append("Carrying: " + (", ".join(story.item_by_id[i].name for i in sorted(state.items)) or "nothing"))
    return lines


def inventory_lines(story: Story, state: GameState) -> list:
    if not state.items:
        return ["You carry nothing."]
    lines = ["You carry:"]
    for item_id in sorted(state.items):
        item = story.item_by_id[item_id]
        lines.append(f"  {item.name}" + (f": {item.description}" if item.description else ""))
    return lines


def changes(story: Story, before: GameState, after: GameState) -> list:
    """Short notes on what a step changed that the prose may not say outright."""
    notes = []
    gained = after.items - before.items
    lost = before.items - after.items
    if gained:
        notes.append("Taken: " + join_names([story.item_by_id[i].name for i in sorted(gained)]) + ".")
    if lost:
        notes.append("Gone: " + join_names([story.item_by_id[i].name for i in sorted(lost)]) + ".")
    for i, (f0, f1) in enumerate(zip(before.fates, after.fates)):
        if f0 != f1 and not (f1 == "separated" and f0 != "in-group"):  # leaving is news only from the group
            who = story.characters[i].short
            notes.append({
                "in-group": f"{who} is with you.",
                "separated": f"{who} is no longer with you.",
                "dead": f"{who} is dead.",
                "turned": f"{who} has turned.",
                "absent": f"{who} is gone.",
            }[f1])
    s0, s1 = stage(story, before, PLAYER), stage(story, after, PLAYER)
    if s0 != s1 and s1 not in ("clean",):
        notes.append({"bitten": "You have been bitten.", "feverish": "The fever has you.",
                      "turning": "You are turning.", "turned": "You have turned.",
                      "carrier": "The bite burns, then cools. You are still you."}[s1])
    elif s0 != s1:
        notes.append("You are clean.")
    return notes


def ending_report(story: Story, session_states: list, ending, newly_found: bool, found: int,
                  in_gallery: bool = True) -> list:
    """The ending screen: title, epilogue, the run's statistics, and the gallery count."""
    state = session_states[-1]
    total = len(story.endings)
    lines = [f"ENDING: {ending.title}"]
    if ending.epilogue is not None:
        lines += ["", render(story, state, ending.epilogue)]
    alive = [story.characters[i].short for i in known_people(story, state) if state.fates[i] == "in-group"]
    lost = [story.characters[i].short for i in known_people(story, state) if state.fates[i] in ("dead", "turned")]
    lines += [
        "",
        f"Choices made: {state.turn}",
        f"With you at the end: {join_names(alive) if alive else 'no one'}",
        f"Lost: {join_names(lost) if lost else 'no one'}",
        "Carried out: " + (join_names([story.item_by_id[i].name for i in sorted(state.items)]) or "nothing"),
        ("New ending found! " if newly_found else "Ending already found. " if in_gallery else "")
        + f"Endings found: {found} of {total}.",
    ]
    return lines


def scene_lines(story: Story, state: GameState) -> list:
    """The scene as plain mode and transcripts show it: the text, then the numbered choices.

    Remembered by what the scene can read (see Machine.scene_mask), like rendered text.
    """
    machine = story.machine
    mask, reads_turn = machine.scene_mask(story, state.node)
    key = (state.node, state.bits & mask, state.turn if reads_turn else 0)
    found = machine.scenes.get(key)
    if found is None:
        found = machine.remember(machine.scenes, key, tuple(_scene_lines(story, state)))
    return list(found)


def _scene_lines(story: Story, state: GameState) -> list:
    lines = render(story, state, story.nodes[state.node].text).split("\n")
    if story.nodes[state.node].ending is not None:
        return lines
    lines.append("")
    for offer in offers(story, state):
        if offer.enabled:
            lines.append(f"{offer.number}) {offer.text}")
        else:
            lines.append(f"-) {offer.text} (unavailable: {offer.locked_reason})")
    return lines
