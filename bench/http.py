"""A minimal HTTP/1.1 keep-alive client on asyncio streams: the load generator's wire.

Written by hand rather than taken from httpx: on a 2-core machine the client shares the CPU with
the server it measures, and a full-featured client spends several times more per request than
this one (no cookie jar, no URL model, no middleware), which would cap the figures it reports.
It speaks exactly what the measured servers answer: a status line, headers, and a body of
``Content-Length`` bytes or ``Transfer-Encoding: chunked``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    @classmethod
    def json(cls, method: str, path: str, document: Any, headers: dict[str, str] | None = None):
        extra = (*(headers or {}).items(), ("Content-Type", "application/json"))
        return cls(method, path, extra, json.dumps(document).encode())


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Connection:
    """One keep-alive connection; reopened transparently when the server closed it."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def send(self, request: Request) -> Response:
        if self._writer is None or self._writer.is_closing():
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        head = [f"{request.method} {request.path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        head += [f"{name}: {value}" for name, value in request.headers]
        if request.body or request.method in {"POST", "PUT", "PATCH"}:
            head.append(f"Content-Length: {len(request.body)}")
        self._writer.write("\r\n".join(head).encode("latin-1") + b"\r\n\r\n" + request.body)
        try:
            response = await self._read(self._reader, request.method)
        except BaseException:
            await self.close()
            raise
        if response.headers.get("connection", "").lower() == "close":
            await self.close()
        return response

    async def _read(self, reader: asyncio.StreamReader, method: str) -> Response:
        lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        if method == "HEAD" or status in {204, 304} or 100 <= status < 200:
            return Response(status, headers, b"")
        if headers.get("transfer-encoding", "").lower() == "chunked":
            return Response(status, headers, await _chunked(reader))
        return Response(status, headers, await reader.readexactly(int(headers["content-length"])))

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
            self._writer = None


async def _chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return bytes(body)
        body += await reader.readexactly(size)
        await reader.readexactly(2)
