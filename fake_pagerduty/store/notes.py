"""Incident notes: REST (`GET|POST /incidents/{id}/notes`) and the console's add-note form. A note is written
with its `annotate_log_entry` in one transaction. (No webhook: PagerDuty's `incident.annotated` carries the
note rather than the incident, which the sandbox's webhooks do not make yet; live pages still hear of it.)"""

from __future__ import annotations

from datetime import datetime

from fake_pagerduty.domain import ids
from fake_pagerduty.domain.clock import iso
from fake_pagerduty.domain.incident_change import IncidentChange
from fake_pagerduty.domain.notes import MAX_NOTES, TooManyNotes
from fake_pagerduty.store.assignments import user_reference
from fake_pagerduty.store.database import Database, dumps, loads
from fake_pagerduty.store.transitions import INSERT_LOG, log_params


class Notes:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def for_incident(self, incident_id: str) -> list[dict]:
        """An incident's notes, oldest first, `user` and `channel` decoded."""
        rows = await self._db.all("SELECT * FROM incident_notes WHERE incident_id = ? ORDER BY created_at, rowid",
                                  (incident_id,))
        return [{**dict(row), "user": loads(row["user"]), "channel": loads(row["channel"])} for row in rows]

    async def add(self, account_id: str, incident_id: str, user: dict, content: str, channel: str,
                  now: datetime) -> tuple[dict, list[IncidentChange]]:
        """Add a note by `user` (`id`, `name`) through `channel` (`api` or `website`): the note and the changes
        to publish. Raises TooManyNotes at PagerDuty's limit."""
        stamp = iso(now)
        author = user_reference(user["id"], user["name"])
        how = {"type": channel, "summary": "The PagerDuty website or APIs"}  # PagerDuty's words for both
        note = {"id": ids.short_id(), "account_id": account_id, "incident_id": incident_id, "user": author,
                "channel": how, "content": content, "created_at": stamp}
        changes = [IncidentChange(account_id, incident_id, "incident.annotated")]
        async with self._db.transaction() as db:
            async with db.execute("SELECT COUNT(*) FROM incident_notes WHERE incident_id = ?", (incident_id,)) as cur:
                (count,) = await cur.fetchone()
            if count >= MAX_NOTES:
                raise TooManyNotes(incident_id)
            await db.execute(
                "INSERT INTO incident_notes (id, account_id, incident_id, user, channel, content, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (note["id"], account_id, incident_id, dumps(author), dumps(how), content, stamp))
            await db.execute(INSERT_LOG, log_params(account_id, incident_id, None, "annotate_log_entry",
                                                    f"Note added by {user['name']}.", dumps(author),
                                                    {"type": "note", "summary": content}, None, stamp))
            await db.execute("UPDATE incidents SET updated_at = ? WHERE id = ?", (stamp, incident_id))
        return note, changes
