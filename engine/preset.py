"""Building and checking game states from names: `play --from` presets and the start state of saves."""

from __future__ import annotations

from .model import FATES, PLAYER, Story
from .state import CARRIER, CLEAN, GameState, seed_generator


class PresetError(ValueError):
    """A preset or stored state that does not fit the story; the message says what and where."""


def _hint(name: str, pool) -> str:
    import difflib  # only when a name is wrong: not on every start

    close = difflib.get_close_matches(str(name), sorted(pool), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _known(name: str, pool, what: str) -> None:
    if name not in pool:
        raise PresetError(f"{what}: {name!r} is not declared{_hint(name, pool)}")


def preset_state(story: Story, node: str, seed: int, items=(), fates=None, flags=(), counters=None,
                 infection=None) -> GameState:
    """A state at `node` with the given values; anything not given is as at the story's start."""
    _known(node, story.nodes, "node")
    fates = dict(fates or {})
    counters = dict(counters or {})
    infection = dict(infection or {})
    for item in items:
        _known(item, story.item_by_id, "item")
    for flag in flags:
        _known(flag, {f.id for f in story.flags}, "flag")
    for who, fate in fates.items():
        _known(who, story.character_index, "character")
        if fate not in FATES:
            raise PresetError(f"fate of {who}: expected one of {', '.join(FATES)}, found {fate!r}{_hint(fate, FATES)}")
    values = []
    for c in story.counters:
        value = counters.pop(c.id, c.start)
        if not isinstance(value, int) or isinstance(value, bool) or not c.min <= value <= c.max:
            raise PresetError(f"counter {c.id}: expected a whole number in {c.min}..{c.max}, found {value!r}")
        values.append(value)
    for name in counters:
        _known(name, story.counter_index, "counter")
    clocks = [CLEAN] * (1 + len(story.characters))
    for who, clock in infection.items():
        if who != PLAYER:
            _known(who, story.character_index, "character")
        index = 0 if who == PLAYER else 1 + story.character_index[who]
        if clock == "clean":
            clock = CLEAN
        elif clock == "carrier":
            clock = CARRIER
        elif not isinstance(clock, int) or isinstance(clock, bool) or not 0 <= clock <= story.person_turns(who):
            raise PresetError(f"infection of {who}: expected clean, carrier or the choices since the bite "
                              f"(0..{story.person_turns(who)}), found {clock!r}")
        clocks[index] = clock
    return GameState.of(
        story.layout,
        node=node,
        items=frozenset(items),
        flags=frozenset(flags),
        counters=tuple(values),
        fates=tuple(fates.get(c.id, c.fate) for c in story.characters),
        infection=tuple(clocks),
        rng=seed_generator(seed),
    )


def decode_state(story: Story, data, seed: int) -> GameState:
    """A state stored in a save (as written by saves.encode_state), checked against the story."""
    if not isinstance(data, dict):
        raise PresetError("expected a stored state (a mapping)")
    try:
        state = preset_state(
            story, data["node"], seed, items=list(data.get("items", [])), fates=data.get("fates", {}),
            flags=list(data.get("flags", [])), counters=data.get("counters", {}),
            infection=data.get("infection", {}),
        )
        rng, turn = data.get("rng", state.rng), data.get("turn", 0)
    except (KeyError, TypeError, AttributeError) as err:
        raise PresetError(f"the stored state is incomplete or malformed ({err})") from None
    if not isinstance(rng, int) or not isinstance(turn, int) or rng < 0 or turn < 0:
        raise PresetError("the stored state has a malformed generator or turn")
    return state.with_(rng=rng, turn=turn)


def parse_pairs(values, what: str) -> dict:
    """`NAME=VALUE` command-line pairs as a dict (values that look like numbers become ints)."""
    out: dict = {}
    for raw in values or ():
        name, sep, value = raw.partition("=")
        if not sep or not name:
            raise PresetError(f"{what}: expected NAME=VALUE, found {raw!r}")
        out[name] = int(value) if value.lstrip("-").isdigit() else value
    return out
