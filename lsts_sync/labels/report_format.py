"""The report as text: an aligned table for the terminal, or Markdown for a pull request comment.

Scores are shown with two decimals and ``-`` where they are undefined (null in the JSON, which
keeps every number unrounded). Each model version gets a row for all labels together, then one
per label.
"""

from __future__ import annotations

from collections.abc import Sequence

from lsts_sync.labels.metrics import Comparison
from lsts_sync.labels.report import ProjectReport

HEADER = ("model", "label", "tp", "fp", "fn", "event P", "event R", "event F1", "range P", "range R", "range F1",
          "rows P", "rows R", "rows F1")
LEFT = 2  # the first columns are names, the others numbers


def score(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _cells(version: str, label: str, c: Comparison) -> tuple[str, ...]:
    e, r, w = c.event, c.range, c.rows
    return (version, label, str(e.tp), str(e.fp), str(e.fn), score(e.precision), score(e.recall), score(e.f1),
            score(r.precision), score(r.recall), score(r.f1), score(w.precision), score(w.recall), score(w.f1))


def model_rows(report: ProjectReport) -> list[tuple[str, ...]]:
    """One row per model version and label (``all`` first); the version named on its first row."""
    rows = []
    for version in report.models:
        for i, (label, comparison) in enumerate(report.scores(version).items()):
            rows.append(_cells(version if i == 0 else "", label, comparison))
    return rows


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {n}" for name, n in sorted(counts.items())) or "none"


def _summary(report: ProjectReport) -> str:
    p = report.progress
    return f"{p.tasks} task(s), {p.annotated} annotated, {p.cancelled} cancelled annotation(s)"


def _agreement(report: ProjectReport) -> str:
    a = report.agreement
    if not a.tasks:
        return "Agreement: no task has annotations by two annotators"
    return f"Agreement over {a.tasks} task(s), {a.pairs} annotator pair(s): event F1 {score(a.event_f1)}, " \
           f"Krippendorff's alpha {score(a.alpha)}"


def _aligned(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) if i < LEFT else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths,
                                                                                                    strict=True)))
            .rstrip() for row in rows]


def render_text(reports: Sequence[ProjectReport], iou: float) -> str:
    """The terminal table of every project."""
    lines: list[str] = []
    for report in reports:
        lines += [f"Project {report.name}: {_summary(report)}",
                  f"  Annotators: {_counts(report.progress.annotators)}",
                  f"  Regions per label: {_counts(report.progress.labels)}"]
        if report.models:
            lines.append(f"  Models against the labels (events match at IoU >= {iou:g}):")
            lines += ["    " + line for line in _aligned([HEADER, *model_rows(report)])]
        else:
            lines.append("  Models: no Predictions spec for this project")
        lines += [f"  {_agreement(report)}", ""]
    return "\n".join(lines).rstrip("\n")


def render_markdown(reports: Sequence[ProjectReport], iou: float) -> str:
    """A Markdown section per project: a summary line, the models table, agreement."""
    parts: list[str] = []
    for report in reports:
        lines = [f"### {report.name}", "",
                 f"{_summary(report)}. Annotators: {_counts(report.progress.annotators)}. "
                 f"Regions per label: {_counts(report.progress.labels)}.", ""]
        if report.models:
            lines += [f"Models against the labels (events match at IoU ≥ {iou:g}):", "",
                      "| " + " | ".join(HEADER) + " |",
                      "|" + "|".join("---" if i < LEFT else "--:" for i in range(len(HEADER))) + "|"]
            lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in model_rows(report)]
            lines.append("")
        else:
            lines += ["No Predictions spec for this project.", ""]
        lines.append(_agreement(report) + ".")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)
