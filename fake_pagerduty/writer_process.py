"""The events writer in a process of its own, so that SQLite's work does not share the web server's GIL.

`fake-pagerduty serve` applies Events API writes here (see `Store`'s group commit): the event loop sends a
batch of writes down a socket, this process applies them in one transaction on its own connection, COMMITs
and sends the results back. Only then does the loop answer the batch's callers, so a 2xx still means
committed.

A write is data, not a closure: `(function, *args)`, where `function` is a module-level function of
`store.py` taking the connection first; batches and results cross as pickles in multiprocessing's framing.
Results are `[(ok, value or exception)]`, one per write. `None` instead of a batch asks the process to
finish the server's checkpoint of the WAL before its next batch (`store.finish_checkpoint`); it has no answer.

The process is `python -c <bootstrap> PACKAGE_ROOT FD DB` (this copy of the package, whatever the working
directory holds). It ignores SIGINT and SIGTERM (Ctrl-C in a
terminal reaches the whole process group) and stops when the server closes its end, after finishing the
batch in hand, or when the server dies, for the same reason. No SQL here: the store's functions do it.
"""

from __future__ import annotations

import os
import pickle
import signal
import socket
import subprocess
import sys
from multiprocessing.connection import Connection
from typing import Any

Write = tuple  # (function, *args)


class WriterProcess:
    """The server's end: start the process, send batches, read results (`fileno` for the loop's reader)."""

    def __init__(self, path: str) -> None:
        ours, theirs = socket.socketpair()
        with ours, theirs:
            self._process = subprocess.Popen(
                [sys.executable, "-c", _BOOTSTRAP, _PACKAGE_ROOT, str(theirs.fileno()), path],
                pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL)
            self._conn = Connection(ours.detach())

    @property
    def pid(self) -> int:
        return self._process.pid

    def fileno(self) -> int:
        return self._conn.fileno()

    def send(self, writes: list[Write]) -> None:
        _send(self._conn, writes)

    def finish_checkpoint(self) -> None:
        """Have the process copy the rest of the WAL into the database before its next batch (no answer)."""
        _send(self._conn, None)

    def recv(self) -> list[tuple[bool, Any]]:
        """One batch's results; EOFError or OSError if the process has gone."""
        return _recv(self._conn)

    def close(self, timeout: float = 10.0) -> None:
        """Close our end (the process finishes what it has and exits) and wait for it."""
        self._conn.close()
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def _send(conn: Connection, value: Any) -> None:
    """multiprocessing's framing, with plain pickle (its own pickler copies a table of reducers per call)."""
    conn.send_bytes(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))


def _recv(conn: Connection) -> Any:
    return pickle.loads(conn.recv_bytes())


# The child imports this very copy of the package, whatever the working directory or PYTHONPATH holds.
_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_BOOTSTRAP = "import sys; sys.path.insert(0, sys.argv[1]); from fake_pagerduty.writer_process import main; main()"


def main() -> None:
    """The child's entry point: `sys.argv` is [-c, package root, descriptor, database path]."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    serve(Connection(int(sys.argv[2])), sys.argv[3])


def serve(conn: Connection, path: str) -> None:
    from fake_pagerduty.store import apply_batch, connect_events, finish_checkpoint  # the store imports this

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

