"""The pure engine on inline stories: conditions, effects, infection, random branches, triggers, text."""

import pytest

from engine import runtime
from engine.runtime import available, find_choice, render, step
from engine.session import Session
from engine.state import CARRIER, CLEAN, stage

MANIFEST = """\
title: Engine
start: hub
infection: {turns: 4, feverish: 2, turning: 3, on_player_turned: end.turned}
player: {items: [tag]}
characters:
  on-jo: {name: Nam On-jo, short: On-jo, fate: in-group}
  su-hyeok: {name: Lee Su-hyeok, short: Su-hyeok}
  gyeong-su: {name: Han Gyeong-su, short: Gyeong-su, fate: in-group, turns: 2}
items:
  tag: {name: name tag}
  mop: {name: mop handle}
  knife: {name: kitchen knife}
flags:
  alarm: {}
  lit: {start: true}
counters:
  noise: {min: 0, max: 5}
  time: {min: 0, max: 100, start: 10}
nodes:
  hub:
    text: Hub.
    choices:
      - {id: stay, text: Stay, goto: hub}
      - {id: end, text: End, goto: end.ok}
  end.ok:
    text: Done.
    ending: {title: Done}
  end.turned:
    text: You turned.
    ending: {title: Turned}
"""


def with_choices(choices_yaml: str, extra_nodes: str = "") -> str:
    """The manifest with node `hub` given these choices (indented YAML list)."""
    head, _, _ = MANIFEST.partition("nodes:\n")
    return head + "nodes:\n  hub:\n    text: Hub.\n    choices:\n" + choices_yaml + """\
  end.ok:
    text: Done.
    ending: {title: Done}
  end.turned:
    text: You turned.
    ending: {title: Turned}
""" + extra_nodes


def cond_story(make_story, condition: str):
    return make_story(with_choices(f"""\
      - {{id: test, text: Test, if: "{condition}", goto: end.ok}}
      - {{id: stay, text: Stay, goto: hub}}
"""))


def offered_ids(story, state):
    return [c.key for c in available(story, state)]


def take(story, state, key):
    choice = find_choice(story, state, key)
    assert choice is not None, f"{key!r} not offered at {state.node}: {offered_ids(story, state)}"
    return step(story, state, choice).state


@pytest.mark.parametrize("condition, expected", [
    ("has tag", True),
    ("has mop", False),
    ("not has mop", True),
    ("with on-jo", True),
    ("with su-hyeok", False),
    ("su-hyeok is absent", True),
    ("on-jo is in-group", True),
    ("on-jo is alive", True),
    ("on-jo is dead", False),
    ("on-jo is not dead", True),
    ("lit", True),
    ("alarm", False),
    ("time == 10", True),
    ("time != 10", False),
    ("time > 9", True),
    ("time >= 11", False),
    ("noise < 1", True),
    ("noise <= -1", False),
    ("turn == 0", True),
    ("you are clean", True),
    ("you are turned", False),
    ("not you are turned", True),
    ("you are infected", False),
    ("has tag and with on-jo", True),
    ("has mop or with on-jo", True),
    ("has mop or alarm", False),
    ("not (has mop or alarm)", True),
    ("has mop and alarm or lit", True),
    ("has mop and (alarm or lit)", False),
    ("true", True),
    ("false", False),
])
def test_condition_at_start(make_story, condition, expected):
    story = cond_story(make_story, condition)
    state = runtime.start(story, seed=1)
    assert ("test" in offered_ids(story, state)) is expected


def effects_story(make_story, effects: str):
    return make_story(with_choices(f"""\
      - id: act
        text: Act
        do: {effects}
        goto: hub
      - {{id: stay, text: Stay, goto: hub}}
"""))


def test_gain_and_lose_items(make_story):
    story = effects_story(make_story, "[{gain: [mop, knife]}, {lose: tag}]")
    state = take(story, runtime.start(story, 1), "act")
    assert state.items == {"mop", "knife"}


def test_gaining_an_item_held_keeps_one(make_story):
    story = effects_story(make_story, "[{gain: tag}]")
    state = take(story, runtime.start(story, 1), "act")
    assert state.items == {"tag"}


def test_join_leave_die_turn(make_story):
    story = effects_story(make_story, "[{join: su-hyeok}, {leave: on-jo}, {die: gyeong-su}]")
    state = take(story, runtime.start(story, 1), "act")
    assert state.fates == ("separated", "in-group", "dead")
    story = effects_story(make_story, "[{turn: on-jo}, {join: on-jo}]")
    state = take(story, runtime.start(story, 1), "act")
    assert state.fates[0] == "turned", "the turned never rejoin"


def test_flags_and_counters_clamp(make_story):
    story = effects_story(make_story, "[{set: alarm}, {clear: lit}, {add: {noise: 9}}, {set: {time: -5}}]")
    state = take(story, runtime.start(story, 1), "act")
    assert state.flags == {"alarm"}
    assert state.counters == (5, 0), "counters stay within min..max"
    story = effects_story(make_story, "[{set: {alarm: true, lit: false, time: 42}}, {add: {noise: -3}}]")
    state = take(story, runtime.start(story, 1), "act")
    assert state.flags == {"alarm"} and state.counters == (0, 42)


def test_bite_runs_the_clock_through_each_stage(make_story):
    story = effects_story(make_story, "[{bite: you}]")
    state = take(story, runtime.start(story, 1), "act")
    seen = [stage(story, state, "you")]
    for _ in range(4):
        state = take(story, state, "stay")
        seen.append(stage(story, state, "you"))
    assert seen == ["bitten", "bitten", "feverish", "turning", "turned"]
    assert state.node == "end.turned", "turning sends the player to infection.on_player_turned"


def test_player_turns_at_the_clock_even_mid_choice(make_story):
    story = effects_story(make_story, "[{bite: you}]")
    state = take(story, runtime.start(story, 1), "act")
    assert state.infection[0] == 0
    for n in range(4):
        assert state.node == "hub", f"turned too early, after {n} choices"
        state = take(story, state, "stay")
    assert state.node == "end.turned" and runtime.is_ending(story, state)


def test_companion_turns_on_their_own_clock(make_story):
    story = effects_story(make_story, "[{bite: gyeong-su}, {bite: on-jo}]")
    state = take(story, runtime.start(story, 1), "act")
    state = take(story, state, "stay")
    assert state.fates[2] == "in-group"
    state = take(story, state, "stay")
    assert state.fates[2] == "turned", "Gyeong-su's own clock is 2 turns"
    assert state.fates[0] == "in-group" and stage(story, state, "on-jo") == "feverish"


def test_carrier_never_turns_and_cure_cleans(make_story):
    story = effects_story(make_story, "[{bite: you}, {carrier: you}, {bite: on-jo}, {cure: on-jo}]")
    state = take(story, runtime.start(story, 1), "act")
    for _ in range(6):
        state = take(story, state, "stay")
    assert state.infection[0] == CARRIER and state.node == "hub"
    assert stage(story, state, "you") == "carrier"
    assert state.infection[1] == CLEAN


def test_stage_conditions(make_story):
    story = make_story(with_choices("""\
      - {id: bite, text: Bite, do: [{bite: on-jo}], goto: hub}
      - {id: bitten, text: B, if: "on-jo is bitten", goto: hub}
      - {id: feverish, text: F, if: "on-jo is feverish", goto: hub}
      - {id: infected, text: I, if: "on-jo is infected", goto: hub}
      - {id: stay, text: Stay, goto: hub}
"""))
    state = runtime.start(story, 1)
    assert offered_ids(story, state) == ["bite", "stay"]
    state = take(story, state, "bite")
    assert offered_ids(story, state) == ["bite", "bitten", "infected", "stay"]
    state = take(story, state, "stay")
    state = take(story, state, "stay")
    assert offered_ids(story, state) == ["bite", "bitten", "feverish", "infected", "stay"]


RANDOM = with_choices("""\
      - id: flip
        text: Flip
        random:
          - {weight: 3, goto: heads, text: Heads.}
          - {weight: 1, goto: tails, if: "not has mop"}
      - {id: grab, text: Grab, do: [{gain: mop}], goto: hub}
""", """\
  heads:
    text: Heads.
    ending: {title: Heads}
  tails:
    text: Tails.
    ending: {title: Tails}
""")


def test_random_is_reproducible_by_seed(make_story):
    story = make_story(RANDOM)
    runs = {seed: take(story, runtime.start(story, seed), "flip").node for seed in range(200)}
    again = {seed: take(story, runtime.start(story, seed), "flip").node for seed in range(200)}
    assert runs == again
    tails = sum(1 for node in runs.values() if node == "tails")
    assert 25 <= tails <= 75, f"weight 1 of 4 should come up about 50 times in 200, got {tails}"


def test_random_outcome_condition_rules_it_out(make_story):
    story = make_story(RANDOM)
    for seed in range(50):
        state = take(story, runtime.start(story, seed), "grab")
        assert take(story, state, "flip").node == "heads"


def test_random_draw_advances_the_stored_generator(make_story):
    story = make_story(RANDOM)
    state = runtime.start(story, 5)
    turn = step(story, state, find_choice(story, state, "flip"))
    assert turn.state.rng != state.rng
    assert turn.outcome is not None and turn.outcome.goto == turn.state.node


def test_step_returns_a_new_state_and_leaves_the_old_one(make_story):
    story = effects_story(make_story, "[{gain: mop}, {add: {noise: 1}}]")
    start = runtime.start(story, 1)
    after = take(story, start, "act")
    assert start.items == {"tag"} and start.counters == (0, 10) and start.turn == 0
    assert after.turn == 1 and after.counters == (1, 10)
    with pytest.raises(AttributeError):
        after.node = "x"


def test_trigger_fires_when_its_condition_becomes_true(make_story):
    manifest = MANIFEST.replace("nodes:\n", """\
triggers:
  - if: noise >= 2
    goto: alarm
    do: [{set: alarm}]
nodes:
  alarm:
    text: They heard you.
    choices: [{id: back, text: Back, goto: hub}]
""", 1).replace("      - {id: stay, text: Stay, goto: hub}",
                "      - {id: stay, text: Stay, goto: hub}\n      - {id: loud, text: Loud, do: [{add: {noise: 1}}], goto: hub}")
    story = make_story(manifest)
    state = take(story, runtime.start(story, 1), "loud")
    assert state.node == "hub"
    state = take(story, state, "loud")
    assert state.node == "alarm" and "alarm" in state.flags
    state = take(story, state, "back")
    state = take(story, state, "loud")
    assert state.node == "hub", "a trigger fires when it becomes true, not while it stays true"


def test_node_entry_effects(make_story):
    story = make_story(with_choices("      - {id: go, text: Go, goto: room}\n", """\
  room:
    text: A room.
    do: [{add: {time: 5}}, {gain: knife}]
    choices: [{id: back, text: Back, goto: hub}]
"""))
    state = take(story, runtime.start(story, 1), "go")
    assert state.counters[1] == 15 and "knife" in state.items


def test_effects_are_compiled_when_first_taken_and_then_kept(make_story):
    story = make_story(with_choices("      - {id: go, text: Go, goto: room}\n", """\
  room:
    text: A room.
    do: [{gain: knife}]
    choices: [{id: back, text: Back, do: [{lose: knife}], goto: hub}]
"""))
    machine = story.machine
    assert machine.edge == {}  # nothing compiled before the first step
    state = take(story, runtime.start(story, 1), "go")
    assert "knife" in state.items and len(machine.edge) == 1 and "room" in machine.entry
    kept = dict(machine.edge)
    state = take(story, take(story, state, "back"), "go")
    assert "knife" in state.items and len(machine.edge) == 2
    assert all(machine.edge[k] is v for k, v in kept.items())  # compiled once, not again


def test_a_played_story_is_freed_without_the_collector(make_story):
    """No reference cycle through the compiled machine: a check frees a large story at once."""
    import gc
    import weakref

    story = effects_story(make_story, "[{gain: mop}]")
    take(story, runtime.start(story, 1), "act")
    assert story.machine.edge  # compiled, and so holding what it compiled from
    gone = weakref.ref(story)
    paused = gc.isenabled()
    gc.disable()
    try:
        del story
        assert gone() is None
    finally:
        if paused:
            gc.enable()


def test_text_substitutions_and_fragments(make_story):
    story = make_story(with_choices("      - {id: stay, text: Stay, goto: hub}\n", """\
  talk:
    text: |
      {if with su-hyeok}Su-hyeok nods.{elif with on-jo}{on-jo} nods{if has mop}, eyeing the mop{end}.{else}No
      one nods.{end} With you: {group}. You carry {items}.
      Noise {noise}, turn {turn}, you are {infection}. {{braces}}

      Second paragraph.
    choices: [{id: back, text: Back, goto: hub}]
"""))
    state = runtime.start(story, 1).with_(node="talk")
    assert render(story, state, story.nodes["talk"].text) == (
        "On-jo nods. With you: On-jo and Gyeong-su. You carry a name tag. "
        "Noise 0, turn 0, you are clean. {braces}\n\nSecond paragraph.")
    state = state.with_(items=frozenset({"mop", "tag"}), fates=("in-group", "absent", "dead"))
    assert render(story, state, story.nodes["talk"].text).startswith(
        "On-jo nods, eyeing the mop. With you: On-jo. You carry a mop handle and a name tag.")
    state = state.with_(fates=("dead", "absent", "dead"), items=frozenset())
    assert render(story, state, story.nodes["talk"].text).startswith("No one nods. With you: no one. You carry nothing.")


def test_session_undo_goes_back_any_number_of_times(make_story):
    story = effects_story(make_story, "[{gain: mop}]")
    session = Session(story, seed=3)
    first = session.state
    session.choose(find_choice(story, session.state, "act"))
    session.choose(find_choice(story, session.state, "stay"))
    assert session.state.turn == 2 and len(session.log) == 2
    assert session.undo() and session.undo()
    assert session.state == first and session.log == []
    assert not session.undo()


def test_locked_choice_is_shown_not_offered(make_story):
    story = make_story(with_choices("""\
      - {id: door, text: Open the door, if: has mop, locked: "You need something to pry it.", goto: end.ok}
      - {id: stay, text: Stay, goto: hub}
"""))
    state = runtime.start(story, 1)
    offers = runtime.offers(story, state)
    assert [(o.choice.key, o.number, o.locked_reason) for o in offers] == [
        ("door", None, "You need something to pry it."), ("stay", 1, None)]
    assert find_choice(story, state, "door") is None and find_choice(story, state, 1).key == "stay"
