"""The ``lsts-sync`` command line. Only this module and ``plan_render`` write to the terminal.

Heavy libraries (pandas, boto3, label_studio_sdk) are imported inside the commands that need them,
so ``--help`` and ``validate`` start fast.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import sys
import traceback
from collections.abc import Callable

import click

from lsts_sync.core.errors import LstsError
from lsts_sync.core.problems import Problem

log = logging.getLogger("lsts_sync")
# Variables whose values are masked in every output even before a client reads them.
SECRET_VARIABLES = ("LABEL_STUDIO_API_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
# Reads made at once by plan/apply (--parallelism); measured in `make bench` (README, Benchmarks).
DEFAULT_PARALLELISM = 4


class Context:
    def __init__(self, debug: bool):
        self.debug = debug


def _print_problems(problems: list[Problem]) -> bool:
    """Print problems to stderr (errors first per file order); return True if any is an error."""
    from lsts_sync.core.secrets import redact

    for problem in problems:
        click.echo(redact(str(problem)), err=True)
    return any(p.severity == "error" for p in problems)


def load_or_exit(paths: tuple[str, ...], *, require_env: bool = True):
    """Load specs; print every problem; exit 1 if any is an error."""
    from lsts_sync.spec.loader import load_specs

    specs, problems = load_specs(paths, require_env=require_env)
    if _print_problems(problems):
        errors = sum(p.severity == "error" for p in problems)
        raise click.exceptions.Exit(_fail(f"{errors} error(s) in specs; nothing was changed"))
    return specs


def _fail(message: str) -> int:
    click.secho(f"Error: {message}", err=True, fg="red")
    return 1


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.version_option(package_name="lsts-sync")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Declarative Label Studio time-series labeling on S3: validate, plan, apply, export."""
    from lsts_sync.core.secrets import RedactingFilter

    ctx.obj = Context(debug)
    # Only our own logger goes to DEBUG: botocore/httpx debug logs print request headers.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingFilter())
    logging.getLogger("lsts_sync").setLevel(logging.DEBUG if debug else logging.WARNING)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--require-env", is_flag=True, help="Treat unset ${VARS} without default as errors.")
def validate(paths: tuple[str, ...], require_env: bool) -> None:
    """Check spec files offline and print a summary or one line per problem."""
    specs = load_or_exit(paths, require_env=require_env)
    click.echo(f"OK: {specs.summary()}")
    for name, project in sorted(specs.projects.items()):
        if project.timeseries.auto and project.source:
            click.echo(f"Project {name}: channels: auto waits on the data: plan reads them from the header of the "
                       f"first object under s3://{project.source.bucket}/{project.source.prefix} "
                       f"(see them with: lsts-sync render --resolve)")


@cli.command()
def schema() -> None:
    """Print the JSON Schema of spec documents (for yaml-language-server and editors)."""
    from lsts_sync.spec.schema import spec_schema

    click.echo(json.dumps(spec_schema(), indent=2, sort_keys=True))


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--project", "project_name", required=True, help="Name of the Project spec.")
@click.option("--resolve", is_flag=True, help="Read the data's header for channels: auto (needs S3 access).")
def render(paths: tuple[str, ...], project_name: str, resolve: bool) -> None:
    """Print the labeling template (XML) generated for one project."""
    from lsts_sync.desired.template import template_xml

    specs = load_or_exit(paths, require_env=False)
    project = specs.projects.get(project_name)
    if project is None:
        raise click.exceptions.Exit(_fail(f"no Project spec named {project_name!r} (known: {', '.join(sorted(specs.projects)) or 'none'})"))
    if project.timeseries.auto:
        if not resolve:
            raise LstsError(f"project {project_name} has channels: auto, which waits on the data: pass --resolve "
                            "to read them from its source's first object")
        from lsts_sync.core.stats import RequestStats
        from lsts_sync.data.sources import resolve_channels
        from lsts_sync.live.s3 import S3Buckets

        project = resolve_channels(specs, S3Buckets(specs.buckets, RequestStats()), {project_name}).projects[project_name]
    click.echo(template_xml(project), nl=False)


def _targets(target: tuple[str, ...], specs) -> set[str] | None:
    if not target:
        return None
    unknown = sorted(set(target) - set(specs.projects))
    if unknown:
        raise LstsError(f"--target names no Project spec: {', '.join(unknown)}")
    return set(target)


@dataclasses.dataclass(frozen=True)
class Prepared:
    """A plan and what it was made from (for apply, URLs, stats and ``plan --out``)."""

    plan: object
    facts: object
    conn: object
    desired: object
    saved: object  # the SavedPlan that ``plan --out`` writes


def _gather_options(specs, options: dict):
    from lsts_sync.plan.options import GatherOptions

    targets = _targets(options["target"], specs)
    return GatherOptions(targets=frozenset(targets) if targets is not None else None, prune=options["prune"],
                         sync_all=options["sync_all"], adopt=frozenset(options["adopt"]),
                         skip_data_checks=options["skip_data_checks"])


def _prepare(specs, options: dict, conn) -> Prepared:
    """specs -> (channels resolved from the data) -> desired state -> gathered live facts ->
    build_plan. Every read happens before the plan is built; nothing is read after it."""
    from lsts_sync.data.sources import resolve_channels
    from lsts_sync.desired.build import desired_state
    from lsts_sync.labels.predictions import load_predictions
    from lsts_sync.live.gather import gather
    from lsts_sync.plan.build import build_plan
    from lsts_sync.plan.options import Overrides
    from lsts_sync.plan.saved import SavedPlan, digest, fingerprint

    gathering = _gather_options(specs, options)
    targets = set(gathering.targets) if gathering.targets is not None else None
    overrides = Overrides(allow_label_removal=frozenset(options["allow_label_removal"]),
                          allow_delete=frozenset(options["allow_delete"]), adopt=gathering.adopt,
                          take_over=frozenset(options["take_over"]), force=options["force"],
                          rotate_credentials=options["rotate_credentials"])
    _check_buckets(specs, conn, targets)
    specs = resolve_channels(specs, conn.s3, targets)
    desired = desired_state(specs, targets, load_predictions(specs, conn.s3, targets))
    facts = gather(specs, desired, conn, gathering)
    plan = build_plan(desired, facts, sync_all=gathering.sync_all, prune=gathering.prune, overrides=overrides)
    log.debug("plan built from %d desired and %d live projects", len(desired.projects), len(facts.state.projects))
    saved = SavedPlan(plan, digest(desired), fingerprint(facts, desired), gathering, overrides)
    return Prepared(plan, facts, conn, desired, saved)


def _check_buckets(specs, conn, targets: set[str] | None) -> None:
    """Every bucket the (targeted) projects and their predictions files use must exist: each missing
    one is a line at its Bucket spec, all reported at once, and nothing is read from Label Studio or changed."""
    from lsts_sync.core.problems import Problem

    used = sorted({s.bucket for p in specs.projects.values() if targets is None or p.name in targets
                   for s in (p.source, p.target) if s is not None}
                  | {p.file_bucket for p in specs.predictions.values()
                     if p.file_bucket and (targets is None or p.project in targets)})
    problems = []
    for bucket, why in zip(used, conn.map(conn.s3.missing, used)):
        if why:
            location = specs.locations[("Bucket", bucket)]
            problems.append(Problem(location.file, location.line_of(("name",)), why, "Bucket", bucket, ("name",)))
    if problems:
        _print_problems(problems)
        raise click.exceptions.Exit(_fail(f"{len(problems)} bucket(s) do not exist; nothing was changed"))


def plan_options(func: Callable) -> Callable:
    for option in reversed([
        click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True)),
        click.option("--target", multiple=True, metavar="NAME", help="Only these projects (repeatable)."),
        click.option("--sync", "sync_all", is_flag=True, help="Sync every import storage, not only new/changed."),
        click.option("--prune", is_flag=True, help="Delete managed resources that no spec declares."),
        click.option("--stats", is_flag=True, help="Print the number of HTTP requests made (to stderr)."),
        click.option("--allow-label-removal", multiple=True, metavar="NAME",
                     help="Allow a template change that orphans annotations of project NAME."),
        click.option("--allow-delete", multiple=True, metavar="NAME",
                     help="With --prune: allow deleting project NAME although it has annotations."),
        click.option("--adopt", multiple=True, metavar="NAME",
                     help="Take over the unmanaged project whose title matches project NAME's."),
        click.option("--take-over", multiple=True, metavar="NAME",
                     help="Take over project NAME although another owner manages it."),
        click.option("--force", is_flag=True, help="Allow updating/deleting more than 30% of managed resources."),
        click.option("--rotate-credentials", is_flag=True,
                     help="Re-send AWS credentials to every managed storage using credentials: environment."),
        click.option("--skip-data-checks", is_flag=True, help="Do not read the first CSV of new/changed sources."),
        click.option("--parallelism", type=click.IntRange(min=1), default=DEFAULT_PARALLELISM, show_default=True,
                     metavar="N", help="Independent reads (per project, source, bucket) made at the same time; "
                     "the plan is the same for any N. Writes are always one at a time."),
    ]):
        func = option(func)
    return func


@cli.command("plan")
@plan_options
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.option("--markdown", is_flag=True, help="Print the plan as Markdown (for a pull-request comment).")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0: no changes, 2: changes, 1: error.")
@click.option("--out", "out", type=click.Path(dir_okay=False), metavar="FILE",
              help="Save the plan to FILE for `apply --plan FILE` (which refuses it once the live state moved).")
def plan_command(paths, stats, as_json, markdown, detailed_exitcode, out, parallelism, **options) -> None:
    """Show what apply would change in Label Studio and S3."""
    from lsts_sync.live.connections import Connections
    from lsts_sync.plan.render import render_json, render_markdown, render_other_owners, render_text

    specs = load_or_exit(paths)
    prepared = _prepare(specs, options, Connections.open(specs, parallelism))
    plan = prepared.plan
    render = render_json if as_json else render_markdown if markdown else render_text
    click.echo(render(plan), nl=False)
    if render is render_text:  # stderr: stdout stays exactly the plan
        click.echo(render_other_owners(plan), nl=False, err=True)
    if out:
        from lsts_sync.plan.saved import write

        write(out, prepared.saved)
        click.echo(f"Saved the plan to {out}; apply exactly it with: lsts-sync apply --plan {out} SPECS", err=True)
    _print_stats(stats, prepared.conn)
    if plan.blockers:  # whatever --detailed-exitcode says: CI must fail before the merge, not at apply
        raise click.exceptions.Exit(_fail(f"{len(plan.blockers)} safety check(s) block this plan"))
    if detailed_exitcode and not plan.empty:
        raise click.exceptions.Exit(2)


@cli.command("apply")
@plan_options
@click.option("--auto-approve", is_flag=True, help="Apply without asking (needed when stdin is not a terminal).")
@click.option("--lock-timeout", type=click.FloatRange(min=0), default=0.0, show_default=True, metavar="SECONDS",
              help="Wait this long for another apply's lock before giving up.")
@click.option("--plan", "plan_file", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
              help="Apply exactly the plan saved by `plan --out FILE` (no prompt), if the live state is unchanged.")
def apply_command(paths, stats, auto_approve, lock_timeout, plan_file, parallelism, **options) -> None:
    """Apply the plan: create/update projects, storages and CORS, then sync.

    The apply lock is taken before anything is read, so the plan applied is the one made under it.
    With --plan FILE, the saved plan's own options are used and the live facts it was made from
    are read again: when they moved (or the plan was applied already), nothing is changed.
    """
    from lsts_sync.live.connections import Connections

    specs = load_or_exit(paths)
    if plan_file:
        given = sorted(k for k, v in options.items() if v)
        if given:
            raise LstsError(f"--plan {plan_file} carries the options it was planned with; drop "
                            + ", ".join("--" + k.replace("_", "-") for k in given))
    conn = Connections.open(specs, parallelism)  # no request yet: the lock comes first
    with _apply_lock(specs, lock_timeout, conn.s3) as keepalive:
        if plan_file:
            _apply_saved(specs, plan_file, stats, keepalive, conn)
        else:
            prepared = _prepare(specs, options, conn)
            _apply(prepared, specs, stats, auto_approve, keepalive)


def _apply_saved(specs, path: str, stats: bool, keepalive: Callable[..., None], conn) -> None:
    """Re-gather what the saved plan's fingerprint covers; apply the saved plan only if unchanged."""
    from lsts_sync.data.sources import resolve_channels
    from lsts_sync.desired.build import desired_state
    from lsts_sync.labels.predictions import load_predictions
    from lsts_sync.live.gather import gather
    from lsts_sync.plan.build import build_plan
    from lsts_sync.plan.saved import digest, fingerprint, read

    saved = read(path)
    options = saved.options
    targets = set(options.targets) if options.targets is not None else None
    specs = resolve_channels(specs, conn.s3, targets)
    desired = desired_state(specs, targets, load_predictions(specs, conn.s3, targets))
    if digest(desired) != saved.desired_digest:
        raise LstsError(f"{path}: the specs (or the headers that channels: auto reads, or the predictions files) "
                        "differ from those the plan was made from; run plan again; nothing was changed")
    facts = gather(specs, desired, conn, options)
    if fingerprint(facts, desired) != saved.fingerprint:
        now = build_plan(desired, facts, sync_all=options.sync_all, prune=options.prune, overrides=saved.overrides)
        why = "it has already been applied (the live state matches it now)" if now.empty else \
            "the live state has changed since it was made"
        raise LstsError(f"{path}: saved plan refused: {why}; run plan again; nothing was changed")
    prepared = Prepared(saved.plan, facts, conn, desired, saved)
    _apply(prepared, specs, stats, True, keepalive)


def _locks(specs, s3=None) -> dict:
    """The S3Lock of every instance for this spec set's owner (None where no bucket can hold it),
    on clients of ``s3`` (the run's ``S3Buckets``: one boto3 session, so the S3 model loads once)
    that do not count in ``--stats``."""
    from lsts_sync.live.lock import S3Lock, lock_key

    if s3 is None:
        from lsts_sync.core.stats import RequestStats
        from lsts_sync.live.s3 import S3Buckets

        s3 = S3Buckets(specs.buckets, RequestStats())
    locks = {}
    for instance in sorted(specs.instances):
        bucket = specs.lock_bucket(instance)
        key = lock_key(specs.instances[instance].url, specs.owner)
        locks[instance] = S3Lock(s3.client(bucket, counted=False), bucket, key) if bucket else None
    return locks


@contextlib.contextmanager
def _apply_lock(specs, timeout: float, s3):
    """Hold the apply lock of every instance the specs use (in name order) while the body runs.

    Yields ``keepalive(force=False)``: it renews every lease (always with ``force``, else once a
    quarter of the lease has passed) and raises if a lock was lost, so apply checks that it still
    holds the lock before its first write and between steps.
    """
    import time

    held = []
    renewed = [time.monotonic()]

    def keepalive(force: bool = False) -> None:
        if force or time.monotonic() - renewed[0] > min((lock.lease for lock, _ in held), default=0) / 4:
            held[:] = [(lock, lock.renew(token)) for lock, token in held]
            renewed[0] = time.monotonic()

    locks = _locks(specs, s3)
    try:
        for instance in sorted({p.instance for p in specs.projects.values()} or specs.instances):
            lock = locks[instance]
            if lock is None:
                click.echo(f"Warning: instance {instance}: no Bucket spec to hold the apply lock; "
                           "concurrent applies are not guarded (set lock_bucket)", err=True)
                continue
            held.append((lock, lock.acquire(timeout)))
            log.debug("holding apply lock %s (id %s)", held[-1][1].url, held[-1][1].id)
        yield keepalive
    finally:
        for lock, token in reversed(held):
            lock.release(token)


def _apply(prepared: Prepared, specs, stats: bool, auto_approve: bool, keepalive: Callable[..., None]) -> None:
    from lsts_sync.apply.executor import ApplyFailed, apply_plan
    from lsts_sync.plan.build import Update
    from lsts_sync.plan.render import render_other_owners, render_text
    from lsts_sync.resources.state import ProjectState

    plan, conn = prepared.plan, prepared.conn
    click.echo(render_text(plan), nl=False)
    click.echo(render_other_owners(plan), nl=False, err=True)
    if plan.blockers:
        raise LstsError(f"apply refused: {len(plan.blockers)} safety check(s) block this plan "
                        f"({', '.join(c.override or c.name for c in plan.blockers)}); nothing was changed")
    ids = {k: p.id for k, p in prepared.facts.state.projects.items()}
    if plan.empty:
        _print_urls(specs, ids, prepared.desired.projects)
        _print_stats(stats, conn)
        return
    _confirm(auto_approve)
    keepalive(force=True)  # the prompt may have waited long: still ours before the first write?
    try:
        result = apply_plan(plan, conn, progress=lambda line: click.echo(line, err=True), before_step=keepalive)
    except ApplyFailed as exc:
        click.echo(f"Applied {len(exc.result.done)} step(s): {', '.join(exc.result.done) or 'none'}", err=True)
        click.echo(f"Not applied: {', '.join(exc.remaining)}", err=True)
        click.echo("Run apply again to converge: created resources carry the lsts-sync marker.", err=True)
        _print_stats(stats, conn)
        raise
    for address, status, count in result.synced:
        click.echo(f"Synced {address}: {status}, {count} task(s) imported")
    click.echo(f"Apply complete: {len(result.done) - len(result.synced)} change(s), {len(result.synced)} sync(s).")
    ids.update({c.new.key: c.old.id for c in plan.changes if isinstance(c, Update) and isinstance(c.new, ProjectState)})
    _print_urls(specs, {**ids, **result.project_ids}, prepared.desired.projects)
    _print_stats(stats, conn)


def _print_urls(specs, project_ids: dict[tuple[str, str], int], wanted: dict) -> None:
    """Where each declared project can be opened (stderr: stdout stays the plan)."""
    for (instance, name), pid in sorted(project_ids.items()):
        if (instance, name) in wanted:
            base = specs.instances[instance].public_url or specs.instances[instance].url
            click.echo(f"Project {name}: {base}/projects/{pid}/", err=True)


def _print_stats(stats: bool, conn) -> None:
    if stats:
        click.echo(conn.stats.line(), err=True)


def _confirm(auto_approve: bool) -> None:
    if auto_approve:
        return
    if not sys.stdin.isatty():
        raise LstsError("stdin is not a terminal: pass --auto-approve to apply without confirmation")
    answer = click.prompt("Do you want to perform these actions? Only 'yes' will be accepted", default="",
                          show_default=False)
    if answer != "yes":
        raise LstsError("apply cancelled; nothing was changed")


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
    import time

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
def _progress(label: str):
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


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--lock-id", required=True, help="The id that the 'another apply holds the lock' line names.")
def unlock(paths: tuple[str, ...], lock_id: str) -> None:
    """Break a stale apply lock (its apply died) if it still has LOCK_ID."""
    specs = load_or_exit(paths)
    for lock in _locks(specs).values():
        if lock is not None and lock.force_unlock(lock_id):
            click.echo(f"Unlocked s3://{lock.bucket}/{lock.key}")
            return
    raise LstsError(f"no apply lock with id {lock_id} is held for these specs; nothing was changed")


@cli.command("export")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--name", "names", multiple=True, metavar="NAME", help="Only these Export specs (repeatable).")
def export_command(paths: tuple[str, ...], names: tuple[str, ...]) -> None:
    """Write the label outputs (CSV, or Parquet for a .parquet output) that Export specs define.

    Everything is downloaded and transformed before the first file is written, so an error
    (unknown project, unreachable instance) leaves every output untouched. If writing one fails,
    the outputs written and those not written are listed, one line each, and the exit status is 1.
    """
    from lsts_sync.labels.exports import ExportFailed, run_exports, select_exports, writer_for
    from lsts_sync.live.connections import Connections

    specs = load_or_exit(paths)
    exports = select_exports(specs, names)
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


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one red line and exit 1; --debug adds the traceback."""
    from lsts_sync.core.secrets import redact, register

    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    register(*(os.environ.get(v) for v in SECRET_VARIABLES))
    try:
        code = cli.main(args=argv, prog_name="lsts-sync", standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except LstsError as exc:
        if debug:
            click.echo(redact(traceback.format_exc()), err=True)
        sys.exit(_fail(redact(str(exc))))
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug or an unforeseen failure: still one redacted line
        if debug:
            click.echo(redact(traceback.format_exc()), err=True)
        sys.exit(_fail(redact(f"unexpected {type(exc).__name__}: {exc} (run with --debug for details)")))


