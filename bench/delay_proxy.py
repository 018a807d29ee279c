"""A TCP proxy that holds back everything the server sends for a while: a relay far away.

    python bench/delay_proxy.py LISTEN_PORT TARGET_PORT DELAY_SECONDS

Used by bench/send.py --reply-delay. Each chunk the server sends reaches the client DELAY
seconds later; what the client sends goes through at once. One asyncio loop, no threads.
"""

from __future__ import annotations

import asyncio
import sys

HOST = "127.0.0.1"


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    try:
        while data := await reader.read(65536):
            if delay:
                await asyncio.sleep(delay)
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


async def _serve(listen: int, target: int, delay: float) -> None:
    async def handle(client_reader: asyncio.StreamReader, client: asyncio.StreamWriter) -> None:
        server_reader, server = await asyncio.open_connection(HOST, target)
        await asyncio.gather(_pipe(client_reader, server, 0.0), _pipe(server_reader, client, delay))

    proxy = await asyncio.start_server(handle, HOST, listen)
    async with proxy:
        await proxy.serve_forever()


if __name__ == "__main__":
    asyncio.run(_serve(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])))
