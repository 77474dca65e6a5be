"""The sender as a background task of the API process (``creditlines serve``).

Off with ``CREDITLINES_SENDER=false`` (tests that do not need it, or deployments that run
``creditlines deliver`` on their own).
"""

from __future__ import annotations

import asyncio

from creditlines.config import Settings
from creditlines.db.engine import UnitOfWork

Running = tuple[asyncio.Task[None], asyncio.Event] | None


def start_sender(uow: UnitOfWork, settings: Settings) -> Running:
    if not settings.sender:
        return None
    from creditlines.events.sender import Sender

    stop = asyncio.Event()
    task = asyncio.create_task(Sender(uow, settings).run(stop), name="creditlines-webhook-sender")
    return task, stop


async def stop_sender(running: Running) -> None:
    if running is None:
        return
    task, stop = running
    stop.set()
    try:
        await asyncio.wait_for(task, timeout=15)
    except (TimeoutError, asyncio.CancelledError):
        task.cancel()
