"""The integration exams (issue 20): one row each, its progress while it runs and its result once graded."""

from __future__ import annotations

import json

from fake_pagerduty.store.database import Database, Where, dumps

RUNNING = "running"


def _exam(row) -> dict:
    exam = dict(row)
    exam["progress"] = json.loads(exam["progress"]) if exam["progress"] else {}
    exam["result"] = json.loads(exam["result"]) if exam["result"] else None
    return exam


class Exams:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, *, id: str, routing_key: str, vendor_key: str | None, seed: int, duration_seconds: float,
                  started_at: str, since_id: int, progress: dict) -> None:
        await self._db.write(
            "INSERT INTO exams (id, routing_key, vendor_key, seed, duration_seconds, status, started_at, since_id,"
            " progress) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (id, routing_key, vendor_key, seed, duration_seconds, RUNNING, started_at, since_id, dumps(progress)),
        )

    async def get(self, exam_id: str) -> dict | None:
        return await self._db.first("SELECT * FROM exams WHERE id = ?", (exam_id,), _exam)

    async def running(self) -> list[dict]:
        return [_exam(row) for row in await self._db.all("SELECT * FROM exams WHERE status = ?", (RUNNING,))]

    async def progress(self, exam_id: str, progress: dict) -> int:
        return await self._db.write("UPDATE exams SET progress = ? WHERE id = ? AND status = ?",
                                    (dumps(progress), exam_id, RUNNING))

    async def finish(self, exam_id: str, *, status: str, finished_at: str, progress: dict,
                     result: dict | None) -> int:
        return await self._db.write(
            "UPDATE exams SET status = ?, finished_at = ?, progress = ?, result = ? WHERE id = ? AND status = ?",
            (status, finished_at, dumps(progress), dumps(result) if result is not None else None, exam_id, RUNNING),
        )

    async def journal_rows(self, routing_key: str, after_id: int) -> list[dict]:
        """The journal rows for `routing_key` after `after_id`, oldest first."""
        rows = await self._db.all("SELECT * FROM events WHERE routing_key = ? AND id > ? ORDER BY id",
                                  (routing_key, after_id))
        return [dict(row) for row in rows]

    async def unknown(self, routing_key: str, vendor_key: str | None) -> list[str]:
        """What an exam would name that the sandbox does not have: 'routing_key', 'vendor_key'."""
        row = await self._db.one(
            "SELECT EXISTS (SELECT 1 FROM integrations WHERE integration_key = ?),"
            " ? IS NULL OR EXISTS (SELECT 1 FROM partner_apps WHERE vendor_key = ?)",
            (routing_key, vendor_key, vendor_key))
        return [name for name, known in zip(("routing_key", "vendor_key"), row, strict=True) if not known]

    async def webhook_target(self, routing_key: str, vendor_key: str | None) -> dict | None:
        """The partner app whose webhook the exam probes: the one named, else the one whose handshake made the
        key's integration (or its service)."""
        if vendor_key is None:
            row = await self._db.one(
                "SELECT COALESCE(i.vendor_key, s.vendor_key) FROM integrations i JOIN services s"
                " ON s.id = i.service_id WHERE i.integration_key = ?", (routing_key,))
            vendor_key = row[0] if row else None
        if vendor_key is None:
            return None
        return await self._db.first("SELECT vendor_key, app_id, webhook_url, webhook_secret FROM partner_apps"
                                    " WHERE vendor_key = ?", (vendor_key,))

    # ---- the passive report's rows --------------------------------------------------------------------------

    async def report_rows(self, name: str, value: str, *, since_id: int | None, since_time: str | None,
                          limit: int) -> tuple[list[dict], bool]:
        """The journal rows a report grades, oldest first: those of a routing key, of every key a partner app's
        handshakes made (`vendor_key`), or whose body names a `client`; at most the newest `limit` (and whether
        there were more)."""
        if name == "routing_key":
            where = Where(("routing_key = ?", value))
        elif name == "vendor_key":
            where = Where(("routing_key IN (SELECT i.integration_key FROM integrations i JOIN services s"
                           " ON s.id = i.service_id WHERE COALESCE(i.vendor_key, s.vendor_key) = ?)", value))
        else:
            where = Where(("CASE WHEN json_valid(CAST(raw_body AS TEXT))"
                           " THEN json_extract(CAST(raw_body AS TEXT), '$.client') END = ?", value))
        if since_id is not None:
            where.add("id >= ?", since_id)
        if since_time is not None:
            where.add("received_at >= ?", since_time)
        rows = await self._db.all(f"SELECT * FROM events{where.sql} ORDER BY id DESC LIMIT ?",
                                  [*where.params, limit + 1])
        found = [dict(row) for row in rows[:limit]]
        found.reverse()
        return found, len(rows) > limit

    async def resolved_at(self, incident_ids: list[str]) -> dict[str, str]:
        """When each of these incidents was resolved (those resolved only)."""
        found: dict[str, str] = {}
        unique = sorted(set(filter(None, incident_ids)))
        for start in range(0, len(unique), 500):
            part = unique[start:start + 500]
            rows = await self._db.all(f"SELECT id, resolved_at FROM incidents WHERE resolved_at IS NOT NULL AND id IN"
                                      f" ({', '.join('?' * len(part))})", part)
            found.update({row["id"]: row["resolved_at"] for row in rows})
        return found

    async def routing_keys_seen(self, limit: int = 50) -> list[dict]:
        """The routing keys in the journal, most recently used first, with how many requests each."""
        rows = await self._db.all("SELECT routing_key, COUNT(*) AS requests, MAX(id) AS last FROM events"
                                  " WHERE routing_key IS NOT NULL AND routing_key != '' GROUP BY routing_key"
                                  " ORDER BY last DESC LIMIT ?", (limit,))
        return [dict(row) for row in rows]
