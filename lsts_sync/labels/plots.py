"""The report's pictures (``--plots DIR``), drawn with matplotlib (the ``plots`` extra).

- ``DIR/PROJECT/FILE.png`` per labeled object: its channels one above the other, in time order;
  the confirmed regions (the reference) shaded across every channel in their label's colour, the
  annotator named in the title; below them one lane per model version with its predicted regions
  in that version's colour. Regions are drawn over the rows they hold (as they are measured); an
  instant holding one row is a thin line.
- ``DIR/PROJECT.png`` per project: precision and recall (event, range, rows; all labels together)
  of each model version, side by side.

Figures are made without pyplot (``matplotlib.figure.Figure``): no global state, no display needed.
Each source file is read again through ``read`` (the report keeps counts, not rows).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lsts_sync.core.errors import LstsError
from lsts_sync.labels.dense import Reader, read_series
from lsts_sync.labels.metrics import Span
from lsts_sync.labels.report import ObjectResult, ProjectReport
from lsts_sync.spec.models import ProjectSpec
from lsts_sync.ui.colors import TAB10

NEEDS_MATPLOTLIB = "--plots needs matplotlib: pip install 'lsts-sync[plots]'"
MODEL_COLORS = ("#222222", "#e6ab02", "#1b9e77", "#e7298a", "#a6761d", "#666666")  # apart from tab10 (labels, channels)
WIDTH, CHANNEL_HEIGHT, LANE_HEIGHT = 11.0, 1.6, 0.45  # inches


def require_matplotlib() -> None:
    """Raise LstsError (one line saying what to install) when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise LstsError(NEEDS_MATPLOTLIB) from None


def safe_name(text: str) -> str:
    """A file name for a project or a source key (its folders joined with ``__``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text.strip("/").replace("/", "__")) or "_"


def write_plots(reports: Sequence[ProjectReport], projects: Mapping[str, ProjectSpec], read: Reader,
                folder: Path) -> list[Path]:
    """Write every picture (see the module docstring); returns their paths, in order."""
    written = []
    for report in reports:
        project = projects[report.name]
        for obj in report.objects:
            path = folder / safe_name(report.name) / f"{safe_name(obj.task.file)}.png"
            where = f"report {report.name}: s3://{obj.task.bucket}/{obj.task.file}"
            data = read(str(obj.task.bucket), obj.task.file).decode("utf-8", errors="replace")
            _save(object_figure(obj, project, data, where), path)
            written.append(path)
        if report.models:
            path = folder / f"{safe_name(report.name)}.png"
            _save(project_figure(report), path)
            written.append(path)
    return written


def _save(figure: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)


def _axis(ordered: np.ndarray, project: ProjectSpec) -> np.ndarray:
    """The x values of rows in time order: datetimes with a time format, else the numbers."""
    if project.timeseries.time_format:
        return np.array([datetime.fromtimestamp(ms / 1000, UTC).replace(tzinfo=None) for ms in ordered])
    return ordered


def _extent(span: Span, x: np.ndarray) -> tuple[Any, Any]:
    return x[span.first], x[span.after - 1]


def label_colors(project: ProjectSpec, labels: Iterable[str]) -> dict[str, str]:
    """Each label's colour: the spec's, else tab10 in the project's label order."""
    declared = {label.value: label.color for label in project.labels}
    order = list(dict.fromkeys([*declared, *sorted(labels)]))
    return {name: declared.get(name) or TAB10[i % len(TAB10)] for i, name in enumerate(order)}


def object_figure(obj: ObjectResult, project: ProjectSpec, data: str, where: str) -> Any:
    """The picture of one labeled object (see the module docstring)."""
    from matplotlib.figure import Figure

    series = read_series(data, project, where)
    order = np.argsort(series.times, kind="stable")[: obj.rows]  # rows with a time, in time order
    x = _axis(series.times[order], project)
    channels = project.timeseries.channel_list or project.with_channels(list(series.rows.columns)).timeseries.channel_list
    versions = sorted(obj.predicted)
    heights = [CHANNEL_HEIGHT] * len(channels) + ([LANE_HEIGHT * len(versions)] if versions else [])
    figure = Figure(figsize=(WIDTH, sum(heights) + 1.0), layout="constrained")
    axes = figure.subplots(len(heights), 1, sharex=True, squeeze=False, height_ratios=heights)[:, 0]
    colors = label_colors(project, [s.label for s in obj.reference])
    for i, (ax, channel) in enumerate(zip(axes, channels, strict=False)):
        column = series.names.get(channel.column.strip().lower())
        if column:
            values = pd.to_numeric(series.rows[column], errors="coerce").to_numpy()[order]
            ax.plot(x, values, color=channel.color or TAB10[i % len(TAB10)], linewidth=0.8)
        ax.set_ylabel(channel.legend or channel.column, fontsize=8)
        for span in (s for s in obj.reference if s.rows):
            ax.axvspan(*_extent(span, x), color=colors[span.label], alpha=0.25, linewidth=0)
    if versions:
        _lanes(axes[-1], [obj.predicted[v] for v in versions], versions, x)
    _legend(figure, colors, sorted({s.label for s in obj.reference}), versions)
    figure.suptitle(f"{obj.task.file}: labeled by {obj.task.annotator or 'unknown'}", fontsize=10)
    return figure


def _lanes(ax: Any, predicted: Sequence[Sequence[Span]], versions: Sequence[str], x: np.ndarray) -> None:
    """One lane per model version, its predicted regions as bars in the version's colour."""
    for lane, found in enumerate(predicted):
        for span in (s for s in found if s.rows):
            start, end = _extent(span, x)
            ax.fill_between([start, end], lane + 0.15, lane + 0.85, color=MODEL_COLORS[lane % len(MODEL_COLORS)])
    ax.set_yticks([lane + 0.5 for lane in range(len(versions))], versions, fontsize=8)
    ax.set_ylim(0, len(versions))


def _legend(figure: Any, colors: Mapping[str, str], labels: Sequence[str], versions: Sequence[str]) -> None:
    from matplotlib.patches import Patch

    handles = [Patch(color=colors[label], alpha=0.25, label=f"{label} (labeled)") for label in labels]
    handles += [Patch(color=MODEL_COLORS[i % len(MODEL_COLORS)], label=f"{v} (predicted)") for i, v in enumerate(versions)]
    if handles:
        figure.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 4), fontsize=8)


def project_figure(report: ProjectReport) -> Any:
    """Precision and recall of every model version, all labels together (see the module docstring)."""
    from matplotlib.figure import Figure

    versions = list(report.models)
    figure = Figure(figsize=(WIDTH, 3.6), layout="constrained")
    axes = figure.subplots(1, 3, sharey=True)
    width = 0.8 / max(1, len(versions))
    for ax, kind in zip(axes, ("event", "range", "rows"), strict=True):
        for i, version in enumerate(versions):
            scores = getattr(report.scores(version)["all"], kind)
            heights = [v if v is not None else 0.0 for v in (scores.precision, scores.recall)]
            bars = ax.bar(np.arange(2) + (i - (len(versions) - 1) / 2) * width, heights, width,
                          color=MODEL_COLORS[i % len(MODEL_COLORS)], label=version)
            for bar, value in zip(bars, (scores.precision, scores.recall), strict=True):
                ax.annotate("-" if value is None else f"{value:.2f}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                            ha="center", va="bottom", fontsize=8)
        ax.set_xticks([0, 1], ["precision", "recall"])
        ax.set_ylim(0, 1.1)
        ax.set_title(kind, fontsize=10)
    axes[0].legend(fontsize=8)
    figure.suptitle(f"{report.name}: model versions against the labels", fontsize=10)
    return figure
