#!/usr/bin/env python3
"""The local stack: a real Label Studio and an S3-compatible server (moto), on loopback.

Used by the Makefile (``python tools/stack.py up|down|status|install``), by ``make demo`` and by the
integration test fixtures. Standard library only, so it runs before anything is installed.

Two flavours of Label Studio (``--flavour`` or ``LSTS_STACK_FLAVOUR``; ``up(..., flavour=)``):

- ``dev`` (the default): ``label-studio start``, Django's single-process development server on SQLite.
- ``prod``: Label Studio the way its Docker image runs it: a multi-process WSGI server (gunicorn from
  PyPI, installed into the stack's venv for this flavour only) over ``label_studio.core.wsgi``, on a
  private PostgreSQL cluster (Debian's ``postgresql-15`` binaries) under the stack's own directory.

Both servers live in their own virtual environment (``.stack/venv``) so their pinned dependencies
never dictate lsts-sync's. Label Studio runs with ``SSRF_PROTECTION_ENABLED=false`` because it must
reach the S3 server on 127.0.0.1; that setting is for this local stack only.

State of a running stack is kept in ``<dir>/state.json`` (flavour, ports, PIDs, URLs); ``down`` stops
only the processes listed there, after checking that each PID still runs our command line.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STACK = Path(os.environ.get("LSTS_STACK_DIR", ROOT / ".stack"))
VENV = STACK / "venv"
LABEL_STUDIO = os.environ.get("LSTS_LABEL_STUDIO_REQ", "label-studio==1.23.2")
MOTO = os.environ.get("LSTS_MOTO_REQ", "moto[server]>=5,<6")
GUNICORN = os.environ.get("LSTS_GUNICORN_REQ", "gunicorn>=23,<27")
DEFAULT_TOKEN = "0123456789abcdef0123456789abcdef01234567"
FLAVOURS = ("dev", "prod")
# Debian's PostgreSQL 15 (bookworm); LSTS_PG_BIN points elsewhere, e.g. another major version.
PG_BIN = Path(os.environ.get("LSTS_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_PACKAGE = "postgresql-15"
PG_USER = "postgres"  # the OS user PostgreSQL runs as when we are root (it refuses to run as root)
# Where a cluster lives when ``postgres`` cannot enter the stack's own directory (a checkout under
# /root or a mktemp -d folder, mode 0700): root-owned 0755 folders, one per stack (see ``pg_dir``).
PG_ROOT = Path(os.environ.get("LSTS_PG_ROOT", "/var/lib/lsts-sync-stacks"))
DB_USER = "lsts"
DB_PASSWORD = "lsts-sync-local"  # a local, loopback-only cluster, like the admin password below
DB_NAME = "postgres"
# Label Studio's Docker image runs uwsgi with 4 processes (deploy/uwsgi.ini, UWSGI_PROCESSES); the
# same here with gunicorn, one thread each, unless LSTS_PROD_WORKERS / LSTS_PROD_THREADS say otherwise.
PROD_WORKERS = int(os.environ.get("LSTS_PROD_WORKERS", "4"))
PROD_THREADS = int(os.environ.get("LSTS_PROD_THREADS", "1"))
# A first start migrates an empty PostgreSQL database: about 3 minutes on 2 busy cores; allow more.
MIGRATE_TIMEOUT = 600.0


@dataclass
class StackState:
    """What a started stack is: where to reach it and which processes belong to it."""

    name: str
    ls_port: int
    s3_port: int
    token: str = DEFAULT_TOKEN
    username: str = "admin@example.com"
    password: str = "lsts-sync-local"
    pids: dict[str, int] = field(default_factory=dict)
    flavour: str = "dev"
    db_port: int = 0

    @property
    def home(self) -> Path:
        return STACK / self.name

    @property
    def ls_url(self) -> str:
        return f"http://127.0.0.1:{self.ls_port}"

    @property
    def s3_url(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def env(self) -> dict[str, str]:
        """Variables that point lsts-sync and boto3 at this stack (moto accepts any keys)."""
        return {
            "LABEL_STUDIO_URL": self.ls_url, "LABEL_STUDIO_API_KEY": self.token, "S3_ENDPOINT_URL": self.s3_url,
            "AWS_ACCESS_KEY_ID": "testing-key-id", "AWS_SECRET_ACCESS_KEY": "testing-secret-key",
            "AWS_DEFAULT_REGION": "us-east-1",
        }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_busy(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def install(quiet: bool = True, flavour: str = "dev") -> None:
    """Create ``.stack/venv`` with Label Studio and moto unless both are already there.

    The ``prod`` flavour also needs gunicorn in that venv and PostgreSQL's binaries (see ``install_prod``).
    """
    python = VENV / "bin" / "python"
    if not (python.exists() and (VENV / "bin" / "label-studio").exists() and (VENV / "bin" / "moto_server").exists()):
        print(f"Installing {LABEL_STUDIO} and {MOTO} into {VENV} (a few minutes the first time)...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        cmd = [str(python), "-m", "pip", "install", *(["-q"] if quiet else []), LABEL_STUDIO, MOTO]
        subprocess.run(cmd, check=True)
    if flavour == "prod":
        install_prod(quiet)


def install_prod(quiet: bool = True) -> None:
    """gunicorn into the stack's venv (pip) and Debian's PostgreSQL (apt-get, as root), if missing.

    Without root, a missing PostgreSQL stops with the command to run, as ``make browser-install`` does
    for Chromium: this tool never escalates privileges itself.
    """
    if not (VENV / "bin" / "gunicorn").exists():
        print(f"Installing {GUNICORN} into {VENV} (prod flavour)...", flush=True)
        subprocess.run([str(VENV / "bin" / "python"), "-m", "pip", "install", *(["-q"] if quiet else []), GUNICORN],
                       check=True)
    if (PG_BIN / "initdb").exists():
        return
    if os.geteuid() != 0:
        raise SystemExit(f"PostgreSQL is missing ({PG_BIN / 'initdb'}): run 'sudo apt-get install {PG_PACKAGE}' "
                         f"(Debian) or set LSTS_PG_BIN to its bin directory")
    print(f"Installing {PG_PACKAGE} with apt-get (prod flavour)...", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", PG_PACKAGE], check=True,
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def _get(url: str, token: str | None = None, timeout: float = 2.0) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Token {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return 0


def _wait(what: str, url: str, timeout: float, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _get(url) == 200:
            return
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with code {proc.returncode} before it was ready; see {log}")
        time.sleep(0.5)
    raise SystemExit(f"{what} was not ready at {url} after {timeout:.0f}s; see {log}")


def _spawn(cmd: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env={**os.environ, **env}, start_new_session=True, cwd=STACK)


def _run(what: str, cmd: list[str], log: Path, env: dict[str, str] | None = None, timeout: float = 120.0) -> None:
    """Run one set-up step to completion, its output appended to ``log``; a failure stops ``up``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        try:
            result = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env={**os.environ, **(env or {})}, cwd=STACK, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise SystemExit(f"{what} did not finish in {timeout:.0f}s; see {log}") from None
    if result.returncode != 0:
        raise SystemExit(f"{what} failed with code {result.returncode}; see {log}")


def _state_file(name: str) -> Path:
    return STACK / name / "state.json"


def _save(state: StackState) -> None:
    """Record the state at once, so that ``down`` can stop whatever already started if ``up`` fails."""
    _state_file(state.name).write_text(json.dumps(asdict(state), indent=2))


def load_state(name: str) -> StackState | None:
    """The state of stack ``name`` if it is running and answers, else None."""
    path = _state_file(name)
    if not path.exists():
        return None
    state = StackState(**json.loads(path.read_text()))
    if _get(state.ls_url + "/health") == 200 and _get(state.s3_url) == 200:
        return state
    return None


def resolve_flavour(flavour: str | None = None) -> str:
    """The flavour asked for: the argument, else ``LSTS_STACK_FLAVOUR``, else ``dev``; unknown ones stop."""
    chosen = flavour or os.environ.get("LSTS_STACK_FLAVOUR") or "dev"
    if chosen not in FLAVOURS:
        raise SystemExit(f"unknown stack flavour {chosen!r}: use one of {', '.join(FLAVOURS)}")
    return chosen


def up(name: str = "default", ls_port: int | None = None, s3_port: int | None = None,
       timeout: float = 240.0, flavour: str | None = None) -> StackState:
    """Start (or reuse) stack ``name``; returns its state once both servers answer.

    A running stack of another flavour is an error rather than a silent reuse: a measurement on the
    wrong server would look valid. Leftovers of a stack that no longer answers are stopped first.
    """
    flavour = resolve_flavour(flavour)
    running = load_state(name)
    if running:
        if running.flavour != flavour:
            raise SystemExit(f"stack {name} runs the {running.flavour} flavour, not {flavour}: "
                             f"stop it first (python3 tools/stack.py down --name {name})")
        return running
    down(name)
    install(flavour=flavour)
    state = StackState(name=name, ls_port=ls_port or free_port(), s3_port=s3_port or free_port(),
                       token=os.environ.get("LSTS_STACK_TOKEN", DEFAULT_TOKEN), flavour=flavour,
                       db_port=free_port() if flavour == "prod" else 0)
    for port in (state.ls_port, state.s3_port, state.db_port):
        if port and port_busy(port):
            raise SystemExit(f"port {port} on 127.0.0.1 is busy: stop what uses it or set LS_PORT/S3_PORT")
    logs = state.home / "logs"
    moto = _spawn([str(VENV / "bin" / "moto_server"), "-H", "127.0.0.1", "-p", str(state.s3_port)],
                  logs / "s3.log", {})
    state.pids["s3"] = moto.pid
    _save(state)
    try:
        ls = _start_prod(state, logs, timeout) if flavour == "prod" else _start_dev(state, logs)
        _wait("S3 server", state.s3_url, 60, moto, logs / "s3.log")
        _wait("Label Studio", state.ls_url + "/health", timeout, ls, logs / "label-studio.log")
        if _get(state.ls_url + "/api/projects/?page_size=1", state.token, timeout=30) != 200:
            raise SystemExit(f"Label Studio at {state.ls_url} refuses the stack's token; "
                             f"remove {state.home} to start afresh")
    except BaseException:
        down(name)
        raise
    return state


def _ls_env(state: StackState) -> dict[str, str]:
    """Environment both flavours give Label Studio (its settings read these, see core/settings/base.py)."""
    return {"SSRF_PROTECTION_ENABLED": "false", "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
            "LABEL_STUDIO_HOST": state.ls_url}


def _start_dev(state: StackState, logs: Path) -> subprocess.Popen:
    """``label-studio start``: Django's development server on SQLite; it migrates and creates the user."""
    ls = _spawn([str(VENV / "bin" / "label-studio"), "start", "--no-browser", "--data-dir", str(state.home / "ls-data"),
                 "--internal-host", "127.0.0.1", "-p", str(state.ls_port), "--username", state.username,
                 "--password", state.password, "--user-token", state.token, "--enable-legacy-api-token"],
                logs / "label-studio.log", {**_ls_env(state), "DJANGO_DB": "sqlite"})
    state.pids["label-studio"] = ls.pid
    _save(state)
    return ls


def prod_ls_env(state: StackState) -> dict[str, str]:
    """Label Studio's environment in the prod flavour: PostgreSQL through its POSTGRE_* settings.

    ``DJANGO_DB=default`` selects the PostgreSQL entry of DATABASES_ALL. The settings module and
    ``sys.path`` are those ``label-studio start`` uses (server.py's ``_setup_env``). ``APP_WEBSERVER=uwsgi``
    is what the Docker image's uwsgi.ini sets: Label Studio reads it as "production server" and skips
    the PyPI version check it otherwise makes when each worker imports it. ``LOG_LEVEL=WARNING`` is
    what ``label-studio start`` exports from its ``--log-level`` default (without it the root logger
    of its settings logs at DEBUG).
    """
    return {**_ls_env(state), "DJANGO_DB": "default", "POSTGRE_HOST": "127.0.0.1", "POSTGRE_PORT": str(state.db_port),
            "POSTGRE_USER": DB_USER, "POSTGRE_PASSWORD": DB_PASSWORD, "POSTGRE_NAME": DB_NAME,
            "LABEL_STUDIO_BASE_DATA_DIR": str(state.home / "ls-data"),
            "DJANGO_SETTINGS_MODULE": "label_studio.core.settings.label_studio", "APP_WEBSERVER": "uwsgi",
            "LOG_LEVEL": "WARNING"}


def _label_studio_path() -> Path:
    """The installed ``label_studio`` package: its modules import each other as ``core``, ``projects``..."""
    found = sorted(VENV.glob("lib/python3*/site-packages/label_studio"))
    if not found:
        raise SystemExit(f"label_studio is not installed in {VENV}: python3 tools/stack.py install")
    return found[-1]


def gunicorn_command(state: StackState) -> list[str]:
    """gunicorn over ``label_studio.core.wsgi`` as the Docker image runs uwsgi over ``core.wsgi``.

    Timeouts follow deploy/uwsgi.ini (``http-timeout = 300``): an S3 sync runs inside its request on a
    server without background workers. The access log goes to the stack's label-studio.log.
    """
    return [str(VENV / "bin" / "gunicorn"), "label_studio.core.wsgi:application",
            "--pythonpath", str(_label_studio_path()), "--bind", f"127.0.0.1:{state.ls_port}",
            "--workers", str(PROD_WORKERS), "--threads", str(PROD_THREADS), "--timeout", "300",
            "--graceful-timeout", "10", "--access-logfile", "-", "--name", f"lsts-stack-{state.name}"]


def _start_prod(state: StackState, logs: Path, timeout: float) -> subprocess.Popen:
    """PostgreSQL, then migrations and the admin user, then gunicorn; each PID recorded as it starts."""
    _start_postgres(state, logs)
    env = prod_ls_env(state)
    # ``label-studio init`` migrates and creates the user, organisation and legacy token exactly as
    # ``label-studio start --username --password --user-token --enable-legacy-api-token`` does (both
    # call server.py's _create_user); on a later start it only finds them there.
    _run("Label Studio's migrations and user", [
        str(VENV / "bin" / "label-studio"), "init", "--quiet", "--no-browser", "--data-dir", str(state.home / "ls-data"),
        "--username", state.username, "--password", state.password, "--user-token", state.token,
        "--enable-legacy-api-token"], logs / "label-studio.log", env, max(timeout, MIGRATE_TIMEOUT))
    ls = _spawn(gunicorn_command(state), logs / "label-studio.log", env)
    state.pids["label-studio"] = ls.pid
    _save(state)
    return ls


def pg_command(tool: str, *args: str) -> list[str]:
    """A PostgreSQL program's command line; as root, run as the ``postgres`` user (it refuses root)."""
    command = [str(PG_BIN / tool), *args]
    return ["runuser", "-u", PG_USER, "--", *command] if os.geteuid() == 0 else command


def _give_to_postgres(path: Path) -> None:
    """As root, hand ``path`` to the ``postgres`` user, who runs the cluster."""
    if os.geteuid() == 0:
        shutil.chown(path, user=PG_USER)


def outside_home(name: str) -> Path:
    """The cluster's folder outside the checkout for stack ``name``: under ``PG_ROOT``, named by
    the stack and a digest of its own directory (two checkouts' stacks of one name never share)."""
    return PG_ROOT / f"{name}-{hashlib.sha256(str(STACK / name).encode()).hexdigest()[:12]}"


def postgres_can_enter(path: Path) -> bool:
    """True if the user PostgreSQL runs as can reach ``path`` (always, when that user is us)."""
    if os.geteuid() != 0:
        return True
    return subprocess.run(["runuser", "-u", PG_USER, "--", "test", "-x", str(path)],
                          stdin=subprocess.DEVNULL, capture_output=True).returncode == 0


def pg_dir(state: StackState) -> Path:
    """Where the stack's cluster (``pg-data``), its password file and its log live: the stack's own
    directory, unless the ``postgres`` user cannot enter it (then ``outside_home``, made root-owned
    0755, which it can). A cluster already made in one place stays there."""
    outside = outside_home(state.name)
    if (outside / "pg-data").exists():
        return outside
    if (state.home / "pg-data").exists() or postgres_can_enter(state.home):
        return state.home
    for folder in (PG_ROOT, outside):
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o755)
    return outside


def pg_log(state: StackState) -> Path:
    """PostgreSQL's log: in the stack's logs, or beside a cluster kept outside (``pg_dir``)."""
    folder = pg_dir(state)
    return state.home / "logs" / "postgres.log" if folder == state.home else folder / "postgres.log"


def _init_cluster(state: StackState, logs: Path) -> Path:
    """A private cluster in ``pg_dir``'s ``pg-data`` (once): loopback TCP only, password (scram) auth."""
    data = pg_dir(state) / "pg-data"
    if (data / "PG_VERSION").exists():
        return data
    data.mkdir(parents=True, mode=0o700, exist_ok=True)
    _give_to_postgres(data)
    password_file = data.parent / "pg-password"
    password_file.write_text(DB_PASSWORD + "\n")
    password_file.chmod(0o600)
    _give_to_postgres(password_file)
    try:
        _run("PostgreSQL's initdb", pg_command("initdb", "-D", str(data), "-U", DB_USER, "--pwfile", str(password_file),
                                                 "--auth=scram-sha-256", "-E", "UTF8", "--no-locale"),
             logs / "postgres.log")
    finally:
        password_file.unlink()
    with open(data / "postgresql.conf", "a") as conf:
        conf.write("\n# lsts-sync's local stack: loopback TCP only, no unix socket\n"
                   "listen_addresses = '127.0.0.1'\nunix_socket_directories = ''\n")
    return data


def _start_postgres(state: StackState, logs: Path) -> None:
    """Start the stack's cluster on ``state.db_port`` and record the postmaster's PID."""
    logs.mkdir(parents=True, exist_ok=True)
    log = pg_log(state)
    log.touch()
    _give_to_postgres(log)
    data = _init_cluster(state, log.parent)
    _run("PostgreSQL", pg_command("pg_ctl", "start", "-D", str(data), "-l", str(log), "-w", "-t", "60",
                                  "-o", f"-p {state.db_port}"), log)
    state.pids["postgres"] = int((data / "postmaster.pid").read_text().split()[0])
    _save(state)


def _owned(pid: int, name: str) -> bool:
    """True if ``pid`` still runs a command line of stack ``name`` (guards against PID reuse)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    return str(VENV) in cmdline or f"{STACK / name}/" in cmdline or f"{outside_home(name)}/" in cmdline


def down(name: str = "default") -> list[str]:
    """Stop the processes stack ``name`` started (and their process groups), last started first.

    PostgreSQL is stopped with ``pg_ctl stop -m fast`` (a clean shutdown); signals are the fallback.
    Returns what stopped.
    """
    path = _state_file(name)
    if not path.exists():
        return []
    state = StackState(**json.loads(path.read_text()))
    stopped = []
    for what, pid in reversed(state.pids.items()):
        if not _owned(pid, name):
            continue
        if what == "postgres":
            _stop_postgres(state)
        if _owned(pid, name):
            _terminate(pid, name)
        stopped.append(what)
    path.unlink()
    return stopped


def _stop_postgres(state: StackState) -> None:
    """``pg_ctl stop -m fast``: rolls back open sessions and shuts down cleanly; failures are left to signals."""
    log = pg_log(state)
    try:
        _run("pg_ctl stop", pg_command("pg_ctl", "stop", "-D", str(pg_dir(state) / "pg-data"), "-m", "fast", "-w",
                                       "-t", "30"), log, timeout=40)
    except SystemExit as exc:
        print(f"{exc}; stopping it with signals", file=sys.stderr)


def _terminate(pid: int, name: str) -> None:
    """SIGTERM the process group of ``pid``, SIGKILL it if it still runs 5 s later."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(50):
        if not _owned(pid, name):
            return
        time.sleep(0.1)
    os.killpg(pid, signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["install", "up", "down", "status", "env"])
    parser.add_argument("--name", default=os.environ.get("LSTS_STACK_NAME", "default"))
    parser.add_argument("--flavour", choices=FLAVOURS, default=None,
                        help="for install/up: dev (default) or prod; also LSTS_STACK_FLAVOUR. "
                             "down/status/env read it from the running stack")
    args = parser.parse_args()
    if args.command == "install":
        install(quiet=False, flavour=resolve_flavour(args.flavour))
    elif args.command == "up":
        state = up(args.name, int(os.environ.get("LS_PORT", 8080)), int(os.environ.get("S3_PORT", 5000)),
                   flavour=args.flavour)
        print(f"Label Studio: {state.ls_url}  (login {state.username} / {state.password}; {state.flavour} flavour)")
        print(f"S3 server:    {state.s3_url}")
        if state.flavour == "prod":
            print(f"PostgreSQL:   127.0.0.1:{state.db_port}  (data in {pg_dir(state) / 'pg-data'})")
        print(f"Logs:         {state.home / 'logs'}")
    elif args.command == "down":
        stopped = down(args.name)
        print(f"stopped: {', '.join(stopped)}" if stopped else "nothing to stop")
    elif args.command == "status":
        state = load_state(args.name)
        print(f"running ({state.flavour} flavour): Label Studio {state.ls_url}, S3 {state.s3_url}"
              if state else "not running")
        sys.exit(0 if state else 3)
    elif args.command == "env":
        state = load_state(args.name)
        if not state:
            raise SystemExit("the stack is not running: make stack-up")
        for key, value in state.env().items():
            print(f"export {key}={value}")


if __name__ == "__main__":
    main()
