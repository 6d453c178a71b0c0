"""The benchmark: start-up, check, random play and exhaustive search, each against a floor from the same run.

Run by hand, from the project's root, in the venv the README sets up:

    .venv/bin/python bench/run.py            # about ten minutes
    .venv/bin/python bench/run.py --quick    # fewer repeats
    .venv/bin/python bench/run.py --whole-campaign   # adds the complete search of the campaign (many minutes)
    .venv/bin/python bench/run.py --only start-up    # one part: start-up, keypress, check, play or search

Every figure is the median of several runs; its floor is measured in the same run on the
same machine (for start-up and check, one floor run before each run of the figure), and the
ratio is figure / floor (lower is better for times, higher for rates).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import pty
import random
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from synth import generate  # noqa: E402

from engine import explore, present, runtime  # noqa: E402
from engine.loader import load  # noqa: E402
from engine.state import draw, seed_generator  # noqa: E402

PY = sys.executable
GAME = [PY, "-m", "engine"]


def run_child(cmd, stdin=subprocess.DEVNULL, cwd=None, env=None) -> tuple:
    """(seconds, peak RSS in MiB) of one child process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return seconds, usage.ru_maxrss / 1024


@contextmanager
def _on_a_terminal(cmd, cwd, env=None, peaks: list | None = None):
    """`cmd` run on a pseudo-terminal of 100x30: yields (the terminal's fd, when it was started); kills it on leaving
    (its peak RSS in MiB appended to `peaks`)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30",
           **(env or {})}
    master, slave = pty.openpty()
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env, close_fds=True)
    os.close(slave)
    try:
        yield master, started
    finally:
        proc.kill()
        _, _, usage = os.wait4(proc.pid, 0)
        proc.returncode = -9
        if peaks is not None:
            peaks.append(usage.ru_maxrss / 1024)
        os.close(master)


def first_frame(cmd, marker: bytes, cwd, env=None, peaks: list | None = None) -> float:
    """Seconds until `marker` appears on a pseudo-terminal running `cmd` (its peak RSS in MiB appended to `peaks`)."""
    with _on_a_terminal(cmd, cwd, env, peaks) as (terminal, started):
        _read_until(terminal, marker)
        return time.perf_counter() - started


def first_prompt(cmd, marker: bytes, cwd, env=None) -> float:
    """Seconds until `marker` appears on the standard output of `cmd`, run with pipes (as plain mode is)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=cwd,
                            env=env)
    try:
        _read_until(proc.stdout.fileno(), marker)
        return time.perf_counter() - started
    finally:
        proc.stdin.close()  # end of input: the game says goodbye and exits
        proc.stdout.read()
        proc.wait()


def _read_until(fd: int, marker: bytes) -> None:
    """Read `fd` until `marker` has appeared; RuntimeError if it does not within 10 s or the output ends."""
    seen = b""
    while marker not in seen:
        ready, _, _ = select.select([fd], [], [], 10)
        chunk = os.read(fd, 65536) if ready else b""
        if not chunk:
            raise RuntimeError(f"no {marker!r} within 10 s")
        seen += chunk


def _quiet(fd: int, silence: float = 0.3):
    """Read `fd` until `silence` seconds pass with no output; the time of the last byte read, or None if none came."""
    last = None
    while True:
        ready, _, _ = select.select([fd], [], [], silence)
        if not ready:
            return last
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the other end closed
            return last
        if not chunk:
            return last
        last = time.perf_counter()


def key_latencies(cmd, first: bytes, keys: list, cwd, env=None) -> list:
    """Seconds from each key typed (after the first frame, which shows `first`) to the last byte of what it
    draws, on a pseudo-terminal; a key that draws nothing (the game over) ends the list."""
    out = []
    with _on_a_terminal(cmd, cwd, env) as (terminal, _):
        _read_until(terminal, first)
        _quiet(terminal)  # the rest of the first frame, and what runs once it is up (the cache written)
        for key in keys:
            sent = time.perf_counter()
            os.write(terminal, key)
            last = _quiet(terminal)
            if last is None:
                break
            out.append(last - sent)
    return out


# The floor for a key: prompt_toolkit's own work for one, in a full-screen application that
# shows a page of prose and turns to another page when "1" is typed (every line of the screen
# changes, as when a choice brings a new scene).
KEY_FLOOR = """\
import random
from prompt_toolkit import Application
from prompt_toolkit.key_binding import KeyBindings
from prompt_toolkit.layout import FormattedTextControl, Layout, Window
rng = random.Random(1)
words = "the corridor smells of smoke and floor wax somewhere below a door bangs twice then stops".split()
pages = [" ".join(rng.choice(words) for _ in range(260)) for _ in range(8)]
page = [0]
kb = KeyBindings()
@kb.add("1")
def _(event):
    page[0] += 1
@kb.add("q")
def _(event):
    event.app.exit()
control = FormattedTextControl(lambda: "Page %d\\n\\n%s" % (page[0], pages[page[0] % len(pages)]))
Application(layout=Layout(Window(control, wrap_lines=True)), key_bindings=kb, full_screen=True).run()
"""


def keypress_rows(rows: list, notes: list, work: Path, repeats: int, cached: dict) -> None:
    """The full-screen player: a choice's key to its scene drawn, against prompt_toolkit turning a page."""
    game = GAME + ["--seed", "1", "--save-dir", str(work / "saves3")]
    choices = [b"1"] * 12
    figures: list = []
    floors: list = []
    for _ in range(repeats):
        floors += key_latencies([PY, "-c", KEY_FLOOR], b"Page 0", choices, work)
        # "n" starts a new game; then the first offered choice, again and again, to an ending or the twelfth
        figures += key_latencies(game, b"New game", [b"n"] + choices, work, cached)[1:]
    rows.append(row(f"full screen, a choice's key to its scene drawn (median of {len(figures)})",
                    statistics.median(figures) * 1000, "ms", statistics.median(floors) * 1000,
                    "prompt_toolkit turning a page of text for a key"))
    notes.append(f"a choice's key to its scene drawn: slowest {max(figures) * 1000:.0f} ms of {len(figures)}; "
                 f"the floor's slowest {max(floors) * 1000:.0f} ms")


def random_play_rate(story, choices: int, seed: int = 1) -> float:
    """Choices per second of random play that renders each scene as a player sees it."""
    picker = seed_generator(seed)
    state = runtime.start(story, seed)
    made = 0
    started = time.perf_counter()
    while made < choices:
        node = story.nodes[state.node]
        present.scene_lines(story, state)  # the text and the choices, rendered
        if node.ending is not None:
            state = runtime.start(story, seed + made)
            continue
        offered = runtime.available(story, state)
        index, picker = draw(picker, len(offered))
        state = runtime.step(story, state, offered[index]).state
        made += 1
    return made / (time.perf_counter() - started)


def dict_loop_rate(steps: int) -> float:
    """The floor for random play: a bare Python random walk over a dict of lists."""
    rng = random.Random(1)
    graph = {n: [(n * 7 + k) % 1000 for k in range(3)] for n in range(1000)}
    node, started = 0, time.perf_counter()
    for _ in range(steps):
        node = graph[node][rng.randrange(3)]
    return steps / (time.perf_counter() - started)


SEARCH_RUNS = 3  # timed runs of each search, after the traced one: the rate is their median


def exhaustive(story, max_states: int) -> tuple:
    """(states, states per second, bytes per state, complete)."""
    tracemalloc.start()
    report = explore.explore_exhaustive(story, max_states)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # timed without tracemalloc's overhead
    rate = statistics.median(r.states / r.seconds for r in
                             (explore.explore_exhaustive(story, max_states) for _ in range(SEARCH_RUNS)))
    return report.states, rate, peak / max(1, report.states), report.complete


def exhaustive_symbolic(story, max_states: int) -> tuple:
    """The same as exhaustive(), for explore --symbolic (which stops after the level that passes max_states)."""
    from engine.symbolic import explore_symbolic

    tracemalloc.start()
    report = explore_symbolic(story, max_states)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    runs = [explore_symbolic(story, max_states) for _ in range(SEARCH_RUNS)]
    rate = statistics.median(r.states / r.seconds for r in runs)
    return report.states, rate, peak / max(1, report.states), report.complete, runs[0].depth


def whole_campaign(work: Path) -> tuple:
    """(states, seconds, peak RSS in MiB) of `explore --exhaustive --by-node` on the campaign, in a child."""
    out = work / "whole.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    with open(out, "w") as sink:
        proc = subprocess.Popen(GAME + ["explore", "--exhaustive", "--by-node", "--format", "json"], stdout=sink,
                                stderr=subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    report = json.loads(out.read_text())
    if not report["complete"]:
        raise SystemExit("bench: the node-by-node search of the campaign did not complete")
    return report["states"], seconds, usage.ru_maxrss / 1024


def row(name: str, value: float, unit: str, floor: float, floor_name: str, better: str = "lower") -> str:
    ratio = value / floor if floor else float("nan")
    return f"| {name} | {value:,.3f} {unit} | {floor:,.3f} {unit} ({floor_name}) | {ratio:.2f}x ({better} is better) |"


def paired(figure, floor_cmd, repeats: int) -> tuple:
    """(median figure, median floor, the floor's peak RSS): each run of `figure()` right after a run of
    the floor, so that both see the machine in the same state (a shared machine drifts by tens of %)."""
    figures, floors, rss = [], [], 0.0
    for _ in range(repeats):
        seconds, peak = run_child(floor_cmd)
        floors.append(seconds)
        rss = max(rss, peak)
        figures.append(figure())
    return statistics.median(figures), statistics.median(floors), rss


def startup_rows(rows: list, notes: list, work: Path, repeats: int, cached: dict, uncached: dict) -> None:
    floor_cmd = [PY, "-c", "import yaml, prompt_toolkit"]
    plain_cmd = GAME + ["--plain", "--seed", "1", "--save-dir", str(work / "saves")]
    run_child(plain_cmd, cwd=work, env=cached)  # fills the cache
    fresh = iter(range(10**6))

    def empty() -> dict:  # a cache folder never used: a player's very first start
        return {"AOUD_CACHE_DIR": str(work / f"empty-cache-{next(fresh)}")}

    kinds = (("cached", lambda: cached), ("first start, empty cache", empty), ("caching off", lambda: uncached))
    rss_plain = rss_import = 0.0
    for label, env in kinds:
        plain, floor, rss = paired(lambda: first_prompt(plain_cmd, b"\n> ", work, env()), floor_cmd, repeats)
        rss_import = max(rss_import, rss)
        rss_plain = max(rss_plain, run_child(plain_cmd, cwd=work, env=env())[1])  # the whole run: its peak memory
        rows.append(row(f"start-up, plain mode, to the first prompt ({label})", plain, "s", floor,
                        "python -c 'import yaml, prompt_toolkit'"))
    peaks: list = []
    for label, env in kinds[:2]:
        frame, floor, _ = paired(lambda: first_frame(GAME + ["--seed", "1", "--save-dir", str(work / "saves2")],
                                                     b"New game", work, env(), peaks), floor_cmd, repeats)
        rows.append(row(f"start-up, full screen, to the first frame ({label})", frame, "s", floor, "same floor"))
    notes.append(f"peak RSS: import floor {rss_import:.0f} MiB, plain start-up {rss_plain:.0f} MiB, full screen "
                 f"to its first frame {max(peaks):.0f} MiB")


def check_rows(rows: list, notes: list, work: Path, repeats: int, cached: dict, uncached: dict) -> None:
    runs = max(3, repeats // 2)
    # The campaign is what its writers feel; the synthetic stories show how check grows with size.
    for name, size in (("campaign", 0), ("1k", 1000), ("10k", 10000)):
        directory = generate(work / f"s{name}", size, seed=1) if size else ROOT / "story"
        label = f"{name} nodes" if size else "the campaign"  # not loaded here: a child's peak RSS counts this process
        files = sorted(str(p) for p in directory.glob("*.yaml"))
        loader = ("import sys, yaml\nfor f in sys.argv[1:]:\n"
                  "    yaml.load(open(f, encoding='utf-8'), Loader=yaml.CSafeLoader)")
        floor_cmd = [PY, "-c", loader, *files]
        check = GAME + ["check", str(directory)]
        rss_cold = 0.0

        def cold() -> float:
            nonlocal rss_cold
            seconds, peak = run_child(check, env=uncached)
            rss_cold = max(rss_cold, peak)
            return seconds

        cold_check, floor, rss_floor = paired(cold, floor_cmd, runs)
        rows.append(row(f"check, {label}, cold", cold_check, "s", floor, "yaml.load, C loader, same files"))
        run_child(check, env=cached)  # fills the cache
        figure, floor, _ = paired(lambda: run_child(check, env=cached)[0], floor_cmd, runs)
        rows.append(row(f"check, {label}, warm (files unchanged)", figure, "s", floor, "same floor"))
        load_only = [PY, "-c", "import sys; from engine.loader import load_story; load_story(sys.argv[1])",
                     str(directory)]
        loaded, floor, _ = paired(lambda: run_child(load_only, env=uncached)[0], floor_cmd, runs)
        rest = cold_check - loaded
        notes.append(f"{name}: loading alone (no cache) {loaded:.3f} s, {loaded / floor:.2f}x the floor; the rest "
                     f"of a cold check, its analysis and searches, about {rest:.3f} s ({rest / floor:.2f}x)")
        notes.append(f"{name}: the least that reading these files with libyaml costs: "
                     + least_reading(files, floor_cmd, runs))
        notes.append(f"peak RSS: check {name} {rss_cold:.0f} MiB, yaml.load {name} {rss_floor:.0f} MiB")


def least_reading(files: list, floor_cmd: list, runs: int) -> str:
    """What libyaml alone takes to read `files`, against the floor: its events (no nodes), and the
    nodes with line numbers that the loader builds the model from (the collector paused, as the loader does)."""
    parts = []
    for what, code in (("its events alone", "for _ in yaml.parse(text, Loader=yaml.CSafeLoader): pass"),
                       ("its nodes with their line numbers", "yaml.compose(text, Loader=SafeLoader)")):
        script = ("import gc, sys, yaml\nfrom engine.yamlsafe import SafeLoader\ngc.disable()\n"
                  "for f in sys.argv[1:]:\n    text = open(f, encoding='utf-8').read()\n    " + code)
        seconds, floor, _ = paired(lambda script=script: run_child([PY, "-c", script, *files])[0], floor_cmd, runs)
        parts.append(f"{what} {seconds:.3f} s ({seconds / floor:.2f}x)")
    return ", ".join(parts)


def play_rows(rows: list, notes: list, work: Path, quick: bool) -> None:
    choices = 20_000 if quick else 60_000
    stories = (("campaign", ROOT / "story"), ("10k story", generate(work / "p10k", 10000, seed=1)))
    # Peak memory first, each in a process of its own, while this one is small: a child starts
    # as a copy of its parent, and its peak RSS would count a story loaded here.
    # The same child gives the rate of a fresh process, whose rendered text is all new: the rows
    # below are the median of three runs in one process, the later ones finding more text remembered.
    for name, directory in stories:
        rate_file = work / f"rate-{name.split()[0]}.txt"
        script = ("import sys; sys.path[:0] = sys.argv[4:]\nfrom pathlib import Path\nfrom run import random_play_rate\n"
                  "from engine.loader import load\n"
                  "Path(sys.argv[3]).write_text(str(random_play_rate(load(sys.argv[1]), int(sys.argv[2]))))")
        _, rss = run_child([PY, "-c", script, str(directory), str(choices), str(rate_file), str(ROOT),
                            str(ROOT / "bench")])
        notes.append(f"peak RSS: random play, {name}, {choices:,} choices: {rss:.0f} MiB")
        notes.append(f"random play, {name}: the first {choices:,} choices of a fresh process, "
                     f"{float(rate_file.read_text()):,.0f} choices/s")
    loop = statistics.median(dict_loop_rate(300_000) for _ in range(3))
    for name, directory in stories:
        story = load(directory)
        rate = statistics.median(random_play_rate(story, choices) for _ in range(3))
        rows.append(row(f"random play with rendering, {name}", rate, "choices/s", loop,
                        "bare dict random walk", "higher"))


def search_rows(rows: list, notes: list, campaign, s1k) -> None:
    for name, story, cap in (("campaign", campaign, 300_000), ("1k story", s1k, 200_000)):
        states, rate, per_state, complete = exhaustive(story, cap)
        notes.append(f"exhaustive search, {name}: {per_state * states / 2**20:.1f} MiB at the peak (traced) for "
                     f"{states:,} states")
        done = "complete" if complete else f"stopped at {cap:,}"
        rows.append(f"| exhaustive search, {name} ({states:,} states, {done}) | {rate:,.0f} states/s | "
                    f"100,000 states/s (target) | {rate / 100_000:.2f}x (higher is better) |")
        rows.append(f"| memory per explored state, {name} | {per_state:,.0f} bytes | 200 bytes (target) | "
                    f"{per_state / 200:.2f}x (lower is better) |")
    for cap in (300_000, 3_000_000):
        states, rate, per_state, complete, depth = exhaustive_symbolic(campaign, cap)
        done = "complete" if complete else f"stopped at level {depth}, past {cap:,}"
        rows.append(f"| exhaustive search, symbolic, campaign ({states:,} states, {done}) | {rate:,.0f} states/s | "
                    f"100,000 states/s (target) | {rate / 100_000:.2f}x (higher is better) |")
        rows.append(f"| memory per explored state, symbolic, campaign ({states:,} states) | {per_state:,.0f} bytes | "
                    f"200 bytes (target) | {per_state / 200:.2f}x (lower is better) |")


def whole_campaign_rows(rows: list, work: Path) -> None:
    states, seconds, rss = whole_campaign(work)
    rows.append(f"| exhaustive search, node by node, the whole campaign ({states:,} states, complete) | "
                f"{states / seconds:,.0f} states/s ({seconds:,.0f} s) | 100,000 states/s (target) | "
                f"{states / seconds / 100_000:,.0f}x (higher is better) |")
    rows.append(f"| memory per explored state, node by node, the whole campaign | {rss * 2**20 / states:.3f} bytes "
                f"({rss:,.0f} MiB peak) | 200 bytes (target) | {rss * 2**20 / states / 200:.4f}x "
                "(lower is better) |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repeats and smaller runs")
    parser.add_argument("--whole-campaign", action="store_true",
                        help="also search the campaign exhaustively to the end, node by node (many minutes)")
    parser.add_argument("--only", choices=("start-up", "keypress", "check", "play", "search"), action="append",
                        help="measure only this part (repeatable); the default is every part")
    args = parser.parse_args()
    repeats = 3 if args.quick else 7
    # The children import the engine from this tree. `pip install .` compiles a package's
    # bytecode, and Python writes it on first import unless PYTHONDONTWRITEBYTECODE is set;
    # compiling it here measures start-up as an installed copy starts, not recompiling every run.
    compileall.compile_dir(str(ROOT / "engine"), quiet=1)
    work = Path(tempfile.mkdtemp(prefix="aoud-bench-"))
    try:
        rows = ["| measure | figure | floor | ratio |", "| --- | --- | --- | --- |"]
        notes: list = []
        # The game keeps a cache of parsed stories and check reports; "cached" rows run with a
        # cache one earlier run has filled; "empty cache" rows are a player's first start (the
        # story is parsed, and cached once the screen is up); "caching off" and "cold" rows run
        # with AOUD_NO_CACHE (as the first check after an edit does).
        cached = {"AOUD_CACHE_DIR": str(work / "cache")}
        uncached = {"AOUD_NO_CACHE": "1"}
        parts = set(args.only or ("start-up", "keypress", "check", "play", "search"))
        if "start-up" in parts:
            startup_rows(rows, notes, work, repeats, cached, uncached)
        if "keypress" in parts:
            keypress_rows(rows, notes, work, 3 if args.quick else 5, cached)
        if "check" in parts:
            check_rows(rows, notes, work, repeats, cached, uncached)
        if "play" in parts:
            play_rows(rows, notes, work, args.quick)
        if "search" in parts:
            search_rows(rows, notes, load(ROOT / "story"), load(generate(work / "p1k", 1000, seed=1)))
        if args.whole_campaign:
            whole_campaign_rows(rows, work)

        print(f"aoud-adventure benchmark, {time.strftime('%Y-%m-%d')}, Python {sys.version.split()[0]}, "
              f"{os.cpu_count()} cores")
        print()
        print("\n".join(rows))
        print()
        for note in notes:
            print(f"- {note}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
