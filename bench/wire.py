"""HTTP/1.1 on raw asyncio streams, for load generators that keep many connections open cheaply."""

from __future__ import annotations

import asyncio


async def http_response_read(reader: asyncio.StreamReader) -> tuple[int, bool, bytes]:
    """One HTTP/1.1 response: status, whether the server closes, and the body (sized or chunked)."""
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("connection closed")
    status = int(status_line.split(b" ", 2)[1])
    length, close, chunked = 0, False, False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value.strip().lower() == b"close":
            close = True
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        body = b""
        while True:
            size = int((await reader.readline()).strip() or b"0", 16)
            if size == 0:
                await reader.readline()
                break
            body += await reader.readexactly(size)
            await reader.readline()
        return status, close, body
    return status, close, (await reader.readexactly(length) if length else b"")
