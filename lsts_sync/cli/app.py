"""The ``lsts-sync`` command group and what every command shares: loading specs, one red error line,
request statistics. Only the ``cli`` package and the renderers write to the terminal.

Heavy libraries (pandas, boto3, httpx, label_studio_sdk) are imported inside the commands that
need them, so ``--help`` and ``validate`` start fast.
"""

from __future__ import annotations

import logging

import click

from lsts_sync.core.problems import Problem
from lsts_sync.spec.loader import SpecSet

# Variables whose values are masked in every output even before a client reads them.
SECRET_VARIABLES = ("LABEL_STUDIO_API_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def print_problems(problems: list[Problem]) -> bool:
    """Print problems to stderr, one line each; return True if any is an error."""
    from lsts_sync.core.secrets import redact

    for problem in problems:
        click.echo(redact(str(problem)), err=True)
    return any(p.severity == "error" for p in problems)


def fail(message: str) -> int:
    """Print ``Error: message`` in red on stderr; the exit status to use."""
    click.secho(f"Error: {message}", err=True, fg="red")
    return 1


def load_or_exit(paths: tuple[str, ...], *, require_env: bool = True) -> SpecSet:
    """Load specs; print every problem; exit 1 if any is an error."""
    from lsts_sync.spec.loader import load_specs

    specs, problems = load_specs(paths, require_env=require_env)
    if print_problems(problems):
        errors = sum(p.severity == "error" for p in problems)
        raise click.exceptions.Exit(fail(f"{errors} error(s) in specs; nothing was changed"))
    return specs


def print_stats(wanted: bool, line: str) -> None:
    """The ``--stats`` line (HTTP requests made), on stderr."""
    if wanted:
        click.echo(line, err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.version_option(package_name="lsts-sync")
def cli(debug: bool) -> None:
    """Declarative Label Studio time-series labeling on S3: validate, plan, apply, export."""
    from lsts_sync.core.secrets import RedactingFilter

    # Only our own logger goes to DEBUG: botocore/httpx debug logs print request headers.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingFilter())
    logging.getLogger("lsts_sync").setLevel(logging.DEBUG if debug else logging.WARNING)
