"""Leases: this instance's heartbeat, and taking over runs whose executor is gone.

Every ``heartbeat_seconds`` the worker renews the leases of the runs it executes (and cancels
the task of a run another process marked ``cancelling``), expires runs whose tool-output
deadline passed, and reclaims runs whose owner process is dead (same host) or whose lease
lapsed. At start-up the same recovery runs once, so runs a stopped server left behind resume.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import TYPE_CHECKING

from assistant_graph.assistants_server.store import leases

if TYPE_CHECKING:
    from assistant_graph.assistants_server.worker.runner import RunWorker

logger = logging.getLogger(__name__)


def pid_alive(pid: int | None) -> bool:
    """Whether a process with ``pid`` exists on this host."""
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def heartbeat_loop(worker: RunWorker) -> None:
    """Renew leases, expire overdue runs and reclaim orphans, forever (errors are logged)."""
    while True:
        await asyncio.sleep(worker.heartbeat_seconds)
        try:
            owned = await worker.store.write(leases.renew_leases, worker.lease)
            for run_id, status in owned:
                if status == "cancelling":
                    worker.cancel_task(run_id)
            await worker.expire_overdue()
            await reclaim_orphans(worker)
        except Exception:  # keep the heartbeat alive; the error is logged, not hidden
            logger.exception(
                "Run worker heartbeat failed; retrying in %ss", worker.heartbeat_seconds
            )


async def reclaim_orphans(worker: RunWorker) -> None:
    """Resume runs whose owner is gone (dead pid on this host, or lease lapsed)."""
    now_f = time.time()
    for row in await worker.store.read(leases.orphan_candidates):
        if worker.is_executing(row.id):
            continue
        if row.owner is None or row.owner == worker.owner:
            dead = True
        elif row.owner_host == worker.host and not pid_alive(row.owner_pid):
            dead = True
        else:
            dead = row.lease_expires_at is not None and row.lease_expires_at < now_f
        if not dead:
            continue
        logger.info("Reclaiming run %s (previous owner %s)", row.id, row.owner)
        previous = (row.owner,) if row.owner else ()
        if await worker.store.write(leases.claim_run, row.id, worker.lease, previous):
            worker.submit(row.id)
