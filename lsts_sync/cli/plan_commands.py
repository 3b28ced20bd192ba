"""``plan``, ``apply`` and ``unlock``: parse the options into ``PlanOptions``, call the one
orchestrator (``lsts_sync.pipeline.orchestrator.Pipeline``), print what it returns."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from lsts_sync.cli.app import cli, fail, load_or_exit, print_stats
from lsts_sync.core.errors import LstsError

if TYPE_CHECKING:  # imported inside the commands: they load boto3 and httpx
    from lsts_sync.pipeline.orchestrator import PlanOptions, Prepared
    from lsts_sync.plan.build import Plan
    from lsts_sync.spec.loader import SpecSet

# Reads made at once by plan/apply (--parallelism); measured in `make bench` (docs/performance.md).
DEFAULT_PARALLELISM = 4
# The flags that make PlanOptions; `apply --plan FILE` refuses them (the saved plan carries its own).
PLAN_FLAGS = ("projects", "targets", "sync_all", "prune", "allow_label_removal", "allow_delete",
              "allow_time_format_change", "allow_draft_loss", "adopt", "take_over", "force", "rotate_credentials",
              "skip_data_checks", "reimport_changed", "allow_window_rewrite")


def plan_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The options plan and apply share (what is read, what is allowed, how reads run)."""
    for option in reversed([
        click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True)),
        click.option("--project", "projects", multiple=True, metavar="NAME", help="Only these projects (repeatable)."),
        click.option("--target", "targets", multiple=True, metavar="NAME", hidden=True,
                     help="The former name of --project (kept as an alias)."),
        click.option("--sync", "sync_all", is_flag=True, help="Sync every import storage, not only new/changed."),
        click.option("--prune", is_flag=True, help="Delete managed resources that no spec declares."),
        click.option("--stats", is_flag=True, help="Print the number of HTTP requests made (to stderr)."),
        click.option("--allow-label-removal", multiple=True, metavar="NAME",
                     help="Allow a template change that orphans annotations of project NAME."),
        click.option("--allow-time-format-change", multiple=True, metavar="NAME",
                     help="Allow a time-format change of project NAME that moves regions its new format cannot "
                     "write exactly."),
        click.option("--allow-draft-loss", multiple=True, metavar="NAME",
                     help="Allow a rewrite of project NAME's annotations although Label Studio then deletes the "
                     "drafts that edit them."),
        click.option("--allow-delete", multiple=True, metavar="NAME",
                     help="With --prune: allow deleting project NAME although it has annotations."),
        click.option("--allow-window-rewrite", multiple=True, metavar="NAME",
                     help="Allow rewriting or deleting window files of project NAME that carry annotations "
                     "(their source object changed)."),
        click.option("--adopt", multiple=True, metavar="NAME",
                     help="Take over the unmanaged project whose title matches project NAME's, with its "
                     "matching storages and webhooks."),
        click.option("--take-over", multiple=True, metavar="NAME",
                     help="Take over project NAME although another owner manages it."),
        click.option("--force", is_flag=True, help="Allow updating/deleting more than 30% of managed resources."),
        click.option("--rotate-credentials", is_flag=True,
                     help="Re-send AWS credentials to every managed storage using credentials: environment, "
                          "and header values to every managed webhook with headers."),
        click.option("--skip-data-checks", is_flag=True, help="Do not read the first CSV of new/changed sources."),
        click.option("--reimport-changed", multiple=True, metavar="NAME",
                     help="Delete and import again the tasks of project NAME whose objects changed after their "
                     "import, when a task holds no annotation, draft or prediction."),
        click.option("--parallelism", type=click.IntRange(min=1), default=DEFAULT_PARALLELISM, show_default=True,
                     metavar="N", help="Independent reads (per project, source, bucket) made at the same time; "
                     "the plan is the same for any N. Writes are always one at a time."),
    ]):
        func = option(func)
    return func


def parse_plan_options(specs: SpecSet, flags: dict[str, Any]) -> PlanOptions:
    """The typed options of the plan flags (``--target`` joins ``--project``)."""
    from lsts_sync.pipeline.orchestrator import PlanOptions, select_projects
    from lsts_sync.plan.options import GatherOptions, Overrides

    projects = select_projects(specs, (*flags["projects"], *flags["targets"]))
    gathering = GatherOptions(projects=projects, prune=flags["prune"], sync_all=flags["sync_all"],
                              adopt=frozenset(flags["adopt"]), skip_data_checks=flags["skip_data_checks"],
                              reimport_changed=frozenset(flags["reimport_changed"]))
    overrides = Overrides(allow_label_removal=frozenset(flags["allow_label_removal"]),
                          allow_delete=frozenset(flags["allow_delete"]),
                          allow_time_format_change=frozenset(flags["allow_time_format_change"]),
                          allow_draft_loss=frozenset(flags["allow_draft_loss"]), adopt=gathering.adopt,
                          take_over=frozenset(flags["take_over"]), force=flags["force"],
                          rotate_credentials=flags["rotate_credentials"],
                          allow_window_rewrite=frozenset(flags["allow_window_rewrite"]))
    return PlanOptions(gathering, overrides)


@cli.command("plan")
@plan_options
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.option("--markdown", is_flag=True, help="Print the plan as Markdown (for a pull-request comment).")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0: no changes, 2: changes, 1: error.")
@click.option("--out", "out", type=click.Path(dir_okay=False), metavar="FILE",
              help="Save the plan to FILE for `apply --plan FILE` (which refuses it once the live state moved).")
def plan_command(paths: tuple[str, ...], stats: bool, as_json: bool, markdown: bool, detailed_exitcode: bool,
                 out: str | None, parallelism: int, **flags: Any) -> None:
    """Show what apply would change in Label Studio and S3."""
    from lsts_sync.live.connections import Connections
    from lsts_sync.pipeline.orchestrator import Pipeline
    from lsts_sync.plan.render import render_json, render_markdown, render_other_owners, render_text

    specs = load_or_exit(paths)
    options = parse_plan_options(specs, flags)
    conn = Connections.open(specs, parallelism)
    prepared = Pipeline(specs, conn).plan(options)
    plan = prepared.plan
    render = render_json if as_json else render_markdown if markdown else render_text
    click.echo(render(plan), nl=False)
    if render is render_text:  # stderr: stdout stays exactly the plan
        click.echo(render_other_owners(plan), nl=False, err=True)
    if out:
        from lsts_sync.plan.saved import save

        save(out, prepared.saved)
        click.echo(f"Saved the plan to {out}; apply exactly it with: lsts-sync apply --plan {out} SPECS", err=True)
    print_stats(stats, conn.stats.line())
    if plan.blockers:  # whatever --detailed-exitcode says: CI must fail before the merge, not at apply
        raise click.exceptions.Exit(fail(f"{len(plan.blockers)} safety check(s) block this plan"))
    if detailed_exitcode and not plan.empty:
        raise click.exceptions.Exit(2)


class TerminalUI:
    """What apply shows and asks, on the terminal: the plan on stdout, the rest on stderr."""

    def __init__(self, auto_approve: bool) -> None:
        self.auto_approve = auto_approve

    def show(self, plan: Plan) -> None:
        from lsts_sync.plan.render import render_other_owners, render_text

        click.echo(render_text(plan), nl=False)
        click.echo(render_other_owners(plan), nl=False, err=True)

    def confirm(self, plan: Plan) -> None:
        if self.auto_approve:
            return
        if not sys.stdin.isatty():
            raise LstsError("stdin is not a terminal: pass --auto-approve to apply without confirmation")
        answer = click.prompt("Do you want to perform these actions? Only 'yes' will be accepted", default="",
                              show_default=False)
        if answer != "yes":
            raise LstsError("apply cancelled; nothing was changed")

    def progress(self, line: str) -> None:
        click.echo(line, err=True)

    def warn(self, line: str) -> None:
        click.echo(line, err=True)


@cli.command("apply")
@plan_options
@click.option("--auto-approve", is_flag=True, help="Apply without asking (needed when stdin is not a terminal).")
@click.option("--lock-timeout", type=click.FloatRange(min=0), default=0.0, show_default=True, metavar="SECONDS",
              help="Wait this long for another apply's lock before giving up.")
@click.option("--plan", "plan_file", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
              help="Apply exactly the plan saved by `plan --out FILE` (no prompt), if the live state is unchanged.")
@click.option("--backup-dir", type=click.Path(file_okay=False), default=".lsts-sync/backups", show_default=True,
              metavar="DIR", help="Where a rewrite of labeled results (a label rename, a time-format change) "
              "saves what it changes, before it changes anything.")
def apply_command(paths: tuple[str, ...], stats: bool, auto_approve: bool, lock_timeout: float,
                  plan_file: str | None, parallelism: int, backup_dir: str, **flags: Any) -> None:
    """Apply the plan: create/update projects, storages and CORS, then sync.

    The apply lock is taken before anything is read, so the plan applied is the one made under it.
    With --plan FILE, the saved plan's own options are used and the live facts it was made from
    are read again: when they moved (or the plan was applied already), nothing is changed.
    """
    from lsts_sync.apply.executor import ApplyFailed
    from lsts_sync.live.connections import Connections
    from lsts_sync.pipeline.orchestrator import Pipeline

    specs = load_or_exit(paths)
    if plan_file:
        given = sorted(k for k in PLAN_FLAGS if flags[k])
        if given:
            raise LstsError(f"--plan {plan_file} carries the options it was planned with; drop "
                            + ", ".join("--" + k.rstrip("s").replace("_", "-") if k in ("projects", "targets")
                                        else "--" + k.replace("_", "-") for k in given))
    conn = Connections.open(specs, parallelism)  # no request yet: the lock comes first
    pipeline = Pipeline(specs, conn)
    make: Callable[[], Prepared]
    if plan_file:
        make = functools.partial(pipeline.replay, plan_file)
    else:
        make = functools.partial(pipeline.plan, parse_plan_options(specs, flags))
    try:
        outcome = pipeline.apply(make, TerminalUI(auto_approve or bool(plan_file)), lock_timeout=lock_timeout,
                                 backup_dir=Path(backup_dir))
    except ApplyFailed as exc:
        click.echo(f"Applied {len(exc.result.done)} step(s): {', '.join(exc.result.done) or 'none'}", err=True)
        click.echo(f"Not applied: {', '.join(exc.remaining)}", err=True)
        click.echo("Run apply again to converge: created resources carry the lsts-sync marker.", err=True)
        print_stats(stats, conn.stats.line())
        raise
    if outcome.result is not None:
        result = outcome.result
        for address, status, count in result.synced:
            click.echo(f"Synced {address}: {status}, {count} task(s) imported")
        click.echo(f"Apply complete: {len(result.done) - len(result.synced)} change(s), {len(result.synced)} sync(s).")
    for name, url in outcome.urls:
        click.echo(f"Project {name}: {url}", err=True)
    print_stats(stats, conn.stats.line())


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--lock-id", required=True, help="The id that the 'another apply holds the lock' line names.")
def unlock(paths: tuple[str, ...], lock_id: str) -> None:
    """Break a stale apply lock (its apply died) if it still has LOCK_ID."""
    from lsts_sync.live.lock import instance_locks

    specs = load_or_exit(paths)
    for lock in instance_locks(specs).values():
        if lock is not None and lock.force_unlock(lock_id):
            click.echo(f"Unlocked s3://{lock.bucket}/{lock.key}")
            return
    raise LstsError(f"no apply lock with id {lock_id} is held for these specs; nothing was changed")
