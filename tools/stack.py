#!/usr/bin/env python3
"""The local stack: a real Label Studio (SQLite) and an S3-compatible server (moto), on loopback.

Used by the Makefile (``python tools/stack.py up|down|status|install``), by ``make demo`` and by the
integration test fixtures. Standard library only, so it runs before anything is installed.

Both servers live in their own virtual environment (``.stack/venv``) so their pinned dependencies
never dictate lsts-sync's. Label Studio runs with ``SSRF_PROTECTION_ENABLED=false`` because it must
reach the S3 server on 127.0.0.1; that setting is for this local stack only.

State of a running stack is kept in ``<dir>/state.json`` (ports, PIDs, URLs); ``down`` stops only
the processes listed there, after checking that each PID still runs our command line.
"""

from __future__ import annotations

import argparse
import json
import os
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
DEFAULT_TOKEN = "0123456789abcdef0123456789abcdef01234567"


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


def install(quiet: bool = True) -> None:
    """Create ``.stack/venv`` with Label Studio and moto unless both are already importable there."""
    python = VENV / "bin" / "python"
    if python.exists() and (VENV / "bin" / "label-studio").exists() and (VENV / "bin" / "moto_server").exists():
        return
    print(f"Installing {LABEL_STUDIO} and {MOTO} into {VENV} (a few minutes the first time)...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    cmd = [str(python), "-m", "pip", "install", *(["-q"] if quiet else []), LABEL_STUDIO, MOTO]
    subprocess.run(cmd, check=True)


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


def _state_file(name: str) -> Path:
    return STACK / name / "state.json"


def load_state(name: str) -> StackState | None:
    """The state of stack ``name`` if it is running and answers, else None."""
    path = _state_file(name)
    if not path.exists():
        return None
    state = StackState(**json.loads(path.read_text()))
    if _get(state.ls_url + "/health") == 200 and _get(state.s3_url) == 200:
        return state
    return None


def up(name: str = "default", ls_port: int | None = None, s3_port: int | None = None,
       timeout: float = 240.0) -> StackState:
    """Start (or reuse) stack ``name``; returns its state once both servers answer."""
    running = load_state(name)
    if running:
        return running
    install()
    state = StackState(name=name, ls_port=ls_port or free_port(), s3_port=s3_port or free_port(),
                       token=os.environ.get("LSTS_STACK_TOKEN", DEFAULT_TOKEN))
    for port in (state.ls_port, state.s3_port):
        if port_busy(port):
            raise SystemExit(f"port {port} on 127.0.0.1 is busy: stop what uses it or set LS_PORT/S3_PORT")
    logs = state.home / "logs"
    moto = _spawn([str(VENV / "bin" / "moto_server"), "-H", "127.0.0.1", "-p", str(state.s3_port)],
                  logs / "s3.log", {})
    state.pids["s3"] = moto.pid
    ls = _spawn([str(VENV / "bin" / "label-studio"), "start", "--no-browser", "--data-dir", str(state.home / "ls-data"),
                 "--internal-host", "127.0.0.1", "-p", str(state.ls_port), "--username", state.username,
                 "--password", state.password, "--user-token", state.token, "--enable-legacy-api-token"],
                logs / "label-studio.log",
                {"SSRF_PROTECTION_ENABLED": "false", "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
                 "LABEL_STUDIO_HOST": state.ls_url, "DJANGO_DB": "sqlite"})
    state.pids["label-studio"] = ls.pid
    _state_file(name).write_text(json.dumps(asdict(state), indent=2))
    try:
        _wait("S3 server", state.s3_url, 60, moto, logs / "s3.log")
        _wait("Label Studio", state.ls_url + "/health", timeout, ls, logs / "label-studio.log")
        if _get(state.ls_url + "/api/projects/?page_size=1", state.token, timeout=30) != 200:
            raise SystemExit(f"Label Studio at {state.ls_url} refuses the stack's token; "
                             f"remove {state.home / 'ls-data'} to start afresh")
    except BaseException:
        down(name)
        raise
    return state


def _owned(pid: int, name: str) -> bool:
    """True if ``pid`` still runs a command line of stack ``name`` (guards against PID reuse)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    return str(VENV) in cmdline or str(STACK / name) in cmdline


def down(name: str = "default") -> list[str]:
    """Stop the processes stack ``name`` started (and their process groups). Returns what stopped."""
    path = _state_file(name)
    if not path.exists():
        return []
    state = StackState(**json.loads(path.read_text()))
    stopped = []
    for what, pid in state.pids.items():
        if _owned(pid, name):
            try:
                os.killpg(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            for _ in range(50):
                if not _owned(pid, name):
                    break
                time.sleep(0.1)
            else:
                os.killpg(pid, signal.SIGKILL)
            stopped.append(what)
    path.unlink()
    return stopped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["install", "up", "down", "status", "env"])
    parser.add_argument("--name", default=os.environ.get("LSTS_STACK_NAME", "default"))
    args = parser.parse_args()
    if args.command == "install":
        install(quiet=False)
    elif args.command == "up":
        state = up(args.name, int(os.environ.get("LS_PORT", 8080)), int(os.environ.get("S3_PORT", 5000)))
        print(f"Label Studio: {state.ls_url}  (login {state.username} / {state.password})")
        print(f"S3 server:    {state.s3_url}")
        print(f"Logs:         {state.home / 'logs'}")
    elif args.command == "down":
        stopped = down(args.name)
        print(f"stopped: {', '.join(stopped)}" if stopped else "nothing to stop")
    elif args.command == "status":
        state = load_state(args.name)
        print(f"running: Label Studio {state.ls_url}, S3 {state.s3_url}" if state else "not running")
        sys.exit(0 if state else 3)
    elif args.command == "env":
        state = load_state(args.name)
        if not state:
            raise SystemExit("the stack is not running: make stack-up")
        for key, value in state.env().items():
            print(f"export {key}={value}")


if __name__ == "__main__":
    main()
