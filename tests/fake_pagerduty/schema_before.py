"""A database as it was before a migration, for the tests of what that migration keeps."""

from __future__ import annotations

import contextlib
import sqlite3

from fake_pagerduty.store.database import migrations


def database_before(path: str, migration: int) -> int:
    """Make `path` a database with the migrations below `migration` applied (no seed); its user_version."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        for number, sql in migrations():
            if number < migration:
                db.executescript(f"BEGIN;\n{sql}\nPRAGMA user_version = {number};\nCOMMIT;")
        return db.execute("PRAGMA user_version").fetchone()[0]
