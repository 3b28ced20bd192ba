"""Live Label Studio: read managed projects and storages, and write changes, via label-studio-sdk.

Every call goes through ``_call`` so that failures become one-line ``LstsError`` messages naming the
instance, with the token redacted, and every request is counted in ``RequestStats``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from label_studio_sdk import LabelStudio
from label_studio_sdk.core.api_error import ApiError

from .live_s3 import Credentials
from .models import InstanceSpec
from .problems import LstsError
from .state import ProjectState, StorageState, Usage, split_marker, with_marker
from .stats import RequestStats, redact

log = logging.getLogger(__name__)
T = TypeVar("T")
PROJECT_FIELDS = "id,title,description,label_config"
PAGE_SIZE = 1000
TRANSIENT = frozenset({429, 500, 502, 503, 504})


class LabelStudioInstance:
    """One Label Studio server named by an Instance spec."""

    def __init__(self, spec: InstanceSpec, stats: RequestStats, timeout: float = 60.0, attempts: int = 4,
                 backoff: float = 0.5):
        self.spec = spec
        self.stats = stats
        self.attempts, self.backoff = attempts, backoff
        self._secret = spec.token.get_secret_value()
        http = httpx.Client(timeout=timeout, event_hooks={"request": [self._count]})
        # Retries are ours (see _call), not the SDK's: a create must look for its marker before retrying.
        self.client = LabelStudio(base_url=spec.url, api_key=self._secret, httpx_client=http,
                                  timeout=timeout, max_retries=0)

    # -- plumbing ---------------------------------------------------------------------------
    def _count(self, request: httpx.Request) -> None:
        self.stats.record(request.method)
        log.debug("%s %s", request.method, request.url.path)

    def _call(self, what: str, fn: Callable[..., T], *args: Any, find_existing: Callable[[], T | None] | None = None,
              **kwargs: Any) -> T:
        """Call the SDK; retry transient failures (connection errors, 429, 5xx) with backoff.

        Before retrying a create, ``find_existing`` looks for what the failed attempt may have
        created (by our marker), so a lost response never makes a duplicate.
        """
        delay = self.backoff
        for attempt in range(1, self.attempts + 1):
            try:
                return fn(*args, **kwargs)
            except ApiError as exc:
                if exc.status_code not in TRANSIENT or attempt == self.attempts:
                    raise LstsError(self._api_message(what, exc)) from None
                reason = f"HTTP {exc.status_code}"
            except httpx.TransportError as exc:
                reason = redact(str(exc) or exc.__class__.__name__, [self._secret])
                if attempt == self.attempts:
                    raise LstsError(f"instance {self.spec.name}: cannot reach {self.spec.url} ({what}): {reason}") from None
            log.debug("instance %s: %s failed (%s), retry %d/%d in %.1fs",
                     self.spec.name, what, reason, attempt, self.attempts - 1, delay)
            time.sleep(delay)
            delay *= 2
            if find_existing is not None:
                found = find_existing()
                if found is not None:
                    log.debug("instance %s: %s had succeeded; found it by its marker", self.spec.name, what)
                    return found
        raise AssertionError("unreachable")

    def _api_message(self, what: str, exc: ApiError) -> str:
        name = self.spec.name
        if exc.status_code in (401, 403):
            return f"instance {name}: the token was refused ({exc.status_code}) by {self.spec.url} while trying to {what}"
        body = exc.body if isinstance(exc.body, str) else repr(exc.body)
        return f"instance {name}: {what} failed with HTTP {exc.status_code}: {self._short(body)}"

    def _short(self, text: str) -> str:
        """A server's answer as one redacted line of at most 300 characters."""
        return " ".join(redact(text, [self._secret]).split())[:300]

    # -- reads ------------------------------------------------------------------------------
    def read_projects(self) -> tuple[list[ProjectState], dict[str, ProjectState]]:
        """Managed projects (those carrying our marker) and unmanaged ones by title (name ``""``)."""
        managed, unmanaged = [], {}
        for item in self._list_projects():
            _, name = split_marker(item.description)
            state = ProjectState(self.spec.name, name or "", item.title or "", item.description or "",
                                 item.label_config or "", id=item.id)
            if name is None:
                unmanaged.setdefault(state.title, state)
            else:
                managed.append(state)
        return managed, unmanaged

    def _list_projects(self) -> list[Any]:
        """All projects, page by page; stops on a short page instead of probing past the end."""
        page = self._call("list projects", self.client.projects.list, page_size=PAGE_SIZE, include=PROJECT_FIELDS)
        items = list(page.items or [])
        while len(page.items or []) >= PAGE_SIZE and page.has_next:
            page = self._call("list projects", page.next_page)
            if page is None:
                break
            items.extend(page.items or [])
        return items

    def read_usage(self, project: ProjectState, new_config: str | None) -> Usage:
        """What annotations of ``project`` use, and Label Studio's verdict on ``new_config``.

        The summary endpoint is not in the SDK, so it goes through the SDK's own HTTP client.
        """
        response = self._call(f"read the summary of project {project.name or project.title}",
                              self.client._client_wrapper.httpx_client.request,
                              f"api/projects/{project.id}/summary/", method="GET")
        if response.status_code == 404:
            return Usage(0)
        if response.status_code >= 400:
            raise LstsError(f"instance {self.spec.name}: reading the summary of project {project.id} failed "
                            f"with HTTP {response.status_code}")
        summary = response.json() or {}
        created = {k: int(v or 0) for k, v in (summary.get("created_annotations") or {}).items()}
        labels = frozenset((control, label) for control, counts in (summary.get("created_labels") or {}).items()
                           for label, n in (counts or {}).items() if n)
        rejection = None
        if new_config is not None and sum(created.values()):
            try:
                self.client.projects.validate_label_config(id=project.id, label_config=new_config)
            except ApiError as exc:
                if exc.status_code in (401, 403):
                    raise LstsError(self._api_message("validate the template", exc)) from None
                rejection = self._short(str(exc.body))
        return Usage(sum(created.values()), frozenset(k for k, v in created.items() if v), labels, rejection)

    def read_storages(self, project: ProjectState) -> list[StorageState]:
        """The project's S3 import and export storages that carry our marker."""
        found = []
        for role, api in (("source", self.client.import_storage.s3), ("target", self.client.export_storage.s3)):
            for item in self._call(f"list {role} storages of project {project.name}", api.list, project=project.id):
                data = item.model_dump()
                _, name = split_marker(data.get("description"))
                if name != f"{project.name}/{role}":
                    continue
                found.append(StorageState(
                    instance=self.spec.name, project=project.name, role=role, id=data["id"],
                    bucket=data.get("bucket") or "", prefix=data.get("prefix") or "",
                    region_name=data.get("region_name") or "", s3_endpoint=data.get("s3endpoint") or "",
                    regex_filter=data.get("regex_filter") or "", use_blob_urls=bool(data.get("use_blob_urls")),
                    presign=bool(data.get("presign")), presign_ttl=int(data.get("presign_ttl") or 1),
                    recursive_scan=bool(data.get("recursive_scan"))))
        return found

    def export_tasks(self, project_id: int, name: str) -> list[dict]:
        """Every annotated task of a project with its annotations, in one export request."""
        chunks = self._call(f"export annotations of project {name}", lambda: b"".join(
            self.client.projects.exports.download_sync(id=project_id, export_type="JSON")))
        try:
            data = json.loads(chunks)
        except ValueError:
            raise LstsError(f"instance {self.spec.name}: the export of project {name} is not JSON") from None
        return data if isinstance(data, list) else []

    def users(self) -> dict[int, str]:
        """User ids to e-mail addresses (annotators in exports)."""
        return {u.id: u.email or str(u.id) for u in self._call("list users", self.client.users.list)}

    def storage_status(self, storage_id: int) -> dict[str, Any]:
        item = self._call("read storage status", self.client.import_storage.s3.get, id=storage_id)
        return item.model_dump()

    # -- writes -----------------------------------------------------------------------------
    def create_project(self, project: ProjectState) -> int:
        def existing() -> int | None:
            return next((p.id for p in self.read_projects()[0] if p.name == project.name), None)

        created = self._call(f"create project {project.name}", self.client.projects.create, title=project.title,
                             description=project.description, label_config=project.label_config,
                             find_existing=existing)
        return created if isinstance(created, int) else created.id

    def update_project(self, project_id: int, project: ProjectState, fields: list[str]) -> None:
        values = {f: getattr(project, f) for f in fields if f != "credentials"}
        self._call(f"update project {project.name}", self.client.projects.update, id=project_id, **values)

    def delete_project(self, project: ProjectState) -> None:
        self._call(f"delete project {project.name}", self.client.projects.delete, id=project.id)

    def _storage_fields(self, storage: StorageState) -> dict[str, Any]:
        fields: dict[str, Any] = dict(
            title=f"lsts-sync {storage.role}", description=with_marker("", storage.marker_name),
            bucket=storage.bucket, prefix=storage.prefix, region_name=storage.region_name,
            s3endpoint=storage.s3_endpoint, regex_filter=storage.regex_filter or None,
            use_blob_urls=storage.use_blob_urls)
        if storage.role == "source":
            fields.update(presign=storage.presign, presign_ttl=storage.presign_ttl,
                          recursive_scan=storage.recursive_scan)
        return {k: v for k, v in fields.items() if v is not None}

    def _api(self, storage: StorageState):
        return self.client.import_storage.s3 if storage.role == "source" else self.client.export_storage.s3

    def create_storage(self, storage: StorageState, project_id: int, credentials: Credentials | None) -> int:
        fields = {**self._storage_fields(storage), **_credential_fields(credentials, clear_token=False)}

        def existing() -> int | None:
            owner = ProjectState(self.spec.name, storage.project, "", "", "", id=project_id)
            return next((s.id for s in self.read_storages(owner) if s.role == storage.role), None)

        created = self._call(f"create {storage.address}", self._api(storage).create, project=project_id,
                             find_existing=existing, **fields)
        return created if isinstance(created, int) else created.id

    def update_storage(self, storage_id: int, storage: StorageState, credentials: Credentials | None = None) -> None:
        fields = {**self._storage_fields(storage), **_credential_fields(credentials, clear_token=True)}
        self._call(f"update {storage.address}", self._api(storage).update, id=storage_id, **fields)

    def delete_storage(self, storage: StorageState) -> None:
        self._call(f"delete {storage.address}", self._api(storage).delete, id=storage.id)

    def sync_storage(self, storage_id: int, name: str) -> None:
        self._call(f"sync storage {name}", self.client.import_storage.s3.sync, id=storage_id)


def _credential_fields(credentials: Credentials | None, *, clear_token: bool) -> dict[str, str]:
    """Storage fields for AWS credentials; ``clear_token`` sends an empty session token on rotation
    so a stale one from earlier credentials does not linger."""
    if not credentials:
        return {}
    key, secret, token = credentials
    fields = {"aws_access_key_id": key, "aws_secret_access_key": secret}
    if token or clear_token:
        fields["aws_session_token"] = token or ""
    return fields
