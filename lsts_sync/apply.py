"""Apply exactly the changes of a Plan, in its order. Apply never diffs again.

On a failure part-way, ``ApplyFailed`` carries what was done and what was not; since every create
writes the ownership marker, a re-run finds what was created and converges without duplicates.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .live import Connections
from .plan import Create, Delete, Plan, Sync, Update
from .problems import LstsError
from .secrets import redact
from .state import CorsState, ProjectState, StorageState

log = logging.getLogger(__name__)
Progress = Callable[[str], None]
FINAL = ("completed", "failed", "completed_with_errors")


@dataclass
class ApplyResult:
    done: list[str] = field(default_factory=list)
    project_ids: dict[tuple[str, str], int] = field(default_factory=dict)
    synced: list[tuple[str, str, int]] = field(default_factory=list)  # (storage, status, tasks imported)


class ApplyFailed(LstsError):
    def __init__(self, message: str, result: ApplyResult, remaining: list[str]):
        super().__init__(message)
        self.result, self.remaining = result, remaining


def _describe(change: Create | Update | Delete | Sync) -> str:
    if isinstance(change, Sync):
        return f"sync {change.storage.address}"
    resource = change.old if isinstance(change, Delete) else change.new
    return f"{change.action} {resource.address}"


class _Applier:
    def __init__(self, conn: Connections, live_ids: dict, progress: Progress):
        self.conn, self.progress = conn, progress
        self.project_ids: dict[tuple[str, str], int] = dict(live_ids)
        self.storage_ids: dict[tuple[str, str, str], int] = {}
        self._credentials = None

    def credentials(self, storage: StorageState):
        if storage.credentials == "none":
            return None
        if self._credentials is None:
            self._credentials = self.conn.s3.credentials()
        return self._credentials

    def run(self, change: Create | Update | Delete) -> None:
        new = change.old if isinstance(change, Delete) else change.new
        if isinstance(new, CorsState):
            self.conn.s3.write_cors(new)
        elif isinstance(new, ProjectState):
            self._project(change)
        else:
            self._storage(change)

    def _project(self, change: Create | Update | Delete) -> None:
        if isinstance(change, Delete):
            return self.conn.instances[change.old.instance].delete_project(change.old)
        ls = self.conn.instances[change.new.instance]
        if isinstance(change, Create):
            self.project_ids[change.new.key] = ls.create_project(change.new)
        else:
            self.project_ids[change.new.key] = change.old.id  # adopted projects get their id here
            ls.update_project(change.old.id, change.new, [d.field for d in change.diffs])

    def _storage(self, change: Create | Update | Delete) -> None:
        if isinstance(change, Delete):
            return self.conn.instances[change.old.instance].delete_storage(change.old)
        new: StorageState = change.new
        ls = self.conn.instances[new.instance]
        if isinstance(change, Create):
            project_id = self.project_ids[(new.instance, new.project)]
            self.storage_ids[new.key] = ls.create_storage(new, project_id, self.credentials(new))
        else:
            self.storage_ids[new.key] = change.old.id
            rotate = any(d.field == "credentials" for d in change.diffs)
            ls.update_storage(change.old.id, new, self.credentials(new) if rotate else None)

    def sync(self, sync: Sync, storage_id: int, timeout: float) -> tuple[str, int]:
        storage = sync.storage
        ls = self.conn.instances[storage.instance]
        ls.sync_storage(storage_id, storage.marker_name, sync.last_sync)
        deadline = time.monotonic() + timeout
        while True:
            status = ls.storage_status(storage_id)
            if status.get("status") in FINAL:
                return status["status"], int(status.get("last_sync_count") or 0)
            if time.monotonic() > deadline:
                raise LstsError(f"{storage.address}: sync still {status.get('status')} after {timeout:.0f}s")
            self.progress(f"  {storage.address}: {status.get('status')}...")
            time.sleep(0.5)


def apply_plan(plan: Plan, conn: Connections, *, live_project_ids: dict[tuple[str, str], int],
               live_storage_ids: dict[tuple[str, str, str], int], progress: Progress,
               sync_timeout: float = 600.0, before_step: Callable[[], None] = lambda: None) -> ApplyResult:
    """Run ``plan``; returns what was done. Raises ApplyFailed (with done/remaining) on an error.

    A plan with blocking checks is refused before anything is written. ``before_step`` runs before
    every step (the CLI renews the apply lock there; raising stops the apply).
    """
    if plan.blockers:
        raise LstsError(f"apply refused: {len(plan.blockers)} safety check(s) block this plan; nothing was changed")
    applier = _Applier(conn, live_project_ids, progress)
    applier.storage_ids.update(live_storage_ids)
    result = ApplyResult()
    steps: list = [*plan.changes, *plan.syncs]
    for index, step in enumerate(steps):
        label = _describe(step)
        try:
            before_step()
            if isinstance(step, Sync):
                status, count = applier.sync(step, applier.storage_ids[step.storage.key], sync_timeout)
                result.synced.append((step.storage.address, status, count))
                if status != "completed":
                    raise LstsError(f"{step.storage.address}: sync ended {status}")
            else:
                applier.run(step)
        except Exception as exc:  # any failure part-way must say what was done and what was not
            message = str(exc) if isinstance(exc, LstsError) else redact(f"{type(exc).__name__}: {exc}")
            remaining = [_describe(s) for s in steps[index:]]
            raise ApplyFailed(message, result, remaining) from None
        result.done.append(label)
        progress(f"{label}: done")
    result.project_ids = dict(applier.project_ids)
    return result
