"""``import``: print spec documents for projects that already exist (made by hand or by a notebook)."""

from __future__ import annotations

import click

from lsts_sync.cli.app import cli, load_or_exit, print_stats


@cli.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--project-id", "project_ids", type=int, multiple=True, required=True, metavar="ID",
              help="The id of a live project to import (repeatable).")
@click.option("--instance", metavar="NAME", help="The Instance spec the projects live on (default: the only one).")
@click.option("--stats", is_flag=True, help="Print the number of HTTP requests made.")
def import_command(paths: tuple[str, ...], project_ids: tuple[int, ...], instance: str | None, stats: bool) -> None:
    """Print YAML spec documents for existing projects, to save into the specs and adopt with
    `plan --adopt NAME`. What the specs cannot say is named on stderr, one line each."""
    import yaml

    from lsts_sync.live.connections import Connections
    from lsts_sync.pipeline.orchestrator import Pipeline

    specs = load_or_exit(paths)
    conn = Connections.open(specs)
    imported = Pipeline(specs, conn).import_projects(project_ids, instance)
    click.echo(yaml.safe_dump_all(imported.documents, sort_keys=False, allow_unicode=True, width=120), nl=False)
    for note in imported.notes:
        click.echo(f"Not imported as it is: {note}", err=True)
    if imported.variables:
        click.echo(f"Webhook header values are not printed: set {', '.join(imported.variables)} in the environment "
                   "to the values before validate, plan and apply", err=True)
    projects = sum(d["kind"] == "Project" for d in imported.documents)
    click.echo(f"Imported {projects} of {len(set(project_ids))} project(s); adopt each with: lsts-sync plan SPECS "
               "--adopt NAME", err=True)
    print_stats(stats, conn.stats.line())
