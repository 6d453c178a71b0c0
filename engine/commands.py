"""The tester's commands, `replay` and `explore`: run, print, choose the exit status."""

from __future__ import annotations

import difflib
import json
import os
import sys
from pathlib import Path

from . import explore, replay
from .cache import load_story
from .collector import keep_loaded

EXIT_OK, EXIT_PROBLEM, EXIT_USAGE = 0, 1, 2


def _bundled() -> str:
    from .cli import bundled_story_dir

    return str(bundled_story_dir())


def load_or_report(directory: str):
    """The story in `directory`, or None after printing its problems to standard error."""
    story, problems = load_story(directory)
    if story is None:
        for problem in problems:
            print(problem, file=sys.stderr)
    else:
        keep_loaded()
    return story


class _Stories:
    """Each story directory loaded once per command."""

    def __init__(self):
        self.cache: dict = {}

    def get(self, directory: str):
        key = os.path.abspath(directory)
        if key not in self.cache:
            self.cache[key] = load_story(directory)
            keep_loaded()
        return self.cache[key]


def cmd_replay(args) -> int:
    stories = _Stories()
    results: list = []
    usage_error = False
    story_error = False
    lines: list = []
    several = len(args.scripts) > 1
    for path in args.scripts:
        try:
            script = replay.parse_script(path)
        except replay.ScriptError as err:
            usage_error = True
            lines.append(str(err))
            results.append(replay.Result(str(path), False, str(err), err.line))
            continue
        directory = args.story or script.story or _bundled()
        story, problems = stories.get(directory)
        if story is None:
            story_error = True
            lines.extend(str(p) for p in problems if p.level == "error")
            lines.append(f"{script.path}:1: the story {directory!r} has errors; see above")
            results.append(replay.Result(script.path, False, "story has errors", 1))
            continue
        result = replay.run_script(script, story)
        if result.passed and args.transcript:
            _transcript(args, script, result, several)
        results.append(result)
        lines.append(f"PASS {script.path} ({result.steps_run} steps)" if result.passed else f"FAIL {result.message}")
    passed = sum(1 for r in results if r.passed)
    failed = len(results) - passed
    if args.format == "json":
        json.dump({"results": [r.as_dict() for r in results], "passed": passed, "failed": failed}, sys.stdout,
                  indent=1)
        sys.stdout.write("\n")
    else:
        for line in lines:
            print(line)
        print(f"replay: {passed} passed, {failed} failed")
    if usage_error:
        return EXIT_USAGE
    return EXIT_PROBLEM if failed or story_error else EXIT_OK


def _transcript(args, script, result, several: bool) -> None:
    target = Path(args.transcript)
    if several or target.is_dir():
        target = target / (Path(script.path).name.split(".")[0] + ".txt")
    text = "\n".join(result.transcript) + "\n"
    if args.bless:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        return
    if not target.exists():
        result.passed = False
        result.message = (f"{script.path}:1: expected a golden transcript at {str(target)!r}, found none; "
                          "hint: run with --bless to write it")
        return
    golden = target.read_text(encoding="utf-8")
    if golden != text:
        diff = list(difflib.unified_diff(golden.splitlines(), text.splitlines(), str(target), "this run",
                                         lineterm="", n=1))
        result.passed = False
        result.message = (f"{script.path}:1: expected the transcript in {str(target)!r}, found differences "
                          f"(--bless to accept them):\n" + "\n".join(diff[:40]))


def cmd_explore(args) -> int:
    directory = args.dir or _bundled()
    story = load_or_report(directory)
    if story is None:
        return EXIT_PROBLEM
    from .cli import preset_from_args
    from .preset import PresetError

    try:
        start = preset_from_args(story, args, 0)
    except PresetError as err:
        print(f"aoud-adventure explore: {err}", file=sys.stderr)
        return EXIT_USAGE
    if args.to is not None:
        return _explore_to(args, story, directory, start)
    if args.random is not None:
        if args.random < 1:
            print("aoud-adventure explore: --random takes a number of runs of at least 1", file=sys.stderr)
            return EXIT_USAGE
        report = explore.explore_random(story, args.random, args.seed, start=start)
    else:
        if args.max_states is not None and args.max_states < 1:
            print("aoud-adventure explore: --max-states takes a number of at least 1", file=sys.stderr)
            return EXIT_USAGE
        report = _exhaustive(args, story, start)
    emitted = _emit(args, story, directory, report) if args.emit else {}
    if args.format == "json":
        json.dump(_report_json(story, report, emitted), sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        for line in _report_text(story, report, emitted):
            print(line)
    return EXIT_PROBLEM if report.failed else EXIT_OK


EXPLICIT_STATES = 1_000_000  # what the state-by-state search takes on before it hands over to the sweep


def _exhaustive(args, story, start):
    """The exhaustive report: state by state, else (or as asked) on sets of states."""
    from . import bdd
    from .symbolic import Unsupported, explore_symbolic

    if args.symbolic or args.by_node:
        try:
            if args.by_node:
                return _by_node(story, args.max_states, start)
            return explore_symbolic(story, args.max_states or EXPLICIT_STATES, start=start)
        except Unsupported as err:
            print(f"explore: {'--by-node' if args.by_node else '--symbolic'} cannot search this story ({err}); "
                  "searching state by state", file=sys.stderr)
    report = explore.explore_exhaustive(story, args.max_states or EXPLICIT_STATES, start=start)
    if report.complete or args.max_states is not None or args.symbolic or args.by_node:
        return report
    if not bdd.available():
        print(f"explore: more than {EXPLICIT_STATES:,} states, and the node-by-node search needs CUDD (the dd "
              "package's compiled module), which is not installed here; the report is of those states only",
              file=sys.stderr)
        return report
    print(f"explore: more than {EXPLICIT_STATES:,} states; searching node by node on decision diagrams "
          "(--by-node)", file=sys.stderr)
    try:
        return _by_node(story, None, start)
    except Unsupported as err:
        print(f"explore: the node-by-node search cannot take this story ({err})", file=sys.stderr)
    except (MemoryError, RuntimeError) as err:  # CUDD out of memory: keep the report of the first states
        print(f"explore: the node-by-node search ran out of memory ({err}); the report is of the first "
              f"{EXPLICIT_STATES:,} states only", file=sys.stderr)
    return report


def _by_node(story, max_states, start):
    """The node-by-node search, with a progress line on stderr when it is a terminal (a long search)."""
    from .sweep import explore_by_node

    if not sys.stderr.isatty():
        return explore_by_node(story, max_states, start=start)
    last = [0.0]

    def show(node: str, states: int, seconds: float) -> None:
        if seconds - last[0] >= 1.0:
            last[0] = seconds
            sys.stderr.write(f"\r\x1b[Kexplore: {seconds:,.0f} s, node {node} ({states:,} states there)")
            sys.stderr.flush()

    try:
        return explore_by_node(story, max_states, start=start, progress=show)
    finally:
        if last[0]:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def _explore_to(args, story, directory: str, start=None) -> int:
    if args.to not in story.nodes:
        from .conditions import _did_you_mean

        print(f"aoud-adventure explore: --to: no node has the id {args.to!r}{_did_you_mean(args.to, story.nodes)}",
              file=sys.stderr)
        return EXIT_USAGE
    limit = max(1, args.max_states or EXPLICIT_STATES)
    path, searched = explore.find_path(story, args.to, limit, start)
    if path is None:
        print(f"explore: no path to {args.to!r} found in {searched} states" +
              (" (the search was complete: it cannot be reached)" if searched < limit else
               f" (stopped at --max-states {limit})"))
        return EXIT_PROBLEM
    story_ref = None
    text = explore.script_for(story, path, story_ref, name=f"a path to {args.to}", start=start)
    if args.emit:
        out_dir = Path(args.emit)
        out_dir.mkdir(parents=True, exist_ok=True)
        if args.dir:
            text = explore.script_for(story, path, os.path.relpath(Path(directory).resolve(), out_dir.resolve()),
                                      name=f"a path to {args.to}", start=start)
        target = out_dir / f"to-{args.to}.replay.yaml"
        target.write_text(text, "utf-8")
        print(f"explore: a path of {len(path)} choices to {args.to!r} ({searched} states searched): {target}")
    else:
        print(f"# explore: a path of {len(path)} choices to {args.to!r} ({searched} states searched)")
        sys.stdout.write(text)
    return EXIT_OK


def _emit(args, story, directory: str, report) -> dict:
    out_dir = Path(args.emit)
    out_dir.mkdir(parents=True, exist_ok=True)
    story_ref = None
    if args.dir:
        story_ref = os.path.relpath(Path(directory).resolve(), out_dir.resolve())
    written: dict = {}
    for eid, path in sorted(report.ending_paths.items()):
        target = out_dir / f"ending-{eid}.replay.yaml"
        seed = report.ending_seeds.get(eid, 0)
        what = f"shortest path to {eid}" if report.mode == "exhaustive" else f"a random run (seed {seed}) to {eid}"
        target.write_text(explore.script_for(story, path, story_ref, seed=seed, name=what, start=report.start),
                          "utf-8")
        written[f"ending {eid}"] = str(target)
    for n, finding in enumerate(report.findings, 1):
        if not finding.path and finding.seed is None:
            continue
        target = out_dir / f"problem-{n}-{finding.kind}.replay.yaml"
        text = explore.script_for(story, finding.path, story_ref, seed=finding.seed or 0,
                                  name=f"reproduces: {finding.message}", start=report.start)
        target.write_text(text, "utf-8")
        written[f"problem {n}"] = str(target)
    return written


def _report_text(story, report, emitted: dict) -> list:
    cov = report.coverage.summary(story)
    lines = []
    if report.mode == "random":
        rate = report.choices_made / report.seconds if report.seconds else 0
        lines.append(f"explore: {report.runs} random runs, {report.choices_made} choices in "
                     f"{report.seconds:.2f} s ({rate:,.0f} choices/s)")
    else:
        rate = report.states / report.seconds if report.seconds else 0
        if report.stopped_by == "memory":
            why = f"the diagrams' memory bound ({report.diagram_nodes:,} nodes)"
        else:
            why = f"--max-states {report.max_states}"
        done = "complete" if report.complete else f"INCOMPLETE: stopped at {why}; reachability below is a lower bound"
        how = ""
        if report.method == "symbolic" and report.depth is None:
            how = f" (symbolic, node by node: {report.diagram_nodes:,} diagram nodes)"
        elif report.method == "symbolic":
            how = f" (symbolic: {report.depth} levels, {report.diagram_nodes:,} diagram nodes)"
        lines.append(f"explore: exhaustive, {report.states} states in {report.seconds:.2f} s "
                     f"({rate:,.0f} states/s), {done}{how}")
    lines.append(f"coverage: nodes {cov['nodes'][0]}/{cov['nodes'][1]}, choices {cov['choices'][0]}/"
                 f"{cov['choices'][1]}, endings {cov['endings'][0]}/{cov['endings'][1]}")
    if report.mode == "random":
        for eid, count in report.coverage.endings.most_common():
            lines.append(f"  ending {eid}: {count} runs ({100 * count / report.runs:.1f}%)")
        for kind, name, where in report.coverage.missing(story):
            lines.append(f"  never reached: {kind} {name} ({where})")
    else:
        for eid, path in sorted(report.ending_paths.items(), key=lambda kv: len(kv[1])):
            lines.append(f"  ending {eid}: shortest path {len(path)} choice{'s' * (len(path) != 1)}")
    for n, finding in enumerate(report.findings, 1):
        lines.append(str(finding))
        if f"problem {n}" in emitted:
            lines.append(f"  reproduce: aoud-adventure replay {emitted[f'problem {n}']}")
        elif finding.seed is not None:
            lines.append(f"  seed {finding.seed}")
    errors = sum(1 for f in report.findings if f.level == "error")
    warnings = len(report.findings) - errors
    lines.append(f"{errors} problem{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}")
    return lines


def _report_json(story, report, emitted: dict) -> dict:
    return {
        "mode": report.mode,
        "seconds": report.seconds,
        "runs": report.runs,
        "choices_made": report.choices_made,
        "states": report.states,
        "complete": report.complete,
        "method": report.method,
        "coverage": report.coverage.summary(story),
        "endings": dict(report.coverage.endings),
        "shortest_paths": {eid: len(p) for eid, p in report.ending_paths.items()},
        "missing": [{"kind": k, "id": n, "where": str(w)} for k, n, w in report.coverage.missing(story)],
        "findings": [f.as_dict() for f in report.findings],
        "emitted": emitted,
    }


def story_stats(story, runs: int = 2000) -> dict:
    """Counts a writer quotes: nodes, choices, words of prose, endings, people, items; typical run length."""
    import re
    import statistics

    markup = re.compile(r"\{[^{}]*\}")
    words = 0

    def count(template) -> int:
        return len(markup.sub(" ", template.source).split()) if template is not None else 0

    choices = 0
    for node in story.nodes.values():
        words += count(node.text)
        if node.ending is not None:
            words += count(node.ending.epilogue)
        for choice in node.choices:
            choices += 1
            words += count(choice.text) + count(choice.locked)
            words += sum(count(o.text) for o in choice.outcomes)
    lengths = []
    for i in range(runs):
        report = explore.explore_random(story, 1, seed=i)
        lengths.append(report.choices_made)
    return {
        "nodes": len(story.nodes), "choices": choices, "words": words, "endings": len(story.endings),
        "characters": len(story.characters), "items": len(story.items), "flags": len(story.flags),
        "counters": len(story.counters), "files": len(story.files),
        "median_run_choices": statistics.median(lengths) if lengths else 0,
        "p90_run_choices": sorted(lengths)[int(0.9 * (len(lengths) - 1))] if lengths else 0,
        "runs_sampled": runs,
    }


def cmd_stats(args) -> int:
    directory = args.dir or _bundled()
    story = load_or_report(directory)
    if story is None:
        return EXIT_PROBLEM
    stats = story_stats(story)
    if args.format == "json":
        json.dump(stats, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return EXIT_OK
    print(f"{story.title} ({directory})")
    for key, label in (("nodes", "nodes"), ("choices", "choices"), ("words", "words of prose"),
                       ("endings", "endings"), ("characters", "characters"), ("items", "items"),
                       ("flags", "flags"), ("counters", "counters"), ("files", "files")):
        print(f"  {label:<15} {stats[key]:>7,}")
    print(f"  a playthrough: median {stats['median_run_choices']:g} choices, 90th percentile "
          f"{stats['p90_run_choices']} ({stats['runs_sampled']} seeded random runs; random play takes early exits "
          "more often than people do)")
    return EXIT_OK
