"""Commands over the data and the labels: ``check`` (every row, as the labeling UI reads it) and
``export`` (the Export specs' label outputs)."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator

import click

from lsts_sync.cli.app import cli, load_or_exit
from lsts_sync.core.errors import LstsError

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
    from lsts_sync.core.stats import RequestStats
    from lsts_sync.data.scan import check_project
    from lsts_sync.data.sources import resolve_channels
    from lsts_sync.live.s3 import S3Buckets

    specs = load_or_exit(paths)
    unknown = sorted(set(names) - set(specs.projects))
    if unknown:
        raise LstsError(f"--project names no Project spec: {', '.join(unknown)}")
    wanted = {n for n, p in specs.projects.items() if p.source is not None and (not names or n in names)}
    s3 = S3Buckets(specs.buckets, RequestStats())
    specs = resolve_channels(specs, s3, wanted)
    start, errors, warnings, objects, size = time.perf_counter(), 0, 0, 0, 0
    for name in sorted(wanted):
        with _progress(f"Checking {name}") as report:
            result = check_project(specs.projects[name], s3, parallelism=parallelism, max_rows=max_rows,
                                   progress=report)
        for finding in result.findings:
            click.echo(("" if finding.error else "warning: ") + str(finding))
        errors += sum(f.error for f in result.findings)
        warnings += sum(not f.error for f in result.findings)
        objects, size = objects + result.objects, size + result.bytes
    elapsed = time.perf_counter() - start
    click.echo(f"Checked {objects} object(s), {size / 1e6:.1f} MB in {elapsed:.1f} s "
               f"({size / 1e6 / max(elapsed, 1e-9):.1f} MB/s): {errors} error(s), {warnings} warning(s)", err=True)
    if errors:
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

    specs = load_or_exit(paths)
    unknown = sorted(set(projects) - set(specs.projects))
    if unknown:
        raise LstsError(f"--project names no Project spec: {', '.join(unknown)}")
    exports = [e for e in select_exports(specs, names) if not projects or e.project in projects]
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
