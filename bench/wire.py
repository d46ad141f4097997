"""Database commands per request, counted on the wire between the service and SecantusDB.

The service runs in other processes, so a pymongo ``CommandListener`` in this one would see
nothing, and registering one inside the service would mean a code path that only the benchmark
takes. Instead a small TCP proxy sits in front of SecantusDB for a separate counting pass (never
during the timed runs: the proxy costs CPU on this machine): the service's ``MONGODB_URI`` names
the proxy, and every client-to-server MongoDB message (``OP_MSG``) is decoded far enough to name
its command. That is exactly what pymongo's command monitoring reports (one ``started`` event per
command), measured on the real server path: ``twofactor serve``, its pymongo pool, the wire.
The monitoring handshakes and heartbeats (``hello``/``isMaster``) are left out: they belong to
connections, not requests.
"""

from __future__ import annotations

import asyncio
import struct
import threading
from collections import Counter

import bson

OP_MSG = 2013
_HEARTBEATS = {"hello", "ismaster", "isMaster", "endSessions"}


class CommandCounter:
    """A proxy on ``port`` to ``target_port``; ``counts`` holds the commands seen so far."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0

    def start(self) -> CommandCounter:
        self._thread.start()
        self._ready.wait(10)
        return self

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    def snapshot(self) -> Counter[str]:
        with self._lock:
            return Counter(self.counts)

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._relay, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()

    async def _relay(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        server_in, server_out = await asyncio.open_connection("127.0.0.1", self.target_port)
        back = asyncio.ensure_future(_pipe(server_in, client_out))
        try:
            while True:
                header = await client_in.readexactly(16)
                length, _, _, opcode = struct.unpack("<iiii", header)
                payload = await client_in.readexactly(length - 16)
                if opcode == OP_MSG:
                    self._count(payload)
                server_out.write(header + payload)
                await server_out.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            back.cancel()
            server_out.close()
            client_out.close()

    def _count(self, payload: bytes) -> None:
        # flagBits (4 bytes), then sections; kind 0 is the command document itself.
        if payload[4] != 0:
            return
        size = struct.unpack_from("<i", payload, 5)[0]
        command = next(iter(bson.decode(payload[5 : 5 + size])))
        if command not in _HEARTBEATS:
            with self._lock:
                self.counts[command] += 1


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()
