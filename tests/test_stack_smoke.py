"""End to end through the real servers, without lsts-sync's reconciler: the pieces talk."""

from __future__ import annotations

import time

import pytest

from lsts_sync.desired.template import template_xml
from lsts_sync.spec.loader import load_specs

from .conftest import ROOT, upload_csvs

pytestmark = pytest.mark.integration


def test_s3_import_storage_syncs_one_task_per_csv(stack, s3, ls, bucket, uid) -> None:
    keys = upload_csvs(s3, bucket, "pump/")
    s3.put_object(Bucket=bucket, Key="pump/README.txt", Body=b"not a time series")
    specs, _ = load_specs([str(ROOT / "specs")], env={"LABEL_STUDIO_API_KEY": stack.token})
    project = ls.projects.create(title=f"smoke {uid}", label_config=template_xml(specs.projects["pump-7"]))
    storage = ls.import_storage.s3.create(
        project=project.id, bucket=bucket, prefix="pump/", regex_filter=r"pump/.*\.csv$", use_blob_urls=True,
        presign=True, presign_ttl=5, region_name="us-east-1", s3endpoint=stack.s3_url,
        aws_access_key_id="testing-key-id", aws_secret_access_key="testing-secret-key")
    ls.import_storage.s3.sync(id=storage.id)
    deadline = time.monotonic() + 60
    while ls.import_storage.s3.get(id=storage.id).status not in ("completed", "failed"):
        assert time.monotonic() < deadline, "sync did not finish in 60 s"
        time.sleep(0.5)
    tasks = list(ls.tasks.list(project=project.id))
    assert sorted(t.storage_filename for t in tasks) == sorted(keys)
    assert all(list(t.data) == ["csv"] for t in tasks)


def test_the_stack_serves_label_studio_with_its_flavours_server(stack) -> None:
    """dev: Django's development server; prod: gunicorn, with the stack's PostgreSQL accepting connections."""
    import socket

    import httpx

    server = httpx.get(stack.ls_url + "/health", timeout=10).headers.get("server", "")
    if stack.flavour == "prod":
        assert server == "gunicorn"
        with socket.create_connection(("127.0.0.1", stack.db_port), timeout=5):
            pass
    else:
        assert server.startswith("WSGIServer/")
