"""Commands that read specs and, at most, the data's header: ``validate``, ``schema``, ``render``."""

from __future__ import annotations

import json

import click

from lsts_sync.cli.app import cli, fail, load_or_exit
from lsts_sync.core.errors import LstsError


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
        known = ", ".join(sorted(specs.projects)) or "none"
        raise click.exceptions.Exit(fail(f"no Project spec named {project_name!r} (known: {known})"))
    if project.timeseries.auto:
        if not resolve:
            raise LstsError(f"project {project_name} has channels: auto, which waits on the data: pass --resolve "
                            "to read them from its source's first object")
        from lsts_sync.core.stats import RequestStats
        from lsts_sync.data.sources import resolve_channels
        from lsts_sync.live.s3 import S3Buckets

        resolved = resolve_channels(specs, S3Buckets(specs.buckets, RequestStats()), {project_name})
        project = resolved.projects[project_name]
    click.echo(template_xml(project), nl=False)
