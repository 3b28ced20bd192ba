"""Entry point of the ``lsts-sync`` command: every command registered, errors as one red line."""

from __future__ import annotations

import os
import sys
import traceback

import click

from lsts_sync.cli import data_commands, import_commands, plan_commands, spec_commands  # noqa: F401  (they register the commands)
from lsts_sync.cli.app import SECRET_VARIABLES, cli, fail, print_problems
from lsts_sync.core.errors import LstsError


def main(argv: list[str] | None = None) -> None:
    """Run the command line: user errors become one red line and exit 1; --debug adds the traceback."""
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
        problems = list(getattr(exc, "problems", ()))  # problems in the specs: their lines say it all
        if debug and not problems:
            click.echo(redact(traceback.format_exc()), err=True)
        print_problems(problems)
        sys.exit(fail(redact(str(exc))))
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug or an unforeseen failure: still one redacted line
        if debug:
            click.echo(redact(traceback.format_exc()), err=True)
        sys.exit(fail(redact(f"unexpected {type(exc).__name__}: {exc} (run with --debug for details)")))
