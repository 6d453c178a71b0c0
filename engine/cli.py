"""The `aoud-adventure` command: argv in, exit status out."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import __version__
from .collector import for_a_command

EXIT_USAGE = 2


def bundled_story_dir() -> Path:
    """The campaign shipped with the game: inside the installed package, or beside it in a checkout."""
    here = Path(__file__).resolve().parent
    installed = here / "story"
    if (installed / "story.yaml").is_file():
        return installed
    return here.parent / "story"


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse would exit; we return the usage status from main()
        self.print_usage(sys.stderr)
        raise _UsageError(f"{self.prog}: error: {message}")


class _UsageError(Exception):
    pass


def add_preset_options(group) -> None:
    """--from NODE and the values of the state to start in (play and explore)."""
    group.add_argument("--from", dest="from_node", metavar="NODE", help="start at this node")
    group.add_argument("--give", action="append", metavar="ITEM", help="carry this item (repeatable)")
    group.add_argument("--fate", action="append", metavar="CHAR=FATE", help="e.g. on-jo=in-group (repeatable)")
    group.add_argument("--flag", action="append", metavar="FLAG", help="set this flag (repeatable)")
    group.add_argument("--counter", action="append", metavar="NAME=N", help="e.g. noise=4 (repeatable)")
    group.add_argument("--infection", action="append", metavar="WHO=STAGE",
                       help="clean, carrier, or choices since the bite: you=5 (repeatable)")


def preset_from_args(story, args, seed: int):
    """The preset state the options ask for, or None when none is given; PresetError if it does not fit."""
    presets = (args.give, args.fate, args.flag, args.counter, args.infection)
    if args.from_node is None and not any(presets):
        return None
    from .preset import parse_pairs, preset_state

    return preset_state(story, args.from_node or story.start, seed, items=args.give or (),
                        fates=parse_pairs(args.fate, "--fate"), flags=args.flag or (),
                        counters=parse_pairs(args.counter, "--counter"),
                        infection=parse_pairs(args.infection, "--infection"))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="aoud-adventure", description="A survival-choice text adventure at Hyosan High.")
    parser.add_argument("--version", action="version", version=f"aoud-adventure {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    play = sub.add_parser("play", help="play the game (the default)")
    play.add_argument("--story", metavar="DIR", help="the story directory (default: the bundled campaign)")
    play.add_argument("--save-dir", metavar="DIR", help="where saves go (default: $AOUD_SAVE_DIR, else ./saves)")
    play.add_argument("--seed", type=int, metavar="N", help="the random seed of a new game")
    play.add_argument("--plain", action="store_true", help="plain line mode (automatic when not on a terminal)")
    resume = play.add_mutually_exclusive_group()
    resume.add_argument("--continue", dest="resume", action="store_true", help="resume the latest save")
    resume.add_argument("--load", metavar="SLOT", help="resume a named save")
    play.add_argument("--record", metavar="FILE", help="write the session as a replay script when it ends")
    add_preset_options(play.add_argument_group("trying a scene (writers)", "start at a node with a preset state"))

    check = sub.add_parser("check", help="report every problem in a story")
    check.add_argument("dir", nargs="?", metavar="DIR", help="the story directory (default: the bundled campaign)")
    check.add_argument("--format", choices=("text", "json"), default="text")
    check.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    check.add_argument("--max-states", type=int, default=200_000, metavar="N",
                       help="bound the state search behind the dead-end, trap and reachability rules")

    sub.add_parser("schema", help="print the JSON Schema of story files")

    stats = sub.add_parser("stats", help="count a story's nodes, choices, words, endings, people and items")
    stats.add_argument("dir", nargs="?", metavar="DIR", help="the story directory (default: the bundled campaign)")
    stats.add_argument("--format", choices=("text", "json"), default="text")

    graph = sub.add_parser("graph", help="print the story as a graph")
    graph.add_argument("dir", nargs="?", metavar="DIR", help="the story directory (default: the bundled campaign)")
    graph.add_argument("--format", choices=("dot", "mermaid"), default="dot")

    replay = sub.add_parser("replay", help="run replay scripts and check their expectations")
    replay.add_argument("scripts", nargs="+", metavar="SCRIPT")
    replay.add_argument("--story", metavar="DIR", help="the story (default: the script's `story:`, else the campaign)")
    replay.add_argument("--transcript", metavar="PATH",
                        help="compare what a player would have seen with this golden file (a directory for "
                             "several scripts); --bless writes it")
    replay.add_argument("--bless", action="store_true", help="write the transcripts instead of comparing them")
    replay.add_argument("--format", choices=("text", "json"), default="text")

    explore = sub.add_parser("explore", help="explore a story at random or exhaustively")
    explore.add_argument("dir", nargs="?", metavar="DIR", help="the story directory (default: the bundled campaign)")
    mode = explore.add_mutually_exclusive_group(required=True)
    mode.add_argument("--random", type=int, metavar="N", help="N seeded random playthroughs")
    mode.add_argument("--exhaustive", action="store_true", help="search every reachable state")
    mode.add_argument("--to", metavar="NODE", help="find a path from the start to this node (or ending node)")
    explore.add_argument("--seed", type=int, default=0, metavar="S", help="the first run's seed (random mode)")
    explore.add_argument("--max-states", type=int, default=None, metavar="N",
                         help="stop the exhaustive search after N states (default: state by state to "
                              "1,000,000, then node by node with no bound)")
    how = explore.add_mutually_exclusive_group()
    how.add_argument("--symbolic", action="store_true",
                     help="exhaustive search breadth first on sets of states (decision diagrams): the same "
                          "results, counted exactly, often faster on rich stories")
    how.add_argument("--by-node", action="store_true",
                     help="exhaustive search node by node on sets of states: for stories with billions of "
                          "states (what a search past 1,000,000 states turns to)")
    explore.add_argument("--emit", metavar="DIR", help="write replay scripts: the shortest path to each ending, "
                         "and a script reproducing each problem")
    explore.add_argument("--format", choices=("text", "json"), default="text")
    add_preset_options(explore.add_argument_group(
        "exploring a scene", "begin every run, the search or the path in this preset state, not at the start"))
    return parser


def _tolerant_output() -> None:
    # A terminal that cannot show a character (an ASCII-only locale) gets '?' instead of a crash.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure") and (stream.encoding or "").lower().replace("-", "") != "utf8":
            try:
                stream.reconfigure(errors="replace")
            except (ValueError, OSError):
                pass


def main(argv=None) -> int:
    _tolerant_output()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        argv.insert(0, "play")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as err:
        print(err, file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as done:  # --help and --version
        return int(done.code or 0)
    with for_a_command():
        return _run(args)


def _run(args) -> int:
    try:
        if args.command == "check":
            return cmd_check(args)
        if args.command == "schema":
            import json

            from .schema import story_schema

            json.dump(story_schema(), sys.stdout, indent=1)
            sys.stdout.write("\n")
            return 0
        if args.command == "graph":
            return cmd_graph(args)
        if args.command == "stats":
            from .commands import cmd_stats

            return cmd_stats(args)
        if args.command == "replay":
            from .commands import cmd_replay

            return cmd_replay(args)
        if args.command == "explore":
            from .commands import cmd_explore

            return cmd_explore(args)
        return cmd_play(args)
    except KeyboardInterrupt:
        if args.command in (None, "play"):  # the game autosaves after every choice, so nothing is lost
            print("\nInterrupted; your progress is autosaved.", file=sys.stderr)
            return 0
        print("\nInterrupted.", file=sys.stderr)
        return 130  # a tool stopped half-way has not passed
    except BrokenPipeError:
        _quiet_stdout()
        return 0


def _quiet_stdout() -> None:
    # Output to a closed pipe: point stdout at devnull so the interpreter's final flush stays quiet.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass


def _story_problems(problems: list) -> None:
    for problem in problems:
        print(problem, file=sys.stderr)


def cmd_check(args) -> int:
    from .cache import cached_report

    directory = args.dir or str(bundled_story_dir())
    options = (args.format, bool(args.strict), max(1, args.max_states))
    # Unchanged files and options give the same report: a warm check prints it from the cache.
    out, err, status = cached_report(directory, options, lambda sources: _check_report(args, directory, sources))
    sys.stdout.write(out)
    sys.stdout.flush()  # the summary goes to stderr; keep it after the problems
    sys.stderr.write(err)
    return status


def _check_report(args, directory: str, sources) -> tuple:
    """(what check prints on stdout, on stderr, its exit status)."""
    from .collector import collector_paused
    from .loader import load_story

    # A check makes millions of objects that live to its end and no cyclic garbage worth the
    # collector's passes over them: one full pass after the rules cost as much as the analysis.
    with collector_paused():
        story, problems = load_story(directory, sources)
        report = _report(args, directory, story, problems)
        del story, problems  # freed while the collector still waits: it would otherwise scan them once more
    return report


def _report(args, directory: str, story, problems: list) -> tuple:
    """check's output for a loaded story (or None) and its load-time problems, the rules run."""
    import io

    if story is not None:
        from .check import check_story

        problems = problems + check_story(story, max(1, args.max_states))
    errors = sum(1 for p in problems if p.level == "error")
    warnings = sum(1 for p in problems if p.level == "warning")
    out, err = io.StringIO(), io.StringIO()
    if args.format == "json":
        import json

        json.dump({"problems": [p.as_dict() for p in problems], "errors": errors, "warnings": warnings},
                  out, indent=1)
        out.write("\n")
    else:
        for problem in problems:
            print(problem, file=out)
        summary = f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"
        if story is not None:
            n, e = len(story.nodes), len(story.endings)
            summary = f"{directory}: {n} node{'s' * (n != 1)}, {e} ending{'s' * (e != 1)}; " + summary
        print(summary, file=err)
    return out.getvalue(), err.getvalue(), 1 if errors or (args.strict and warnings) else 0


def cmd_graph(args) -> int:
    from .graph import to_dot, to_mermaid

    from .commands import load_or_report

    story = load_or_report(args.dir or str(bundled_story_dir()))
    if story is None:
        return 1
    sys.stdout.write(to_dot(story) if args.format == "dot" else to_mermaid(story))
    return 0


def cmd_play(args) -> int:
    from . import saves
    from .cache import load_story_later
    from .game import Game
    from .problems import Problem

    directory = args.story or str(bundled_story_dir())
    story, problems, store = load_story_later(directory)  # a first start caches the story once the screen is up
    from .collector import keep_loaded

    def idle() -> None:  # the players call it once, when the first prompt or frame is up
        keep_loaded()
        store()

    if story is None:
        _story_problems([p for p in problems if isinstance(p, Problem)])
        print(f"aoud-adventure: the story in {directory!r} has errors; see above.", file=sys.stderr)
        return 1
    save_dir = saves.save_dir(args.save_dir)
    # os.urandom, not the secrets module: the same randomness without 6 ms of imports at start-up
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "big") >> 1
    from .preset import PresetError

    try:
        start = preset_from_args(story, args, seed)
    except PresetError as err:
        print(f"aoud-adventure play: {err}", file=sys.stderr)
        return EXIT_USAGE
    game = Game(story, save_dir, seed, start)
    # A dumb terminal cannot draw the full-screen player; plain mode reads the same everywhere.
    plain = (args.plain or not (sys.stdin.isatty() and sys.stdout.isatty())
             or os.environ.get("TERM", "") in ("dumb", "unknown"))
    if args.load is not None:
        try:
            saves.check_slot(args.load)
        except saves.SaveError as err:
            print(f"aoud-adventure: {err}", file=sys.stderr)
            return EXIT_USAGE
    if plain:
        from .plain import PlainPlayer

        player = PlainPlayer(game, sys.stdin, sys.stdout, idle=idle)
        if args.resume or args.load:
            print(game.load(args.load))
            print()
        try:
            return player.run()
        finally:
            store()  # also for a game that ended before it asked for input (store writes once)
            _write_record(args, game, directory)
    from .tui import run_fullscreen

    try:
        return run_fullscreen(game, resume=args.resume, load=args.load, idle=idle)
    finally:
        store()
        _write_record(args, game, directory)


def _write_record(args, game, directory: str) -> None:
    if not args.record:
        return
    from . import replay

    story_ref = args.story  # the bundled campaign needs no `story:` line
    text = replay.record(game.session, story_ref, args.record)
    try:
        Path(args.record).write_text(text, encoding="utf-8")
        print(f"Recorded {len(game.session.log)} choices to {args.record}.", file=sys.stderr)
    except OSError as err:
        print(f"aoud-adventure: could not write the recording {args.record!r}: {err.strerror}", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
