"""Problems found in spec files, one per line at ``file:line`` (runtime errors live in ``errors``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FieldPath = tuple[str | int, ...]  # a field's place in a spec document: ("timeseries", "channels", 1)


def format_path(path: FieldPath) -> str:
    """``("timeseries", "channels", 1, "color")`` -> ``timeseries.channels[1].color``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "-"


@dataclass(frozen=True)
class Problem:
    """One problem with a spec, at ``file:line``. ``kind``/``name`` are ``None`` when unknown."""

    file: str
    line: int
    message: str
    kind: str | None = None
    name: str | None = None
    path: FieldPath = ()
    severity: Literal["error", "warning"] = "error"
    yaml: bool = False

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        prefix = "warning: " if self.severity == "warning" else ""
        if self.yaml:
            return f"{where}: {prefix}yaml: {self.message}"
        subject = f"{self.kind or 'document'} {self.name or '?'}"
        return f"{where}: {prefix}{subject}: {format_path(self.path)}: {self.message}"
