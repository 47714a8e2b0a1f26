"""The events writer in a process of its own, so that SQLite's work does not share the web server's GIL.

`fake-pagerduty serve` applies Events API writes here (see `Store`'s group commit): the event loop sends a
batch of writes down a socket, this process applies them in one transaction on its own connection, COMMITs
and sends the results back. Only then does the loop answer the batch's callers, so a 2xx still means
committed.

A write is data, not a closure: `(function, *args)`, where `function` is a module-level function of
`batch.py` taking the connection first; batches and results cross as pickles in multiprocessing's framing
(a 4-byte big-endian length, or -1 and 8 bytes for a message over 2 GiB). Results are
`[(ok, value or exception)]`, one per write. `None` instead of a batch asks the process to finish the
server's checkpoint of the WAL before its next batch (`wal.finish_checkpoint`); it has no answer.

The server's end is an asyncio protocol on the loop (`WriterChannel`): its transport buffers what it sends
and hands over what arrives in pieces, whatever the size of a batch. (It used to read and write the socket
with multiprocessing's blocking `Connection` from a loop reader callback; uvloop's `add_reader` makes the
socket non-blocking, so a batch larger than the socket buffer — one 300 KB event, or a burst of 8 KB ones —
failed with BlockingIOError and was taken for a dead process.) The child keeps a blocking `Connection`.

The process is `python -c <bootstrap> PACKAGE_ROOT FD DB` (this copy of the package, whatever the working
directory holds). It ignores SIGINT and SIGTERM (Ctrl-C in a
terminal reaches the whole process group) and stops when the server closes its end, after finishing the
batch in hand, or when the server dies, for the same reason. No SQL here: `batch.py` does it.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from fake_pagerduty.store.batch import Write, apply_batch
from fake_pagerduty.store.events_connection import connect_events
from fake_pagerduty.store.wal import finish_checkpoint

Results = list  # [(ok, value or exception)], one per write of a batch

_SHORT = struct.Struct("!i")  # multiprocessing.connection's framing
_LONG = struct.Struct("!Q")


class WriterChannel(asyncio.Protocol):
    """The loop's end of the socket: frames out, frames in, each whole message handed to `on_results`."""

    def __init__(self, on_results: Callable[[Results], None], on_lost: Callable[[], None]) -> None:
        self._on_results = on_results
        self._on_lost = on_lost
        self._buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        while len(buffer) >= _SHORT.size:
            (size,) = _SHORT.unpack_from(buffer)
            start = _SHORT.size
            if size == -1:
                if len(buffer) < start + _LONG.size:
                    return
                (size,) = _LONG.unpack_from(buffer, start)
                start += _LONG.size
            if len(buffer) < start + size:
                return
            message = pickle.loads(memoryview(buffer)[start:start + size])
            del buffer[:start + size]
            self._on_results(message)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self._on_lost()

    def silence(self) -> None:
        """Hand nothing more to the store: it has given this process up."""
        self._on_results = self._on_lost = _ignore

    def send(self, value: Any) -> None:
        """Queue one message (the transport writes it as the socket takes it); OSError once the peer is gone."""
        if self.transport is None or self.transport.is_closing():
            raise ConnectionResetError("the events writer process has gone")
        data = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
        header = _SHORT.pack(len(data)) if len(data) <= 0x7FFFFFFF else _SHORT.pack(-1) + _LONG.pack(len(data))
        self.transport.writelines((header, data))


def _spawn(path: str) -> tuple[subprocess.Popen, socket.socket]:
    ours, theirs = socket.socketpair()
    with theirs:
        process = subprocess.Popen(
            [sys.executable, "-c", _BOOTSTRAP, _PACKAGE_ROOT, str(theirs.fileno()), path],
            pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL)
    return process, ours


def _ignore(*_: Any) -> None:
    pass


class WriterProcess:
    """The server's end: start the process, send batches; results arrive through `on_results`, and
    `on_lost` is called once if the process goes (or its socket closes) before `close`."""

    def __init__(self, process: subprocess.Popen, channel: WriterChannel) -> None:
        self._process = process
        self._channel = channel

    @classmethod
    async def start(cls, path: str, on_results: Callable[[Results], None],
                    on_lost: Callable[[], None]) -> WriterProcess:
        process, ours = _spawn(path)  # a fork and exec: a millisecond or two on the loop
        _, channel = await asyncio.get_running_loop().connect_accepted_socket(
            lambda: WriterChannel(on_results, on_lost), ours)
        return cls(process, channel)

    @property
    def pid(self) -> int:
        return self._process.pid

    def send(self, writes: list[Write]) -> None:
        self._channel.send(writes)

    def finish_checkpoint(self) -> None:
        """Have the process copy the rest of the WAL into the database before its next batch (no answer)."""
        self._channel.send(None)

    def close(self, timeout: float = 10.0) -> None:
        """Close our end (the process finishes what it has and exits) and wait for it. Blocking: call it
        on a thread, after `detach` on the loop."""
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def detach(self) -> None:
        """On the loop: stop hearing from the process (no `on_lost` after this) and close our end."""
        self._channel.silence()
        if self._channel.transport is not None:
            self._channel.transport.close()


def _send(conn: Connection, value: Any) -> None:
    """multiprocessing's framing, with plain pickle (its own pickler copies a table of reducers per call)."""
    conn.send_bytes(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))


def _recv(conn: Connection) -> Any:
    return pickle.loads(conn.recv_bytes())


# The child imports this very copy of the package, whatever the working directory or PYTHONPATH holds.
_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_BOOTSTRAP = "import sys; sys.path.insert(0, sys.argv[1]); from fake_pagerduty.store.writer_process import main; main()"


def main() -> None:
    """The child's entry point: `sys.argv` is [-c, package root, descriptor, database path]."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    serve(Connection(int(sys.argv[2])), sys.argv[3])


def serve(conn: Connection, path: str) -> None:
    db = connect_events(path)
    try:
        while True:
            try:
                writes = _recv(conn)
            except (EOFError, OSError):
                return
            if writes is None:
                finish_checkpoint(db)
                continue
            try:
                results = apply_batch(db, writes)
            except Exception as exc:  # the batch did not commit: every caller hears so
                results = [(False, exc)] * len(writes)
            try:
                _send(conn, results)
            except (pickle.PicklingError, TypeError, AttributeError):  # an exception that does not pickle
                _send(conn, [(ok, value if ok else RuntimeError(repr(value))) for ok, value in results])
            except OSError:
                return
    finally:
        db.close()

