"""The ``lsts-sync`` command line. Only this module and ``render`` write to the terminal.

Heavy libraries (pandas, boto3, label_studio_sdk) are imported inside the commands that need them,
so ``--help`` and ``validate`` start fast.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from collections.abc import Callable

import click

from .problems import LstsError, Problem

log = logging.getLogger("lsts_sync")


class Context:
    def __init__(self, debug: bool):
        self.debug = debug


def _print_problems(problems: list[Problem]) -> bool:
    """Print problems to stderr (errors first per file order); return True if any is an error."""
    for problem in problems:
        click.echo(str(problem), err=True)
    return any(p.severity == "error" for p in problems)


def load_or_exit(paths: tuple[str, ...], *, require_env: bool = True):
    """Load specs; print every problem; exit 1 if any is an error."""
    from .loader import load_specs

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
    ctx.obj = Context(debug)
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--require-env", is_flag=True, help="Treat unset ${VARS} without default as errors.")
def validate(paths: tuple[str, ...], require_env: bool) -> None:
    """Check spec files offline and print a summary or one line per problem."""
    specs = load_or_exit(paths, require_env=require_env)
    click.echo(f"OK: {specs.summary()}")


@cli.command()
def schema() -> None:
    """Print the JSON Schema of spec documents (for yaml-language-server and editors)."""
    from .schema import spec_schema

    click.echo(json.dumps(spec_schema(), indent=2, sort_keys=True))


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--project", "project_name", required=True, help="Name of the Project spec.")
def render(paths: tuple[str, ...], project_name: str) -> None:
    """Print the labeling template (XML) generated for one project."""
    from .template import render_template

    specs = load_or_exit(paths, require_env=False)
    project = specs.projects.get(project_name)
    if project is None:
        raise click.exceptions.Exit(_fail(f"no Project spec named {project_name!r} (known: {', '.join(sorted(specs.projects)) or 'none'})"))
    click.echo(render_template(project), nl=False)


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one red line and exit 1; --debug adds the traceback."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
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
            traceback.print_exc()
        sys.exit(_fail(str(exc)))
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)


