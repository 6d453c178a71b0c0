"""Problems as values: what is wrong, where, how bad, under which rule."""

from __future__ import annotations

from dataclasses import dataclass

from .model import Location


@dataclass(frozen=True, slots=True)
class Problem:
    where: Location
    level: str  # "error" or "warning"
    message: str
    rule: str

    def __str__(self) -> str:
        return f"{self.where}: {self.level}: {self.message} [{self.rule}]"

    def as_dict(self) -> dict:
        return {
            "path": self.where.path,
            "line": self.where.line,
            "column": self.where.column,
            "level": self.level,
            "message": self.message,
            "rule": self.rule,
        }


def sort_key(problem: Problem):
    return (problem.where.path, problem.where.line, problem.where.column, problem.rule)


class StoryError(Exception):
    """A story that cannot be loaded; carries every problem found."""

    def __init__(self, problems: list):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
