"""A TCP link a test can cut: a proxy on a thread of its own.

``Link(port)`` listens on a free port of 127.0.0.1 and passes every
connection on to ``port``.  ``cut()`` stops the bytes flowing, both ways, on
every connection, open or opened later, while leaving the connections
open: what a network partition looks like to both ends (no reset, only
silence), until ``heal()`` lets what was held back through.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

from store.embedded import free_port


class Link:
    def __init__(self, port: int) -> None:
        self.target = port
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.flowing = asyncio.Event()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Link:
        self.thread.start()
        self.ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def cut(self) -> None:
        self.loop.call_soon_threadsafe(self.flowing.clear)

    def heal(self) -> None:
        self.loop.call_soon_threadsafe(self.flowing.set)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.flowing.set()
        server = self.loop.run_until_complete(
            asyncio.start_server(self._connect, "127.0.0.1", self.port))
        self.ready.set()
        try:
            self.loop.run_forever()
        finally:
            server.close()

    async def _connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
                       ) -> None:
        await self.flowing.wait()  # a connection made during a cut hangs too
        try:
            their_reader, their_writer = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            writer.close()
            return
        await asyncio.gather(self._pump(reader, their_writer), self._pump(their_reader, writer))

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                await self.flowing.wait()
                writer.write(data)
                await writer.drain()
        writer.close()
