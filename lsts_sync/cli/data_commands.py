"""Commands over the data and the labels: ``check`` (every row, as the labeling UI reads it) and
``export`` (the Export specs' label outputs)."""

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
