"""The two kinds of import faults: a whole file, or one row."""

from __future__ import annotations


class FileRejected(Exception):
    """A fault that makes a whole file unusable: nothing from it is written."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class RowInvalid(Exception):
    """A row that cannot be imported; `field` names the culprit when there is one.

    `problems` lists every problem of the row (this one first), so a maintainer fixes
    them all at once.
    """

    def __init__(self, reason: str, field: str | None = None, *, code: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field
        self.code = code or (f"{field}_invalid" if field else "invalid")
        self.problems: tuple[RowInvalid, ...] = (self,)

    @classmethod
    def of_all(cls, problems: list[RowInvalid]) -> RowInvalid:
        """One rejection that names every problem; the first one gives its field and code."""
        first = problems[0]
        combined = cls("; ".join(problem.reason for problem in problems), first.field,
                       code=first.code)
        combined.problems = tuple(problems)
        return combined
