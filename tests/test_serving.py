"""The shared server thread stops even when its background task swallows a cancellation."""

from __future__ import annotations

import asyncio
import threading

import tornado.web

from octopus_nb._shared.serving import ServerThread


def test_stop_returns_even_if_the_background_task_swallows_a_cancellation():
    # Python 3.11's asyncio.wait_for can swallow a cancellation that lands as its timeout fires
    # (the webhook worker polls with it); stop() must not wait forever for such a task.
    swallowed = threading.Event()

    async def stubborn() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            swallowed.set()  # and carry on, as the race does
        await asyncio.sleep(3600)

    server = ServerThread(tornado.web.Application([]), "127.0.0.1", 0, name="test-serving", max_body_size=1024, background=stubborn)
    server.start()
    stopper = threading.Thread(target=server.stop, daemon=True)
    stopper.start()
    stopper.join(10)
    assert not stopper.is_alive() and swallowed.is_set()
    assert not server.is_running()
