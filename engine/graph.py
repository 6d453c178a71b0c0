"""The story as a graph: Graphviz DOT or Mermaid, nodes grouped by file, endings and the start marked."""

from __future__ import annotations

import os
from collections import OrderedDict

from .model import Story


def _groups(story: Story) -> "OrderedDict[str, list]":
    groups: OrderedDict = OrderedDict()
    for node in story.nodes.values():
        groups.setdefault(os.path.basename(node.where.path), []).append(node)
    return groups


def _edges(story: Story):
    """(source, target, label, kind) with kind plain, conditional, random or trigger."""
    for node in story.nodes.values():
        for choice in node.choices:
            label = choice.id or choice.text.source.strip().splitlines()[0][:30]
            if choice.outcomes:
                for n, outcome in enumerate(choice.outcomes, 1):
                    extra = f" ({outcome.weight}/{sum(o.weight for o in choice.outcomes)})"
                    yield node.id, outcome.goto, f"{label}{extra}", "random"
            else:
                yield node.id, choice.goto, label, "conditional" if choice.condition else "plain"
    for trigger in story.triggers:
        yield "*", trigger.goto, trigger.condition.source, "trigger"
    if story.infection.on_player_turned:
        yield "*", story.infection.on_player_turned, "you turn", "trigger"


def _dot_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(story: Story) -> str:
    lines = ["digraph story {", "  rankdir=LR;", '  node [shape=box, style="rounded", fontname="Helvetica"];',
             '  edge [fontname="Helvetica", fontsize=10];', f"  label={_dot_str(story.title)};"]
    for n, (file, nodes) in enumerate(_groups(story).items()):
        lines.append(f"  subgraph cluster_{n} {{")
        lines.append(f"    label={_dot_str(file)}; style=dashed;")
        for node in nodes:
            attrs = [f"label={_dot_str(node.id if node.ending is None else node.id + chr(10) + node.ending.title)}"]
            if node.ending is not None:
                attrs.append('shape=doubleoctagon, style=filled, fillcolor="#f4cccc"')
            if node.id == story.start:
                attrs.append('style="rounded,bold,filled", fillcolor="#d9ead3", peripheries=2')
            lines.append(f"    {_dot_str(node.id)} [{', '.join(attrs)}];")
        lines.append("  }")
    styles = {"plain": "", "conditional": ", style=dashed", "random": ', style=dotted, color="#1155cc"',
              "trigger": ', style=bold, color="#cc0000"'}
    if any(src == "*" for src, *_ in _edges(story)):
        lines.append('  "*" [label="any node", shape=plaintext];')
    for src, dst, label, kind in _edges(story):
        lines.append(f"  {_dot_str(src)} -> {_dot_str(dst)} [label={_dot_str(label)}{styles[kind]}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _mid(node_id: str) -> str:
    # Mermaid ids allow only [A-Za-z0-9_]; escape the rest reversibly so `a.b` and `a_b` stay apart.
    return "n_" + "".join(c if c.isalnum() else f"_{ord(c):x}_" for c in node_id)


def _mtext(text: str) -> str:
    return '"' + text.replace('"', "#quot;").replace("\n", "\\n") + '"'


def to_mermaid(story: Story) -> str:
    lines = ["flowchart LR"]
    for n, (file, nodes) in enumerate(_groups(story).items()):
        lines.append(f"  subgraph g{n}[{_mtext(file)}]")
        for node in nodes:
            if node.ending is not None:
                lines.append(f"    {_mid(node.id)}(({_mtext(node.id + ': ' + node.ending.title)}))")
            elif node.id == story.start:
                lines.append(f"    {_mid(node.id)}([{_mtext('START ' + node.id)}])")
            else:
                lines.append(f"    {_mid(node.id)}[{_mtext(node.id)}]")
        lines.append("  end")
    arrows = {"plain": "-->", "conditional": "-.->", "random": "-.->", "trigger": "==>"}
    if any(src == "*" for src, *_ in _edges(story)):
        lines.append('  any{{"any node"}}')
    for src, dst, label, kind in _edges(story):
        source = "any" if src == "*" else _mid(src)
        prefix = "if " if kind == "conditional" else "random " if kind == "random" else ""
        lines.append(f"  {source} {arrows[kind]}|{_mtext(prefix + label)}| {_mid(dst)}")
    ends = [_mid(n.id) for n in story.nodes.values() if n.ending is not None]
    if ends:
        lines.append("  classDef ending fill:#f4cccc,stroke:#990000")
        lines.append(f"  class {','.join(ends)} ending")
    lines.append("  classDef start fill:#d9ead3,stroke:#274e13,stroke-width:3px")
    lines.append(f"  class {_mid(story.start)} start")
    return "\n".join(lines) + "\n"
