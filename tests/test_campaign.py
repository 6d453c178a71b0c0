"""The bundled campaign: its size, an ending script for every ending, and a clean check.

The scripts in tests/endings/ run as tests of their own through the pytest plugin
(engine/pytest_plugin.py): each reaches its ending and expects who survived and what was
carried. Here we make sure none is missing and the campaign keeps its promises.
"""

from pathlib import Path

import pytest

from engine.check import check_story
from engine.commands import story_stats
from engine.loader import load
from engine.replay import parse_script

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def campaign():
    return load(ROOT / "story")


def test_the_campaign_is_a_game_not_a_corridor(campaign):
    stats = story_stats(campaign, runs=200)
    assert stats["nodes"] >= 150 and stats["choices"] >= 350 and stats["words"] >= 25_000
    assert stats["endings"] >= 12 and stats["characters"] >= 10 and stats["items"] >= 10


def test_every_ending_has_a_replay_script(campaign):
    scripts = {}
    for path in sorted((ROOT / "tests" / "endings").glob("*.replay.yaml")):
        script = parse_script(path)
        final = script.steps[-1].expect
        assert "ending" in final and "fates" in final and "has" in final, path
        scripts[final["ending"][0]] = path
    assert sorted(scripts) == sorted(campaign.endings)


def test_check_reports_no_errors(campaign):
    errors = [str(p) for p in check_story(campaign, max_states=20_000) if p.level == "error"]
    assert errors == []


def test_the_default_check_reaches_every_node_and_warns_of_nothing(campaign):
    # The detective and the cure need the research notes from the lab, thirty choices back:
    # the searches aimed at them must go by the notes (aim.landmarks).
    assert [str(p) for p in check_story(campaign)] == []


@pytest.mark.parametrize("ending, told", [("city-alone", "Before midnight the fever comes"),
                                          ("rescued-together", "Before midnight the fever comes back"),
                                          ("rescued-few", "The fever finds you again"),
                                          ("chicken", "the ninth day is not for you")])
def test_turning_on_the_choice_that_ends_the_game_is_not_told_as_clean(campaign, ending, told):
    from engine import runtime
    from engine.preset import preset_state
    from engine.state import stage
    from engine.text import render

    node = campaign.endings[ending]
    way_in = [(n, c, o) for n in campaign.nodes.values() for c in n.choices for o in (c.outcomes or (None,))
              if (o.goto if o else c.goto) == node.id]
    assert way_in, f"nothing leads to {node.id}"
    source, choice, outcome = way_in[0]
    # one choice before the clock runs out: the last choice turns you, and the ending wins
    state = preset_state(campaign, source.id, seed=1, infection={"you": campaign.person_turns("you") - 1})
    after = runtime.take(campaign, state, choice, outcome).state
    assert after.node == node.id and stage(campaign, after, "you") == "turned"
    assert told in render(campaign, after, node.ending.epilogue)


def test_remembered_scenes_are_what_rendering_afresh_gives(campaign):
    """The scene and text memos are keyed by what a template can read; a key too narrow would show stale text."""
    from engine import present, runtime
    from engine.state import draw, seed_generator
    from engine.text import _render_parts, normalize

    def afresh(state, template):
        if template.static:
            return template.parts[0]
        out: list = []
        _render_parts(campaign, state, template.parts, out)
        return normalize("".join(out))

    compared = 0
    for seed in range(60):
        state, picker = runtime.start(campaign, seed), seed_generator(seed)
        while True:
            node = campaign.nodes[state.node]
            lines = present.scene_lines(campaign, state)
            assert lines[:len(afresh(state, node.text).split("\n"))] == afresh(state, node.text).split("\n")
            if node.ending is not None:
                if node.ending.epilogue is not None:
                    from engine.text import render
                    assert render(campaign, state, node.ending.epilogue) == afresh(state, node.ending.epilogue)
                break
            offers = runtime.offers(campaign, state)
            assert [o.text for o in offers] == [afresh(state, o.choice.text) for o in offers]
            offered = runtime.available(campaign, state)
            index, picker = draw(picker, len(offered))
            state = runtime.step(campaign, state, offered[index]).state
            compared += 1
    assert compared > 500


def test_the_city_from_a_well_prepared_arrival_is_searched_to_the_end(campaign):
    """The whole campaign is too rich to search, but a scene from a given state is not."""
    from engine import explore
    from engine.preset import preset_state

    start = preset_state(campaign, "city.enter", 0, items=["lighter", "phone", "research-notes"],
                         fates={"on-jo": "in-group", "su-hyeok": "in-group", "nam-ra": "in-group"},
                         counters={"time": 100}, infection={"su-hyeok": 3})
    report = explore.explore_exhaustive(campaign, 50_000, start=start)
    assert report.complete and not report.failed
    assert {"cure", "rescued-together", "refused", "chicken", "alone-helicopter"} <= set(report.ending_paths)
    alone = explore.explore_exhaustive(campaign, 50_000, start=start.with_(
        items=frozenset({"phone"}), fates=tuple("absent" for _ in campaign.characters)))
    assert alone.complete and "cure" not in alone.ending_paths, "no notebook, no proof: no cure"
