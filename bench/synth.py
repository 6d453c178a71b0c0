"""A seeded generator of synthetic stories of any size, shaped like the campaign (for benchmarks)."""

from __future__ import annotations

import argparse
import random
from pathlib import Path

WORDS = ("the corridor smells of smoke and floor wax and somewhere below a door bangs twice then stops "
         "you keep your hand on the rail and count the steps the way On-jo taught you rain on the glass "
         "a phone buzzing in a bag nobody will open again the lights flicker and hold").split()
NODES_PER_FILE = 100


def _prose(rng: random.Random, words: int) -> str:
    out, line = [], []
    for _ in range(words):
        line.append(rng.choice(WORDS))
        if len(line) >= 12:
            out.append(" ".join(line))
            line = []
    if line:
        out.append(" ".join(line))
    return "\n      ".join(out)


def generate(directory: Path, nodes: int, seed: int = 1) -> Path:
    """Write a story of `nodes` nodes (about 1 in 20 an ending) into `directory`."""
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    n_chars, n_items, n_flags = 12, 16, 24
    chars = [f"c{i}" for i in range(n_chars)]
    items = [f"item{i}" for i in range(n_items)]
    flags = [f"flag{i}" for i in range(n_flags)]
    manifest = ["title: Synthetic", "start: n0", "infection: {turns: 12, feverish: 4, turning: 9, "
                "on_player_turned: end.turned}", "characters:"]
    manifest += [f"  {c}: {{name: Person {c.upper()}, short: {c.upper()}, fate: "
                 f"{'in-group' if i < 4 else 'absent'}}}" for i, c in enumerate(chars)]
    manifest += ["items:"] + [f"  {i}: {{name: thing {i}}}" for i in items]
    manifest += ["flags:"] + [f"  {f}: {{}}" for f in flags]
    manifest += ["counters:", "  noise: {min: 0, max: 10, show: true}", "  time: {min: 0, max: 500}",
                 "nodes:", "  end.turned:", "    text: You turned.", "    ending: {title: Turned}"]
    (directory / "story.yaml").write_text("\n".join(manifest) + "\n", encoding="utf-8")

    def cond() -> str:
        kind = rng.randrange(6)
        if kind == 0:
            return f"has {rng.choice(items)}"
        if kind == 1:
            return f"with {rng.choice(chars)}"
        if kind == 2:
            return f"not {rng.choice(flags)}"
        if kind == 3:
            return f"noise < {rng.randrange(3, 9)}"
        if kind == 4:
            return f"{rng.choice(chars)} is alive and not has {rng.choice(items)}"
        return f"{rng.choice(flags)} or has {rng.choice(items)}"

    def effect() -> str:
        kind = rng.randrange(6)
        if kind == 0:
            return f"{{gain: {rng.choice(items)}}}"
        if kind == 1:
            return f"{{set: {rng.choice(flags)}}}"
        if kind == 2:
            return f"{{add: {{noise: {rng.choice((-2, 1, 2))}}}}}"
        if kind == 3:
            return f"{{join: {rng.choice(chars)}}}"
        if kind == 4:
            return f"{{lose: {rng.choice(items)}}}"
        return f"{{die: {rng.choice(chars)}}}" if rng.random() < 0.3 else f"{{bite: {rng.choice(chars)}}}"

    files = (nodes + NODES_PER_FILE - 1) // NODES_PER_FILE
    for f in range(files):
        out = [f"place: Wing {f}", "nodes:"]
        for n in range(f * NODES_PER_FILE, min(nodes, (f + 1) * NODES_PER_FILE)):
            ahead = [n + 1, min(nodes - 1, n + 2), min(nodes - 1, n + rng.randrange(1, 12))]
            if n > 0 and (n % 20 == 19 or n == nodes - 1):
                out += [f"  n{n}:", "    text: |", f"      {_prose(rng, 60)}", "    ending:",
                        f"      title: Ending {n}", "      epilogue: |",
                        "        {if with c1}C1 made it with you.{else}You made it alone.{end} You carry {items}."]
                continue
            out += [f"  n{n}:", "    do: [{add: {time: 1}}]", "    text: |",
                    f"      {_prose(rng, 50)} {{if with {rng.choice(chars)}}}Someone waits by the door.{{end}}",
                    f"      {_prose(rng, 50)} {{if has {rng.choice(items)}}}The weight in your bag.{{else}}Nothing "
                    "in your hands.{end}",
                    "    choices:"]
            out += [f"      - id: go-{ahead[0]}", f"        text: Go on toward {ahead[0]}.",
                    f"        do: [{effect()}]", f"        goto: n{ahead[0]}"]
            out += [f"      - id: try-{ahead[1]}", "        text: Try the other way.", f"        if: \"{cond()}\"",
                    f"        do: [{effect()}, {effect()}]", f"        goto: n{ahead[1]}"]
            if rng.random() < 0.4:
                out += ["      - id: risk", "        text: Take the risk.", "        random:",
                        f"          - {{weight: 3, goto: n{ahead[2]}, text: It works.}}",
                        f"          - {{weight: 1, goto: n{ahead[0]}, do: [{{bite: you}}], text: It bites.}}"]
        (directory / f"wing{f:04d}.yaml").write_text("\n".join(out) + "\n", encoding="utf-8")
    return directory


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    generate(args.directory, args.nodes, args.seed)
