"""aoud-adventure: a survival-choice text adventure engine (pure core; I/O at the edges)."""

__version__ = "0.1.0"
