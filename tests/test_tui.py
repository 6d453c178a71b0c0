"""The full-screen player, driven by keys through a pipe: what it does to the game and the save files."""

import json
import threading

import pytest
from prompt_toolkit.data_structures import Size
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import ColorDepth, DummyOutput

from engine.game import Game
from engine.loader import load
from engine.tui import FullScreenPlayer, run_fullscreen

DOWN, UP, ENTER, ESC, CTRL_C, CTRL_D = "\x1b[B", "\x1b[A", "\r", "\x1b", "\x03", "\x04"

STORY = """\
title: "Test Outbreak"
start: lab
infection: {turns: 6, feverish: 2, turning: 4, on_player_turned: end.turned}
characters:
  on-jo: {name: Nam On-jo, short: On-jo}
items:
  mop: {name: mop handle, description: "Wood, cracked, long enough to keep a mouth away."}
counters:
  noise: {name: Noise, min: 0, max: 10, show: true}
nodes:
  lab:
    place: Science lab
    text: |
      The bell rings. Something thumps inside the cage on the teacher's desk,
      and the glass of the door fogs with someone's breath.

      {if with on-jo}On-jo is beside you, holding her phone up like a torch.{end}
    choices:
      - id: mop
        text: Take the mop from the corner.
        if: not has mop
        locked: You already have it.
        do: [{gain: mop}, {add: {noise: 1}}]
        goto: lab
      - id: onjo
        text: Call On-jo over.
        if: not with on-jo
        do: [{join: on-jo}]
        goto: lab
      - id: run
        text: Run for the hall.
        random:
          - goto: hall
          - text: You slip on the wet floor and a hand closes on your ankle.
            do: [{bite: you}]
            goto: hall
  hall:
    place: Hallway
    text: The hallway is full of running feet. You feel {infection}.
    choices:
      - id: window
        text: Climb out of the window.
        goto: end.window
      - id: stay
        text: Hide in the classroom.
        goto: end.class
  end.window:
    text: You drop into the flowerbed.
    ending:
      id: out-the-window
      title: Out the Window
      epilogue: "{if with on-jo}On-jo lands beside you.{else}You land alone.{end}"
  end.class:
    text: The door holds.
    ending: {id: classroom, title: Behind the Door}
  end.turned:
    text: The world goes grey.
    ending: {id: turned, title: Turned}
"""


class ColourOutput(DummyOutput):
    def get_default_color_depth(self) -> ColorDepth:
        return ColorDepth.DEPTH_8_BIT


class NarrowOutput(DummyOutput):
    def get_size(self) -> Size:
        return Size(rows=12, columns=40)


@pytest.fixture
def story(tmp_path):
    directory = tmp_path / "story"
    directory.mkdir()
    (directory / "story.yaml").write_text(STORY, encoding="utf-8")
    return load(directory)


@pytest.fixture
def game(story, tmp_path):
    return Game(story, tmp_path / "saves", seed=1)


def drive(game, keys, output=None, idle=None, **kwargs):
    """Run the player on `keys` in a thread; fail (rather than hang) if the keys never make it quit."""
    result = []
    with create_pipe_input() as inp:
        inp.send_text(keys)
        player = FullScreenPlayer(game, input=inp, output=output or DummyOutput(), idle=idle)
        worker = threading.Thread(target=lambda: result.append(player.run(**kwargs)), daemon=True)
        worker.start()
        worker.join(timeout=10)
        if worker.is_alive():
            inp.send_text(CTRL_C)
            worker.join(timeout=5)
            pytest.fail(f"the player was still running after the keys {keys!r}")
    assert result == [0]
    return player


def saved(game, slot):
    return json.loads((game.save_dir / f"{slot}.json").read_text(encoding="utf-8"))


def test_new_game_to_an_ending_by_numbers_and_arrows(game):
    # n: New game; 1: take the mop; the mop is now locked, so the cursor sits on "Call On-jo";
    # Down + Enter runs for the hall; 1 climbs out of the window; q quits at the ending.
    drive(game, "n1" + DOWN + ENTER + "1q")
    assert game.session.ended
    assert game.session.node.ending.id == "out-the-window"
    assert game.state.items == {"mop"}
    autosave = saved(game, "autosave")
    assert autosave["state"]["node"] == "end.window"
    assert autosave["state"]["turn"] == 3
    gallery = json.loads((game.save_dir / "gallery.json").read_text(encoding="utf-8"))
    assert "out-the-window" in gallery["stories"]["Test Outbreak"]


def test_the_cursor_skips_locked_choices(game):
    # After the mop, Up from "Call On-jo" would land on the locked mop choice: it stays put.
    drive(game, "n1" + UP + ENTER + "q")
    assert game.state.fates == ("in-group",)
    assert game.state.node == "lab" and game.state.turn == 2


def test_ending_menu_back_to_title_and_a_new_game(game):
    player = drive(game, "n" + "3" + "2" + "2" + "n" + "q")
    assert player.mode == "play"
    assert game.state.turn == 0 and game.state.node == "lab"
    assert "classroom" in json.loads((game.save_dir / "gallery.json").read_text())["stories"]["Test Outbreak"]


def test_undo_at_an_ending_and_any_number_of_times(game):
    drive(game, "n12" + "3" + "2" + "u" + "uuu" + "u" + "q")
    assert game.state.turn == 0
    assert game.state.items == frozenset()
    assert not game.session.can_undo()
    assert saved(game, "autosave")["state"]["turn"] == 0


def test_undo_goes_back_one_choice(game):
    drive(game, "n12u" + "q")
    assert game.state.turn == 1
    assert game.state.items == {"mop"}
    assert game.state.fates == ("absent",)


def test_save_to_a_named_slot(game):
    player = drive(game, "n1" + "s" + "mine" + ENTER + "q")
    assert saved(game, "mine")["state"]["items"] == ["mop"]
    assert "mine" in player.message


def test_save_defaults_to_quicksave_and_escape_cancels(game):
    drive(game, "n1" + "s" + ENTER + "s" + "other" + ESC + "q")
    assert saved(game, "quicksave")["state"]["turn"] == 1
    assert not (game.save_dir / "other.json").exists()


def test_an_invalid_slot_name_is_reported_not_saved(game):
    player = drive(game, "n1" + "s" + "../up" + ENTER + "q")
    assert player.message.startswith("Not saved")
    assert not (game.save_dir.parent / "up.json").exists()


def test_continue_from_the_title_resumes_the_autosave(game, story, tmp_path):
    drive(game, "n1" + DOWN + ENTER + "q")
    again = Game(story, tmp_path / "saves", seed=99)
    player = drive(again, "c" + "q")
    assert again.state.node == "hall"
    assert again.state.turn == 2
    assert again.state.items == {"mop"}
    assert player.message.startswith("Loaded 'autosave'")


def test_continue_is_locked_without_saves(game):
    player = drive(game, "c" + DOWN + ENTER + "x" + "q")
    # c did nothing; Down from New game skips the locked Continue and Load to Endings found;
    # Enter opens the gallery, x closes it.
    assert player.mode == "title"
    assert not game.save_dir.exists()


def test_resume_and_load_skip_the_title(game, story, tmp_path):
    drive(game, "n1" + "s" + "slot1" + ENTER + "1q")
    resumed = Game(story, tmp_path / "saves", seed=5)
    assert drive(resumed, "q", resume=True).mode == "play"
    assert resumed.state.node == "lab" and resumed.state.turn == 2  # the autosave is the latest
    loaded = Game(story, tmp_path / "saves", seed=5)
    player = drive(loaded, "q", load="slot1")
    assert loaded.state.turn == 1 and loaded.state.fates == ("absent",)
    assert player.message == "Loaded 'slot1': turn 1."


def test_load_from_the_saves_list_in_game(game):
    # The list is newest first: after another choice the autosave is first and slot1 second.
    drive(game, "n1" + "s" + "slot1" + ENTER + "2" + "l" + DOWN + ENTER + "q")
    assert game.state.turn == 1 and game.state.fates == ("absent",)


def test_escape_leaves_the_saves_list(game):
    player = drive(game, "n1" + "l" + ESC + "1q")
    assert player.mode == "play"
    assert game.state.fates == ("in-group",)


def test_load_from_the_title(game, story, tmp_path):
    drive(game, "n1" + "s" + "slot1" + ENTER + "2q")
    again = Game(story, tmp_path / "saves", seed=5)
    drive(again, "l" + "2" + "q")
    assert again.state.turn == 1


@pytest.mark.parametrize("keys", [CTRL_C, CTRL_D, "q", DOWN * 4 + ENTER], ids=["ctrl-c", "ctrl-d", "q", "menu"])
def test_quitting_at_the_title(game, keys):
    drive(game, keys)
    assert not game.save_dir.exists()


@pytest.mark.parametrize("key", [CTRL_C, CTRL_D], ids=["ctrl-c", "ctrl-d"])
def test_ctrl_c_and_ctrl_d_mid_game_leave_the_autosave(game, key):
    drive(game, "n1" + key)
    assert saved(game, "autosave")["state"]["turn"] == 1


@pytest.mark.parametrize("key", [CTRL_C, CTRL_D], ids=["ctrl-c", "ctrl-d"])
def test_ctrl_c_and_ctrl_d_at_an_ending(game, key):
    drive(game, "n1" + DOWN + ENTER + "1" + key)
    assert game.session.ended and saved(game, "autosave")["state"]["node"] == "end.window"


def test_ctrl_c_while_typing_a_slot_name(game):
    drive(game, "n1s" + "half" + CTRL_C)
    assert not (game.save_dir / "half.json").exists()


def test_overlays_close_on_any_key_and_do_not_act(game):
    # Each overlay swallows the key that closes it: none of these digits is taken as a choice.
    player = drive(game, "n" + "i1" + "t2" + "h3" + "?x" + "q")
    assert game.state.turn == 0
    assert player.overlay is None


def test_number_out_of_range_is_a_message(game):
    player = drive(game, "n9q")
    assert game.state.turn == 0
    assert player.message == "There is no choice 9."


def test_gallery_hides_unfound_endings(game):
    drive(game, "n1" + DOWN + ENTER + "1q")
    player = FullScreenPlayer(game, output=DummyOutput())
    player.show("title")
    player.press("e")
    heading, lines = player.overlay
    assert lines[0] == "Endings found: 1 of 3"
    assert sum(line.strip() == "???" for line in lines) == 2
    assert any("Out the Window" in line for line in lines)


def test_screen_text_comes_from_the_game(game):
    player = FullScreenPlayer(game, output=DummyOutput())
    player.new_game()
    player.press("1")
    texts = [text for _, text in player.pane_blocks()]
    assert any("(unavailable: You already have it.)" in t for t in texts)
    assert "Taken: mop handle." in texts
    panel = dict((text, style) for style, text in player.panel_blocks(True))
    assert panel["You: [----] clean"] == "class:stage.clean"
    assert "  mop handle" in panel


def test_narrow_terminal_wraps_and_scrolls(game):
    player = drive(game, "n" + " " + "q", output=NarrowOutput())
    assert player.pane.top > 0
    rows, _ = player.pane.rows(38)
    assert all(len(text) <= 38 for row in rows for _, text in row)


def test_no_color(game, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    assert FullScreenPlayer(game, output=ColourOutput()).app.color_depth == ColorDepth.DEPTH_1_BIT
    monkeypatch.delenv("NO_COLOR")
    assert FullScreenPlayer(game, output=ColourOutput()).app.color_depth == ColorDepth.DEPTH_8_BIT


def test_run_fullscreen_returns_zero(game):
    with create_pipe_input() as inp:
        inp.send_text("n1q")
        assert run_fullscreen(game, input=inp, output=DummyOutput()) == 0
    assert game.state.turn == 1


def test_idle_work_waits_for_the_first_frame_and_runs_once(game):
    class Counting(DummyOutput):
        flushed = 0

        def flush(self):
            self.flushed += 1

    output = Counting()
    frames = []
    drive(game, "n1" + DOWN + ENTER + "1q", output, idle=lambda: frames.append(output.flushed))  # to an ending
    assert game.session.ended
    assert len(frames) == 1 and frames[0] >= 1  # once, after the first frame reached the terminal
    assert output.flushed > frames[0]  # the frames after it did not call it again
