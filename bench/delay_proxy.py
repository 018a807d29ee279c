"""A TCP proxy that puts a relay on this machine milliseconds away.

    python bench/delay_proxy.py LISTEN_PORT TARGET_PORT DELAY_SECONDS

Used by bench/send.py --reply-delay and bench/celery_send.py --relay-delay. Each chunk the
server sends reaches the client DELAY seconds after it reached the proxy, in order; what the
client sends goes through at once. So every round trip takes DELAY longer, as on a real path,
and bandwidth is not limited. Chunks are not held back one after another: a reply that the
server writes in three pieces arrives DELAY late, not 3 x DELAY late.

One asyncio loop with protocols and one timer a connection (no streams, no task a chunk).
bench/celery_send.py reports its CPU time: about 0.1-0.2 ms a letter, a few per cent of a
core at the rates measured there, so it is not what limits them.
"""

from __future__ import annotations

import asyncio
import sys
from collections import deque

HOST = "127.0.0.1"


class _Late:
    """Writes chunks to a transport ``delay`` seconds after they came, in the order they came.

    A queue and one timer for the head of it, because the event loop's timer heap does not
    keep the order of timers due at the same instant.
    """

    def __init__(self, transport: asyncio.Transport, delay: float) -> None:
        self._transport, self._delay = transport, delay
        self._loop = asyncio.get_running_loop()
        self._queue: deque[tuple[float, bytes | None]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    def push(self, data: bytes | None) -> None:
        """Queue ``data``; None closes the transport once everything before it is written."""
        self._queue.append((self._loop.time() + self._delay, data))
        if self._timer is None:
            self._timer = self._loop.call_at(self._queue[0][0], self._flush)

    def _flush(self) -> None:
        self._timer = None
        # The loop wakes up to a millisecond late (epoll's resolution), so take everything due.
        now = self._loop.time()
        while self._queue and self._queue[0][0] <= now:
            data = self._queue.popleft()[1]
            if data is None:
                self._transport.close()
                self._queue.clear()
                return
            self._transport.write(data)
        if self._queue:
            self._timer = self._loop.call_at(self._queue[0][0], self._flush)


class _Server(asyncio.Protocol):
    """The proxy's connection to the server: replies go to the client late."""

    def __init__(self, late: _Late) -> None:
        self._late = late

    def data_received(self, data: bytes) -> None:
        self._late.push(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self._late.push(None)


class _Client(asyncio.Protocol):
    """A client's connection to the proxy: what it sends goes to the server at once.

    No flow control: an SMTP client waits for replies before it sends much more, so at most
    a letter or two is ever buffered here.
    """

    def __init__(self, target: int, delay: float) -> None:
        self._target, self._delay = target, delay
        self._transport: asyncio.Transport | None = None
        self._server: asyncio.Transport | None = None
        self._early: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        asyncio.get_running_loop().create_task(self._connect(transport))

    async def _connect(self, client: asyncio.Transport) -> None:
        loop = asyncio.get_running_loop()
        late = _Late(client, self._delay)
        try:
            server, _ = await loop.create_connection(lambda: _Server(late), HOST, self._target)
        except OSError:
            client.close()
            return
        self._server = server
        for data in self._early:
            server.write(data)
        self._early.clear()
        if client.is_closing():
            server.close()

    def data_received(self, data: bytes) -> None:
        if self._server is None:
            self._early.append(data)  # the client spoke before the server answered the connect
        else:
            self._server.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._server is not None:
            self._server.close()


async def serve(listen: int, target: int, delay: float) -> None:
    loop = asyncio.get_running_loop()
    proxy = await loop.create_server(lambda: _Client(target, delay), HOST, listen)
    async with proxy:
        await proxy.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])))
