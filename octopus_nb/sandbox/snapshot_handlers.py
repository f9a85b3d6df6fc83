"""HTTP for snapshots and scenarios (``/_sandbox/snapshots``, ``/_sandbox/scenarios``; sandbox rules).

Each acts on the caller's account only: another account's snapshot id is as unknown as a made-up one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .controls import ControlHandler
from .exceptions import MalformedRequest, SandboxError
from .handlers import encode
from .models import SandboxState
from .scenarios import Checkpoint, ScenarioFailed, run_scenario

if TYPE_CHECKING:
    from .server import SandboxApplication


def restore(app: SandboxApplication, state: SandboxState, snapshot_id: str) -> SandboxState:
    """Swap in, for ``state``'s account, a new state holding exactly what the snapshot holds."""
    fresh = app.snapshots.of(state).restore(state, snapshot_id, app.accounts.replace)
    app.snapshots.carry(state, fresh)
    app.webhook_worker.wake()  # deliveries queued in the snapshot may be due
    return fresh


class SnapshotsHandler(ControlHandler):
    async def get(self) -> None:
        await self.perform(lambda: self.application.snapshots.of(self.state).views())

    async def post(self) -> None:
        def take() -> dict:
            body = self.json_body(optional=True) or {}
            if not isinstance(body, dict) or not set(body) <= {"name"}:
                raise MalformedRequest()
            return self.application.snapshots.of(self.state).add(self.state, body.get("name"))

        await self.perform(take, 201)


class SnapshotHandler(ControlHandler):
    async def get(self, snapshot_id: str) -> None:
        await self.perform(lambda: self.application.snapshots.of(self.state).view(snapshot_id))

    async def delete(self, snapshot_id: str) -> None:
        with self.state.transaction():
            status, body = self.outcome(lambda: self.application.snapshots.of(self.state).remove(snapshot_id), 204)
        self.send(status, b"" if status == 204 else body)


class SnapshotRestoreHandler(ControlHandler):
    async def post(self, snapshot_id: str) -> None:
        def restore_it() -> dict:
            view = self.application.snapshots.of(self.state).view(snapshot_id)
            restore(self.application, self.state, snapshot_id)
            return view

        await self.perform(restore_it)


class ScenariosHandler(ControlHandler):
    async def post(self) -> None:
        await self.perform(lambda: run_scenario(self.state, self.json_body(), self._checkpoint()), 201)

    def _checkpoint(self) -> Checkpoint | None:
        """In memory, the default (filled back in place); with a state file, a snapshot in the file, restored by a swap."""
        app, state = self.application, self.state
        if state.store is None:
            return None

        def mark() -> tuple[Callable[[], None], Callable[[], None]]:
            shelf = app.snapshots.of(state)
            snapshot_id = shelf.add(state, "before a scenario")["id"]

            def undo() -> None:
                restore(app, state, snapshot_id)

            return undo, lambda: shelf.remove(snapshot_id)

        return mark

    def error_outcome(self, error: SandboxError) -> tuple[int, bytes]:
        """A failed scenario's 422 also names the step (its index in ``steps``, from 0) and the reason."""
        if not isinstance(error, ScenarioFailed):
            return super().error_outcome(error)
        document: dict = {"request_id": self.request_id, "error_type": error.error_type, "error_codes": error.error_codes}
        return 422, encode({**document, "step": error.step, "reason": error.reason})
