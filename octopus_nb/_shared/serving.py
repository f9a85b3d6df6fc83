"""Serve a tornado application from a background thread: what the sandbox and the webhook receiver share.

Both run inside a Jupyter kernel, whose own event loop belongs to the main thread, so each server
gets a daemon thread with a loop of its own.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any


class ServerThread:
    """One tornado HTTP server on its own event loop, in a daemon thread.

    The socket is bound in the caller's thread (port 0 picks a free one), so a bind error surfaces
    in ``start()`` and the port is known at once; ``start()`` returns once serving; ``stop()``
    reaches the loop only through ``call_soon_threadsafe`` (the one thread-safe way in), then joins.
    """

    def __init__(
        self,
        app: Any,
        host: str,
        port: int,
        *,
        name: str,
        max_body_size: int,
        background: Callable[[], Awaitable[None]] | None = None,
    ):
        self.app, self.host, self.port, self.name = app, host, port, name
        self.max_body_size = max_body_size
        #: a coroutine function run alongside the server (the webhook worker), cancelled at stop
        self.background = background
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._serving = threading.Event()

    def is_running(self) -> bool:
        return self._thread is not None

    def start(self, before_serving: Callable[[str], None] | None = None) -> str:
        """Bind, serve, and return ``http://host:port``.

        ``before_serving(base_url)`` runs once the address is known and before any request is
        served (connections wait in the socket's backlog), so an app whose answers name its own
        address is whole before it answers.
        """
        import tornado.netutil

        sockets = tornado.netutil.bind_sockets(self.port, self.host)
        port = sockets[0].getsockname()[1]
        shown_host = f"[{self.host}]" if ":" in self.host else self.host
        base_url = f"http://{shown_host}:{port}"
        if before_serving is not None:
            try:
                before_serving(base_url)
            except BaseException:
                for bound in sockets:
                    bound.close()
                raise
        self._serving.clear()
        # A daemon thread, so a kernel or script that forgets stop() can still exit.
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(sockets),), name=self.name, daemon=True)
        self._thread.start()
        self._serving.wait()
        return base_url

    async def _main(self, sockets: list) -> None:
        import tornado.httpserver

        server = tornado.httpserver.HTTPServer(self.app, max_body_size=self.max_body_size, xheaders=False)
        server.add_sockets(sockets)
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        task = asyncio.ensure_future(self.background()) if self.background else None
        self._serving.set()
        await self._stopping.wait()
        server.stop()
        while task is not None and not task.done():
            # Cancel until it takes: on Python 3.11, asyncio.wait_for can swallow a cancellation that
            # lands as its timeout fires (the webhook worker's poll), and stop() would wait forever.
            task.cancel()
            await asyncio.wait([task], timeout=0.1)
        if task is not None and not task.cancelled():
            task.exception()  # retrieved, so asyncio does not log it as never retrieved
        await server.close_all_connections()

    def stop(self) -> None:
        assert self._thread is not None and self._loop is not None and self._stopping is not None
        self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join()
        self._thread = None

    def in_server_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def run(self, coroutine: Coroutine, timeout: float) -> Any:
        """Run ``coroutine`` on the server's loop from another thread and wait for its result."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)
