"""Commands over the data and the labels: ``check`` (every row, as the labeling UI reads it),
``export`` (the Export specs' label outputs) and ``report`` (models against the labels, annotators
against each other, progress)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator

import click

from lsts_sync.cli.app import cli, load_or_exit

Report = Callable[[int, int], None]


@cli.command("check")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--project", "names", multiple=True, metavar="NAME", help="Only these projects (repeatable).")
@click.option("--max-rows", type=click.IntRange(min=1), default=100_000, show_default=True,
              help="Warn about objects with more rows than this (the chart gets hard to use).")
@click.option("--parallelism", type=click.IntRange(min=1), default=8, show_default=True,
              help="Objects read at the same time.")
def check_command(paths: tuple[str, ...], names: tuple[str, ...], max_rows: int, parallelism: int) -> None:
    """Read every row of every object the sources would import, as the labeling UI will.

    One line per finding, `s3://bucket/key:ROW: message`; exit 1 if any is an error.
    """
    from lsts_sync.live.connections import Connections
    from lsts_sync.pipeline.data_check import check_data
    from lsts_sync.pipeline.orchestrator import select_projects

    specs = load_or_exit(paths)
    selected = select_projects(specs, names)
    report = check_data(specs, selected, Connections.open(specs).s3, max_rows=max_rows,
                        parallelism=parallelism, progress=lambda name: _progress(f"Checking {name}"))
    for result in report.results:
        for finding in result.findings:
            click.echo(("" if finding.error else "warning: ") + str(finding))
    click.echo(report.summary(), err=True)
    if report.errors:
        raise click.exceptions.Exit(1)


@contextlib.contextmanager
def _progress(label: str) -> Iterator[Report]:
    """A progress bar on stderr when it is a terminal; yields ``report(done, total)``."""
    if not sys.stderr.isatty():
        yield lambda done, total: None
        return
    bars: list = []

    def report(done: int, total: int) -> None:
        if not bars:
            bars.append(click.progressbar(length=total, label=label, file=sys.stderr).__enter__())
        bars[0].update(done - bars[0].pos)

    try:
        yield report
    finally:
        if bars:
            bars[0].__exit__(None, None, None)


@cli.command("export")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--name", "names", multiple=True, metavar="NAME", help="Only these Export specs (repeatable).")
@click.option("--project", "projects", multiple=True, metavar="NAME",
              help="Only the Export specs of these projects (repeatable).")
def export_command(paths: tuple[str, ...], names: tuple[str, ...], projects: tuple[str, ...]) -> None:
    """Write the label outputs (CSV, or Parquet for a .parquet output) that Export specs define.

    Everything is downloaded and transformed before the first file is written, so an error
    (unknown project, unreachable instance) leaves every output untouched. If writing one fails,
    the outputs written and those not written are listed, one line each, and the exit status is 1.
    """
    from lsts_sync.labels.exports import ExportFailed, run_exports, select_exports, writer_for
    from lsts_sync.live.connections import Connections
    from lsts_sync.pipeline.orchestrator import select_projects

    specs = load_or_exit(paths)
    selected = select_projects(specs, projects)
    exports = [e for e in select_exports(specs, names) if selected is None or e.project in selected]
    conn = Connections.open(specs)
    try:
        written = run_exports(specs, exports, conn.instances, writer_for(conn.s3),
                              progress=lambda line: click.echo(line, err=True), read=conn.s3.read_bytes)
    except ExportFailed as exc:
        click.echo(f"Written: {', '.join(o.output.location for o in exc.written) or 'none'}", err=True)
        click.echo(f"Not written: {', '.join(o.output.location for o in exc.not_written)}", err=True)
        raise
    for item in written:
        click.echo(f"{item.export}: wrote {item.output.location} ({item.output.rows} rows)")


@cli.command("report")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--project", "names", multiple=True, metavar="NAME", help="Only these projects (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="The report as JSON (format_version 1, numbers unrounded).")
@click.option("--markdown", is_flag=True, help="The report as Markdown (for a pull request comment).")
@click.option("--iou", type=click.FloatRange(0, 1, min_open=True), default=0.5, show_default=True,
              help="The least IoU (of the rows two regions hold) for a predicted and a labeled region to match.")
@click.option("--plots", metavar="DIR", type=click.Path(file_okay=False),
              help="Write a PNG per labeled object and one per project here (the plots extra: matplotlib).")
def report_command(paths: tuple[str, ...], names: tuple[str, ...], as_json: bool, markdown: bool, iou: float,
                   plots: str | None) -> None:
    """Measure each model version (Predictions specs) against the labels, the annotators against each
    other, and how far the labeling is. Read-only.

    The labels of a task are the annotation that export takes with `annotations: latest`; every
    measure is computed on the rows of the task's source file, labeled as the dense export labels them.
    """
    import json

    from lsts_sync.labels.report import report_json
    from lsts_sync.labels.report_format import render_markdown, render_text
    from lsts_sync.live.connections import Connections
    from lsts_sync.pipeline.orchestrator import select_projects
    from lsts_sync.pipeline.report import ReportOptions, build_reports

    if as_json and markdown:
        raise click.UsageError("--json and --markdown exclude each other")
    specs = load_or_exit(paths)
    selected = select_projects(specs, names)
    found = build_reports(specs, selected, Connections.open(specs), ReportOptions(iou=iou, plots=plots),
                          progress=lambda line: click.echo(line, err=True))
    if as_json:
        click.echo(json.dumps(report_json(found.projects), indent=2))
    else:
        click.echo((render_markdown if markdown else render_text)(found.projects, iou))
    for picture in found.pictures:
        click.echo(f"Wrote {picture}", err=True)
