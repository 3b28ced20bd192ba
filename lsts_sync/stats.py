"""Counting HTTP requests made to Label Studio and S3 (for ``--stats``, tests and benchmarks)."""

from __future__ import annotations

from dataclasses import dataclass, field

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass
class RequestStats:
    """Requests by method; a write is anything that is not GET/HEAD/OPTIONS."""

    by_method: dict[str, int] = field(default_factory=dict)

    def record(self, method: str) -> None:
        method = method.upper()
        self.by_method[method] = self.by_method.get(method, 0) + 1

    @property
    def reads(self) -> int:
        return sum(n for m, n in self.by_method.items() if m in READ_METHODS)

    @property
    def writes(self) -> int:
        return sum(n for m, n in self.by_method.items() if m not in READ_METHODS)

    def line(self) -> str:
        return f"HTTP requests: {self.reads + self.writes} ({self.reads} reads, {self.writes} writes)"
