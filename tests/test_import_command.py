"""The import command in-process on a scripted Label Studio answering with recorded JSON: settings
and webhooks printed as spec documents that load, and no webhook header value on stdout or stderr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lsts_sync.live.connections import Connections
from lsts_sync.live.label_studio import LabelStudioInstance
from lsts_sync.spec.loader import load_specs

from .fakes import DATA, FakeS3
from .test_cli_commands import run
from .test_imported import SECRETS
from .test_ls_http import Server, client, ok

INSTANCE = "kind: Instance\nname: local\nurl: http://ls.example\ntoken: ${LABEL_STUDIO_API_KEY}\n"


def recorded(name: str) -> object:
    return json.loads((DATA / "ls" / name).read_text())


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Server:
    """The notebook project with its settings, no storage, two webhooks and a prediction of its model version."""
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "f" * 40)
    answers = Server(ok({"count": 1, "next": None, "previous": None,
                         "results": [recorded("notebook_project_settings.json")]}),
                     ok([]), ok([]), ok(recorded("notebook_webhooks.json")),
                     ok([{"id": 1, "task": 1, "model_version": "pump-model-3", "result": []}]))

    def opened(cls: type[Connections], specs: object, parallelism: int = 1) -> Connections:
        ls = LabelStudioInstance(specs.instances["local"], None, http=client(answers)[0])  # type: ignore[attr-defined,arg-type]
        return cls({"local": ls}, FakeS3())

    monkeypatch.setattr(Connections, "open", classmethod(opened))
    return answers


def test_import_prints_settings_and_webhooks_that_load_and_no_header_value(server, capsys, tmp_path: Path,
                                                                            monkeypatch) -> None:
    (tmp_path / "instance.yaml").write_text(INSTANCE)
    code, out, err = run(capsys, "import", str(tmp_path / "instance.yaml"), "--project-id", "4")
    assert code == 0, err
    assert "Authorization: ${LSTS_WEBHOOK_PUMP_7_WEBHOOK_7_AUTHORIZATION}" in out and "sampling: uniform" in out
    assert "predictions_model_version: pump-model-3" in out
    assert not [s for s in SECRETS if s in out or s in err]
    (line,) = [line for line in err.splitlines() if line.startswith("Webhook header values are not printed")]
    assert "LSTS_WEBHOOK_PUMP_7_WEBHOOK_7_AUTHORIZATION, LSTS_WEBHOOK_PUMP_7_WEBHOOK_7_X_TEAM" in line
    assert [r.url.path for r in server.requests][3:] == ["/api/webhooks/", "/api/predictions/"]
    (tmp_path / "imported.yaml").write_text(out)
    monkeypatch.setenv("LSTS_WEBHOOK_PUMP_7_WEBHOOK_7_AUTHORIZATION", "a")
    monkeypatch.setenv("LSTS_WEBHOOK_PUMP_7_WEBHOOK_7_X_TEAM", "b")
    specs, problems = load_specs([str(tmp_path)])
    assert problems == [] and set(specs.webhooks) and specs.projects["pump-7"].settings.sampling == "uniform"


def test_the_imported_project_saved_as_printed_is_adopted_with_no_setting_change(server, capsys, tmp_path: Path,
                                                                                   monkeypatch) -> None:
    from lsts_sync.desired.build import desired_state
    from lsts_sync.live.ls_mapping import project_from_json
    from lsts_sync.plan.build import Update, build_plan
    from lsts_sync.plan.options import Overrides
    from lsts_sync.resources.facts import LiveFacts
    from lsts_sync.resources.state import LiveState

    (tmp_path / "instance.yaml").write_text(INSTANCE)
    out = run(capsys, "import", str(tmp_path / "instance.yaml"), "--project-id", "4")[1]
    (tmp_path / "imported.yaml").write_text(out)
    monkeypatch.setenv("LSTS_WEBHOOK_PUMP_7_WEBHOOK_7_AUTHORIZATION", "a")
    monkeypatch.setenv("LSTS_WEBHOOK_PUMP_7_WEBHOOK_7_X_TEAM", "b")
    specs, _ = load_specs([str(tmp_path)])
    _, live = project_from_json("local", recorded("notebook_project_settings.json"))
    plan = build_plan(desired_state(specs), LiveFacts(LiveState(unmanaged={("local", live.title): live})),
                      overrides=Overrides(adopt=frozenset({"pump-7"})))
    (adoption,) = [c for c in plan.changes if isinstance(c, Update) and c.new.kind == "project"]
    assert adoption.adopts == 4 and [d.field for d in adoption.diffs] == ["owner"]
