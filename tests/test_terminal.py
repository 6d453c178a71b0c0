"""The installed game in a real terminal: tmux types the keys and reads the screen."""

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (CI installs it)")


def game_command() -> list:
    installed = shutil.which("aoud-adventure", path=os.path.dirname(sys.executable))
    return [installed] if installed else [sys.executable, "-m", "engine"]


class Terminal:
    """A tmux server of our own, one window running one command."""

    def __init__(self, tmp_path: Path):
        self.socket = f"aoud-{uuid.uuid4().hex[:8]}"
        self.cwd = tmp_path

    def tmux(self, *args, check=True) -> str:
        result = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=30)
        if check and result.returncode != 0:
            raise AssertionError(f"tmux {args}: {result.stderr}")
        return result.stdout

    def start(self, args: list, width=100, height=30, env_extra=None) -> None:
        self.socket = f"aoud-{uuid.uuid4().hex[:8]}"  # a fresh server: a killed one may still be going away
        env = {"PYTHONPATH": str(ROOT), "TERM": "xterm-256color", "LANG": "C.UTF-8", **(env_extra or {})}
        if "AOUD_CACHE_DIR" in os.environ:  # the suite's private story cache (conftest.py), never the home's
            env.setdefault("AOUD_CACHE_DIR", os.environ["AOUD_CACHE_DIR"])
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        command = f"cd {shlex.quote(str(self.cwd))} && env {exports} {shlex.join(game_command() + args)}; sleep 30"
        self.tmux("new-session", "-d", "-s", "game", "-x", str(width), "-y", str(height), command)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "game")

    def wait_for(self, text: str, timeout=20.0) -> str:
        deadline = time.time() + timeout
        screen = ""
        while time.time() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared; the screen was:\n{screen}")

    def keys(self, *keys) -> None:
        for key in keys:
            self.tmux("send-keys", "-t", "game", key)
            time.sleep(0.15)

    def pane_pid(self) -> int:
        return int(self.tmux("display-message", "-p", "-t", "game", "#{pane_pid}").strip())

    def stop(self) -> None:
        self.tmux("kill-server", check=False)


@pytest.fixture
def terminal(tmp_path):
    term = Terminal(tmp_path)
    yield term
    term.stop()


def _game_pid(shell_pid: int) -> int:
    out = subprocess.run(["pgrep", "-P", str(shell_pid)], capture_output=True, text=True).stdout.split()
    for pid in out:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        if b"aoud-adventure" in cmd or b"engine" in cmd:
            return int(pid)
    raise AssertionError(f"no game process under {shell_pid}: {out}")


def test_play_save_kill_and_continue(terminal, tmp_path):
    saves = tmp_path / "saves"
    terminal.start(["--seed", "1", "--save-dir", str(saves)])
    terminal.wait_for("New game")
    terminal.keys("n")
    screen = terminal.wait_for("Turn 0")
    assert "You: [----] clean" in screen and "1)" in screen
    terminal.keys("1")
    terminal.wait_for("Turn 1")
    terminal.keys("1")
    screen = terminal.wait_for("Turn 2")
    terminal.keys("s")
    terminal.wait_for("Save to slot")
    terminal.keys("mine", "Enter")
    terminal.wait_for("Saved to slot 'mine'")
    assert json.loads((saves / "mine.json").read_text())["state"]["turn"] == 2
    terminal.keys("1")
    terminal.wait_for("Turn 3")
    autosaved = json.loads((saves / "autosave.json").read_text())["state"]
    os.kill(_game_pid(terminal.pane_pid()), signal.SIGKILL)  # the power goes out mid-game
    terminal.stop()
    assert json.loads((saves / "autosave.json").read_text())["state"] == autosaved, "the autosave survives"
    terminal.start(["--continue", "--save-dir", str(saves)])
    screen = terminal.wait_for("Turn 3")
    assert "Loaded 'autosave': turn 3." in screen
    terminal.keys("q")


def test_forty_columns_and_the_status_panel_below(terminal, tmp_path):
    terminal.start(["--seed", "2", "--save-dir", str(tmp_path / "s")], width=40, height=24)
    terminal.wait_for("New game")
    terminal.keys("n")
    screen = terminal.wait_for("turn 0")
    assert all(len(line) <= 40 for line in screen.splitlines())
    assert "You: [----] clean" in screen
    terminal.keys("C-c")
    time.sleep(0.5)
    assert (tmp_path / "s").exists() is False or not list((tmp_path / "s").glob(".*.tmp"))


def test_resizing_mid_scene_redraws_to_the_new_width(terminal, tmp_path):
    terminal.start(["--seed", "4", "--save-dir", str(tmp_path / "s")], width=100, height=30)
    terminal.wait_for("New game")
    terminal.keys("n")
    wide = terminal.wait_for("Turn 0")
    assert "│" in wide, "the status panel stands beside the scene"
    terminal.tmux("resize-window", "-t", "game", "-x", "50", "-y", "30")
    deadline = time.time() + 10
    while time.time() < deadline:
        narrow = terminal.screen()
        if "turn 0" in narrow and all(len(line) <= 50 for line in narrow.splitlines()):
            break
        time.sleep(0.2)
    assert "turn 0" in narrow and "You: [----] clean" in narrow, narrow
    assert all(len(line) <= 50 for line in narrow.splitlines())
    terminal.keys("1")
    terminal.wait_for("turn 1")
    terminal.keys("q")


def test_dumb_terminal_gets_plain_mode(terminal, tmp_path):
    terminal.start(["--seed", "3", "--save-dir", str(tmp_path / "s")], env_extra={"TERM": "dumb"})
    screen = terminal.wait_for("1) ")
    assert "\n>" in screen and "New game" not in screen, "the plain prompt, not the title menu"
    terminal.keys("1", "Enter")
    terminal.wait_for("2)")
    terminal.keys("quit", "Enter")
    terminal.wait_for("Your progress is autosaved")
    assert (tmp_path / "s" / "autosave.json").exists()
