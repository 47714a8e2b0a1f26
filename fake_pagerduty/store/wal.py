"""Checkpointing the WAL, which belongs with the events writer: a checkpointer task on a thread and
connection of its own copies the WAL back into the database off the write path, and has the events writer
copy what it left between two batches, so the WAL starts again from its beginning while events keep coming
and is truncated once they stop (see `checkpoint_wal`)."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

logger = logging.getLogger("fake_pagerduty.store")

CHECKPOINT_SECONDS = 1.0

CHECKPOINT_PASSES = 4  # at most, in a row, while each finds more than CHECKPOINT_LEFT_FRAMES new frames

CHECKPOINT_LEFT_FRAMES = 256  # 1 MB: little enough for the events writer to copy between two batches

# The fixtures' reset, on the events connection (`events_connection.EventsConnection.restore`), has SQLite copy the WAL
# into the database after its COMMIT once the WAL holds this many frames (4 MB): see `RESET_AUTOCHECKPOINT`.
RESET_CHECKPOINT_FRAMES = 1000

# Around the reset's COMMIT: SQLite's own autocheckpoint, a PASSIVE pass run right after that COMMIT when the
# WAL holds RESET_CHECKPOINT_FRAMES frames or more. A test of a partner's loop writes ~50 pages (~200 KB: its
# reset and its trigger) and there are 300-600 a second in-process: the checkpointer's passes, once a second,
# let the WAL grow to one second of tests between two restarts (~130 MB here; the faster the machine, the
# larger), in a file that keeps its largest size until the suite ends. Copied at the reset instead, the next
# batch finds the WAL copied and writes it again from its beginning: it stays under ~4 MB. The reset is not
# the events hot path: no event waits on its COMMIT.
RESET_AUTOCHECKPOINT = (f"PRAGMA wal_autocheckpoint={RESET_CHECKPOINT_FRAMES}", "PRAGMA wal_autocheckpoint=0")


async def checkpoint_wal(path: str, commits: Callable[[], int], finish: Callable[[], None]) -> None:
    """Copy the WAL back into the database on a thread and connection of its own, off the write path, and
    keep it from growing without bound while events keep coming.

    The events connection never checkpoints itself (`wal_autocheckpoint=0`): a checkpoint inside a
    COMMIT stalls every event waiting on that batch for tens of milliseconds. PASSIVE never blocks writers,
    but under a steady stream it never catches up either — SQLite starts the WAL again from its beginning
    only when a write begins with every frame copied — and the WAL grew without bound at full load
    (figures in docs/benchmarks.md, fifth pass). So after its passes (`copy_wal`)
    this task has the events writer copy what they left, between two batches (`finish_checkpoint`): the
    WAL then starts again, and stays the size of one interval's writes. After an interval with no events
    it is truncated (`shrink_wal`). The fixtures' reset copies it too, when it is large (`RESET_AUTOCHECKPOINT`).
    """
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(1, thread_name_prefix="sqlite-checkpoint") as thread:
        conn = await loop.run_in_executor(thread, _connect_checkpointer, path)
        try:
            done, shrink = 0, False
            while True:
                await asyncio.sleep(CHECKPOINT_SECONDS)
                try:
                    if commits() != done:
                        done, shrink = commits(), True
                        if await loop.run_in_executor(thread, copy_wal, conn):
                            finish()
                    elif shrink:
                        shrink = not await loop.run_in_executor(thread, shrink_wal, conn)
                except sqlite3.Error:  # the WAL keeps every frame: nothing is lost, try again next time
                    logger.exception("checkpointing the WAL failed")
        finally:
            await asyncio.shield(loop.run_in_executor(thread, conn.close))


def _connect_checkpointer(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    # Only `shrink_wal` waits for a lock (PASSIVE never does): it waits for the writers and blocks new ones
    # while it waits, so it gives up quickly and tries again after the next quiet interval.
    conn.execute("PRAGMA busy_timeout=50")
    return conn


def copy_wal(conn: sqlite3.Connection) -> bool:
    """The checkpointer's passes: copy the WAL into the database, beside the events writer (PASSIVE), pass
    after pass while each finds many new frames. True when little is left for `finish_checkpoint`."""
    copied = None
    for _ in range(CHECKPOINT_PASSES):
        busy, frames, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if busy or frames < 0:
            return False
        if copied is not None and frames - copied <= CHECKPOINT_LEFT_FRAMES:
            return True
        copied = frames
    return False  # events come faster than this disk copies them: the writer is not held up for it


def finish_checkpoint(conn: sqlite3.Connection) -> None:
    """On the events connection, between two batches: copy what was committed since the checkpointer's
    passes, so that the next batch finds the whole WAL copied and SQLite writes it again from its
    beginning. Takes a millisecond or a few, against a WAL that otherwise grows for as long as events come.
    A failure here loses nothing (the WAL still holds every frame); it is logged and the writer goes on."""
    try:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    except sqlite3.Error:
        logger.exception("checkpointing the WAL failed")


def shrink_wal(conn: sqlite3.Connection) -> bool:
    """After an interval without events: copy the rest of the WAL and truncate it to nothing (the disk it
    held is given back). False if a reader or writer was busy: the caller tries again later."""
    (busy, _, _) = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return not busy
