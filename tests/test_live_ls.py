"""Label Studio operations over a scripted server: the snapshot export API, usage read on any server."""

from __future__ import annotations

import json

import httpx
import pytest

from lsts_sync.core.errors import LstsError
from lsts_sync.live.label_studio import LabelStudioInstance
from lsts_sync.resources.state import ProjectState
from lsts_sync.spec.models import InstanceSpec

from .test_ls_http import LEGACY, Server, client, fail, ok

TASKS = [{"id": 1, "data": {"csv": "s3://b/k.csv"}, "annotations": [{"id": 5, "result": [
    {"from_name": "label", "type": "timeserieslabels", "value": {"start": 1, "end": 2, "timeserieslabels": ["Anomaly"]}}]}]}]


def instance(server: Server) -> LabelStudioInstance:
    spec = InstanceSpec(kind="Instance", name="local", url="http://ls.example", token=LEGACY)
    return LabelStudioInstance(spec, None, http=client(server)[0])  # type: ignore[arg-type]


def download(tasks: list) -> httpx.Response:
    return httpx.Response(200, content=json.dumps(tasks).encode())


def test_export_creates_a_snapshot_waits_downloads_and_deletes_it() -> None:
    server = Server(ok({"id": 9, "status": "created"}), ok({"id": 9, "status": "in_progress"}),
                    ok({"id": 9, "status": "completed"}), download(TASKS), httpx.Response(204))
    assert list(instance(server).export_tasks(3, "pump-7")) == TASKS
    assert [(r.method, r.url.path) for r in server.requests] == [
        ("POST", "/api/projects/3/exports/"), ("GET", "/api/projects/3/exports/9"),
        ("GET", "/api/projects/3/exports/9"), ("GET", "/api/projects/3/exports/9/download"),
        ("DELETE", "/api/projects/3/exports/9")]
    body = json.loads(server.requests[0].content)
    assert body["task_filter_options"] == {"only_with_annotations": True}
    assert body["annotation_filter_options"] == {"usual": True, "ground_truth": True, "skipped": True}
    assert body["serialization_options"]["drafts"] == {"only_id": False}
    assert server.requests[3].url.params["exportType"] == "JSON"


def test_a_snapshot_of_all_tasks_asks_for_the_tasks_without_annotations_too() -> None:
    server = Server(ok({"id": 9, "status": "completed"}), ok({"id": 9, "status": "completed"}), download(TASKS),
                    httpx.Response(204))
    assert list(instance(server).export_tasks(3, "pump-7", all_tasks=True)) == TASKS
    assert json.loads(server.requests[0].content)["task_filter_options"] == {"only_with_annotations": False}


def test_a_failed_snapshot_is_an_error_and_is_deleted_all_the_same() -> None:
    server = Server(ok({"id": 9, "status": "created"}), ok({"id": 9, "status": "failed"}), httpx.Response(204))
    with pytest.raises(LstsError, match="the snapshot is failed"):
        instance(server).export_tasks(3, "pump-7")
    assert server.methods()[-1] == "DELETE"


PREDICTIONS = [{"id": 8, "task": 1, "model_version": "m1", "result": [
    {"from_name": "label", "type": "timeserieslabels", "value": {"start": 1, "end": 2, "timeserieslabels": ["Leak"]}}]}]


def test_usage_is_read_through_a_snapshot_where_the_plain_export_is_gone() -> None:
    server = Server(fail(404, "Not found"), ok({"id": 4, "status": "completed"}),
                    ok({"id": 4, "status": "completed"}), download(TASKS), httpx.Response(204), ok(PREDICTIONS))
    usage = instance(server).read_usage(ProjectState("local", "pump-7", "T", "", "<View/>", id=3))
    assert usage.labels == ((("label", "Anomaly"), 1),)
    assert json.loads(server.requests[1].content)["task_filter_options"] == {"only_with_annotations": False}


def test_usage_on_a_server_with_the_plain_export_is_one_read_and_the_prediction_list() -> None:
    """The plain export lists predictions by id only: their results come from the prediction list."""
    server = Server(download(TASKS), ok(PREDICTIONS))
    usage = instance(server).read_usage(ProjectState("local", "pump-7", "T", "", "<View/>", id=3))
    assert [(r.method, r.url.path, r.url.params.get("download_all_tasks")) for r in server.requests] == [
        ("GET", "/api/projects/3/export", "true"), ("GET", "/api/predictions/", None)]
    assert [(r.kind, r.id, r.task) for r in usage.records] == [("annotation", 5, 1), ("prediction", 8, 1)]
    assert usage.predicted == ((("label", "Leak"), 1),)


def test_other_usage_errors_are_not_papered_over_by_a_snapshot() -> None:
    server = Server(fail(400, "bad"))
    with pytest.raises(LstsError, match="HTTP 400"):
        instance(server).read_usage(ProjectState("local", "pump-7", "T", "", "<View/>", id=3))
    assert len(server.requests) == 1


# -- predictions ----------------------------------------------------------------------------------

def test_predictions_are_created_in_bulk_requests_of_at_most_500() -> None:
    from lsts_sync.live.label_studio import PREDICTIONS_PER_REQUEST

    sizes = []

    def created(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":  # the read-back after the last batch
            return ok([])
        sizes.append(len(json.loads(request.content)))
        return ok({"created": sizes[-1]}, 201)

    server = Server(default=created)
    batch = [(task, '[{"id":"r"}]', 0.5) for task in range(1, 1201)]
    assert instance(server).create_predictions(3, "pump-7", "m1", batch) == 1200
    assert sizes == [PREDICTIONS_PER_REQUEST, PREDICTIONS_PER_REQUEST, 200] == [500, 500, 200]
    assert [(r.method, r.url.path) for r in server.requests] == [("POST", "/api/projects/3/import/predictions")] * 3 \
        + [("GET", "/api/predictions/")]
    first = json.loads(server.requests[0].content)[0]
    assert first == {"task": 1, "result": [{"id": "r"}], "score": 0.5, "model_version": "m1"}


def test_a_bulk_create_whose_answer_was_lost_is_not_sent_again_when_it_went_through() -> None:
    from .test_ls_http import read_timeout

    listed = [{"id": 8, "task": 1, "model_version": "m1", "result": [{"id": "r"}], "score": 0.5}]
    server = Server(read_timeout, ok(listed), ok(listed))
    assert instance(server).create_predictions(3, "pump-7", "m1", [(1, '[{"id":"r"}]', 0.5)]) == 1
    assert [(r.method, r.url.path) for r in server.requests] == [
        ("POST", "/api/projects/3/import/predictions"), ("GET", "/api/predictions/"), ("GET", "/api/predictions/")]


def test_a_bulk_create_that_did_not_go_through_is_sent_again() -> None:
    from .test_ls_http import read_timeout

    server = Server(read_timeout, ok([]), ok([]), ok({"created": 1}, 201), default=ok([]))
    ls = instance(server)
    ls.http.settle = 1.0  # one look, one pause, one look
    assert ls.create_predictions(3, "pump-7", "m1", [(1, "[]", None)]) == 1
    assert server.methods()[:4] == ["POST", "GET", "GET", "POST"]


def test_a_bulk_create_answer_of_another_count_is_an_error() -> None:
    server = Server(ok({"created": 0}, 201))
    with pytest.raises(LstsError, match="unexpected answer"):
        instance(server).create_predictions(3, "pump-7", "m1", [(1, "[]", None)])


def test_predictions_are_listed_by_project_and_deleted_by_id() -> None:
    listed = [{"id": 8, "task": 1, "model_version": "m1", "result": [], "score": None}]
    server = Server(ok(listed), httpx.Response(204))
    found = instance(server).read_predictions(ProjectState("local", "pump-7", "T", "", "<View/>", id=3))
    assert [(p.id, p.task, p.model_version) for p in found] == [(8, 1, "m1")]
    assert server.requests[0].url.params["project"] == "3"
    instance(server).delete_prediction(8, "pump-7")
    assert (server.requests[1].method, server.requests[1].url.path) == ("DELETE", "/api/predictions/8/")

@pytest.mark.parametrize("payload, message", [
    (b'{"detail": "Not found."}', "is not a JSON list of tasks: expected a JSON array, found '{' at character 0"),
    (b'[{"id": 1}, 2]', "is not a list of tasks \\(an element is not an object\\)"),
    (b'[{"id": 1}, {"id"', "is not a JSON list of tasks: invalid JSON"),
])
def test_an_export_that_is_not_a_list_of_tasks_fails_closed(payload: bytes, message: str) -> None:
    server = Server(ok({"id": 9, "status": "completed"}), ok({"id": 9, "status": "completed"}),
                    httpx.Response(200, content=payload), httpx.Response(204))
    with pytest.raises(LstsError, match=f"^instance local: the export of project pump-7 {message}"):
        list(instance(server).export_tasks(3, "pump-7"))
    assert server.methods()[-1] == "DELETE"


def test_usage_through_a_snapshot_that_is_not_a_list_fails_closed() -> None:
    server = Server(fail(404, "Not found"), ok({"id": 4, "status": "completed"}), ok({"id": 4, "status": "completed"}),
                    httpx.Response(200, content=b'{"tasks": []}'), httpx.Response(204))
    with pytest.raises(LstsError, match="is not a JSON list of tasks"):
        instance(server).read_usage(ProjectState("local", "pump-7", "T", "", "<View/>", id=3))


# -- creates the server made more than once (its locked-database retry runs a whole request again) --

PUMP = ProjectState("local", "pump-7", "Pump 7", "", "<View/>")


def listed(pid: int, owner: str = "default", name: str = "pump-7") -> dict:
    from lsts_sync.resources.markers import with_marker

    return {"id": pid, "title": "Pump 7", "description": with_marker("", owner, name), "label_config": "<View/>"}


def test_a_create_the_server_made_once_is_read_back_once() -> None:
    server = Server(ok({"id": 43}, 201), ok([listed(43), listed(50, owner="team-b")]))
    assert instance(server).create_project(PUMP) == 43
    assert server.methods() == ["POST", "GET"]
    assert server.requests[1].url.params["title"] == "Pump 7"  # a narrow read, not the whole list


def test_a_project_the_server_saved_twice_keeps_the_lowest_id_and_deletes_the_empty_extra(
        caplog: pytest.LogCaptureFixture) -> None:
    server = Server(ok({"id": 44}, 201), ok([listed(43), listed(44)]), ok({"id": 44, "task_number": 0}),
                    ok([]), ok([]), httpx.Response(204))
    assert instance(server).create_project(PUMP) == 43
    assert (server.requests[-1].method, server.requests[-1].url.path) == ("DELETE", "/api/projects/44/")
    (line,) = [r.getMessage() for r in caplog.records]
    assert line == "instance local: create project pump-7: the server saved it 2 times (ids 43, 44); kept 43, deleted 44"


def test_an_extra_project_with_tasks_is_left_and_said() -> None:
    server = Server(ok({"id": 43}, 201), ok([listed(43), listed(44)]), ok({"id": 44, "task_number": 3}))
    assert instance(server).create_project(PUMP) == 43
    assert "DELETE" not in server.methods()


def test_an_extra_project_with_a_storage_is_left() -> None:
    storage = {"id": 9, "description": "managed-by: lsts-sync owner=default name=pump-7/source"}
    server = Server(ok({"id": 43}, 201), ok([listed(43), listed(44)]), ok({"id": 44, "task_number": 0}),
                    ok([storage]), ok([]))
    assert instance(server).create_project(PUMP) == 43
    assert "DELETE" not in server.methods()


def test_a_storage_the_server_saved_twice_keeps_the_lowest_id() -> None:
    from lsts_sync.resources.state import StorageState

    source = StorageState("local", "pump-7", "source", "data", "pump-7/", "us-east-1", "")
    marked = [{"id": i, "description": "managed-by: lsts-sync owner=default name=pump-7/source"} for i in (8, 9)]
    server = Server(ok({"id": 9}, 201), ok(marked), httpx.Response(204))
    assert instance(server).create_storage(source, 43, None) == 8
    assert [(r.method, r.url.path) for r in server.requests] == [  # only the source storages are read back
        ("POST", "/api/storages/s3"), ("GET", "/api/storages/s3"), ("DELETE", "/api/storages/s3/9")]


def test_predictions_the_server_saved_twice_keep_the_lowest_id_per_task(caplog: pytest.LogCaptureFixture) -> None:
    twice = [{"id": i, "task": task, "model_version": version, "result": [], "score": None}
             for i, task, version in ((8, 1, "m1"), (9, 1, "m1"), (10, 2, "m1"), (11, 3, "m0"), (12, 3, "m0"))]
    server = Server(ok({"created": 2}, 201), ok(twice), httpx.Response(204))
    assert instance(server).create_predictions(3, "pump-7", "m1", [(1, "[]", None), (2, "[]", None)]) == 2
    assert [(r.method, r.url.path) for r in server.requests][-1] == ("DELETE", "/api/predictions/9/")
    assert server.methods().count("DELETE") == 1  # another version's pair is not this create's
    assert "saved 1 of them twice; deleted the extra ids 9" in caplog.records[0].getMessage()
