"""tools/stack.py without servers: flavour choice, what each flavour gives Label Studio, how it stops."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import stack_tool


@pytest.fixture
def stack_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stack directory of our own, with a fake Label Studio install in its venv."""
    monkeypatch.setattr(stack_tool, "STACK", tmp_path)
    monkeypatch.setattr(stack_tool, "VENV", tmp_path / "venv")
    monkeypatch.setattr(stack_tool, "PG_ROOT", tmp_path / "pg-root")
    monkeypatch.setattr(stack_tool, "postgres_can_enter", lambda path: True)
    (tmp_path / "venv" / "lib" / "python3.11" / "site-packages" / "label_studio").mkdir(parents=True)
    return tmp_path


def prod_state(**changes) -> stack_tool.StackState:
    return stack_tool.StackState(**{"name": "p", "ls_port": 8131, "s3_port": 5131, "flavour": "prod", "db_port": 5433,
                                    **changes})


def test_flavour_argument_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LSTS_STACK_FLAVOUR", "prod")
    assert stack_tool.resolve_flavour("dev") == "dev"
    assert stack_tool.resolve_flavour(None) == "prod"


def test_flavour_defaults_to_dev(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LSTS_STACK_FLAVOUR", raising=False)
    assert stack_tool.resolve_flavour(None) == "dev"


def test_unknown_flavour_stops_with_the_known_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LSTS_STACK_FLAVOUR", "staging")
    with pytest.raises(SystemExit, match="unknown stack flavour 'staging': use one of dev, prod"):
        stack_tool.resolve_flavour(None)


def test_a_state_file_written_before_flavours_reads_as_dev(stack_dir: Path) -> None:
    home = stack_dir / "old"
    home.mkdir()
    (home / "state.json").write_text(json.dumps({"name": "old", "ls_port": 1, "s3_port": 2, "pids": {}}))
    state = stack_tool.StackState(**json.loads((home / "state.json").read_text()))
    assert (state.flavour, state.db_port) == ("dev", 0)


def test_up_refuses_a_running_stack_of_the_other_flavour(monkeypatch: pytest.MonkeyPatch) -> None:
    running = stack_tool.StackState(name="x", ls_port=1, s3_port=2)
    monkeypatch.setattr(stack_tool, "load_state", lambda name: running)
    with pytest.raises(SystemExit, match="stack x runs the dev flavour, not prod"):
        stack_tool.up("x", flavour="prod")
    assert stack_tool.up("x", flavour="dev") is running


def test_prod_label_studio_uses_the_stacks_postgres() -> None:
    env = stack_tool.prod_ls_env(prod_state())
    assert env["DJANGO_DB"] == "default"  # the PostgreSQL entry of Label Studio's DATABASES_ALL
    assert (env["POSTGRE_HOST"], env["POSTGRE_PORT"]) == ("127.0.0.1", "5433")
    assert (env["POSTGRE_USER"], env["POSTGRE_PASSWORD"]) == (stack_tool.DB_USER, stack_tool.DB_PASSWORD)
    assert env["DJANGO_SETTINGS_MODULE"] == "label_studio.core.settings.label_studio"


def test_prod_label_studio_gets_what_the_dev_server_gets() -> None:
    env = stack_tool.prod_ls_env(prod_state())
    assert env["SSRF_PROTECTION_ENABLED"] == "false"
    assert env["LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN"] == "true"
    assert env["LABEL_STUDIO_HOST"] == "http://127.0.0.1:8131"
    assert env["LABEL_STUDIO_BASE_DATA_DIR"].endswith("/p/ls-data")
    assert env["LOG_LEVEL"] == "WARNING"  # label-studio start's --log-level default


def test_gunicorn_serves_label_studios_wsgi_app_with_several_workers(stack_dir: Path) -> None:
    command = stack_tool.gunicorn_command(prod_state())
    assert command[1] == "label_studio.core.wsgi:application"
    assert command[command.index("--bind") + 1] == "127.0.0.1:8131"
    assert command[command.index("--pythonpath") + 1].endswith("site-packages/label_studio")
    assert int(command[command.index("--workers") + 1]) == stack_tool.PROD_WORKERS > 1


def test_gunicorn_needs_label_studio_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stack_tool, "VENV", tmp_path / "empty-venv")
    with pytest.raises(SystemExit, match="label_studio is not installed"):
        stack_tool.gunicorn_command(prod_state())


def test_postgres_runs_as_the_postgres_user_when_we_are_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stack_tool.os, "geteuid", lambda: 0)
    assert stack_tool.pg_command("initdb", "-D", "d")[:4] == ["runuser", "-u", "postgres", "--"]
    monkeypatch.setattr(stack_tool.os, "geteuid", lambda: 1000)
    assert stack_tool.pg_command("initdb", "-D", "d") == [str(stack_tool.PG_BIN / "initdb"), "-D", "d"]


def test_down_stops_the_web_server_before_postgres_and_postgres_with_pg_ctl(
        stack_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = prod_state(pids={"s3": 11, "postgres": 12, "label-studio": 13})
    state.home.mkdir()
    (state.home / "state.json").write_text(json.dumps(stack_tool.asdict(state)))
    alive, events = {11, 12, 13}, []

    def run(what: str, cmd: list[str], log: Path, env=None, timeout: float = 0) -> None:
        events.append(" ".join(cmd[cmd.index(str(stack_tool.PG_BIN / "pg_ctl")):][:4]))
        alive.discard(12)

    def terminate(pid: int, name: str) -> None:
        events.append(f"terminate {pid}")
        alive.discard(pid)

    monkeypatch.setattr(stack_tool, "_owned", lambda pid, name: pid in alive)
    monkeypatch.setattr(stack_tool, "_run", run)
    monkeypatch.setattr(stack_tool, "_terminate", terminate)
    assert stack_tool.down("p") == ["label-studio", "postgres", "s3"]
    assert events == ["terminate 13", f"{stack_tool.PG_BIN / 'pg_ctl'} stop -D {state.home / 'pg-data'}",
                      "terminate 11"]
    assert not (state.home / "state.json").exists()


def test_down_signals_postgres_when_pg_ctl_fails(stack_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = prod_state(pids={"postgres": 12})
    state.home.mkdir()
    (state.home / "state.json").write_text(json.dumps(stack_tool.asdict(state)))
    terminated = []

    def failing_run(*args, **kwargs) -> None:
        raise SystemExit("pg_ctl stop failed with code 1")

    monkeypatch.setattr(stack_tool, "_owned", lambda pid, name: pid not in terminated)
    monkeypatch.setattr(stack_tool, "_run", failing_run)
    monkeypatch.setattr(stack_tool, "_terminate", lambda pid, name: terminated.append(pid))
    assert stack_tool.down("p") == ["postgres"]
    assert terminated == [12]


def test_a_process_of_a_stack_whose_name_extends_ours_is_not_ours(stack_dir: Path, monkeypatch) -> None:
    cmdlines = {1: f"postgres\0-D\0{stack_dir / 'prod-pg'}/pg-data\0", 2: f"postgres\0-D\0{stack_dir / 'prod'}/pg-data\0"}
    monkeypatch.setattr(stack_tool.Path, "read_bytes",
                        lambda self: cmdlines[int(self.parent.name)].encode())
    assert not stack_tool._owned(1, "prod")
    assert stack_tool._owned(2, "prod")


def test_a_cluster_goes_outside_a_folder_postgres_cannot_enter(stack_dir: Path, monkeypatch, tmp_path_factory) -> None:
    outside = tmp_path_factory.mktemp("pg-root")
    monkeypatch.setattr(stack_tool, "PG_ROOT", outside / "stacks")
    state = prod_state()
    state.home.mkdir()
    monkeypatch.setattr(stack_tool, "postgres_can_enter", lambda path: False)
    chosen = stack_tool.pg_dir(state)
    assert chosen == stack_tool.outside_home("p") and chosen.parent == outside / "stacks"
    assert [(p.stat().st_mode & 0o777) for p in (chosen.parent, chosen)] == [0o755, 0o755]
    assert stack_tool.pg_log(state) == chosen / "postgres.log"
    monkeypatch.setattr(stack_tool, "postgres_can_enter", lambda path: True)
    assert stack_tool.pg_dir(prod_state(name="q")) == stack_dir / "q"  # the dev-like case: nothing moves
    assert stack_tool.pg_log(prod_state(name="q")) == stack_dir / "q" / "logs" / "postgres.log"


def test_a_cluster_kept_outside_is_still_ours_to_stop(stack_dir: Path, monkeypatch) -> None:
    cmdline = f"postgres\0-D\0{stack_tool.outside_home('p')}/pg-data\0"
    monkeypatch.setattr(stack_tool.Path, "read_bytes", lambda self: cmdline.encode())
    assert stack_tool._owned(1, "p") and not stack_tool._owned(1, "p2")


@pytest.mark.integration
def test_postgres_starts_and_stops_from_a_checkout_under_a_private_folder(monkeypatch, tmp_path_factory) -> None:
    """As root with PostgreSQL installed: a stack directory inside a 0700 folder (like /root or mktemp -d)."""
    import os
    import tempfile

    if os.geteuid() != 0 or not (stack_tool.PG_BIN / "initdb").exists():
        pytest.skip("needs root and PostgreSQL's binaries")
    private = Path(tempfile.mkdtemp(prefix="lsts-private-"))  # mode 0700: postgres cannot enter
    public = Path(tempfile.mkdtemp(prefix="lsts-pg-root-"))
    public.chmod(0o755)
    monkeypatch.setattr(stack_tool, "STACK", private / "checkout" / ".stack")
    monkeypatch.setattr(stack_tool, "PG_ROOT", public / "stacks")
    state = prod_state(db_port=stack_tool.free_port())
    state.home.mkdir(parents=True)
    assert not stack_tool.postgres_can_enter(state.home)
    stack_tool._start_postgres(state, state.home / "logs")
    try:
        assert stack_tool._owned(state.pids["postgres"], "p")
        assert (stack_tool.outside_home("p") / "pg-data" / "PG_VERSION").exists()
        assert not (stack_tool.outside_home("p") / "pg-password").exists()
    finally:
        stack_tool._stop_postgres(state)
    import shutil

    shutil.rmtree(private)
    shutil.rmtree(public)
