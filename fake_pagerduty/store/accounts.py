"""Accounts and who acts in them: users, REST API keys, sign-in sessions."""

from __future__ import annotations

from datetime import datetime

from fake_pagerduty.domain import ids
from fake_pagerduty.domain.clock import iso
from fake_pagerduty.store.database import Database
from fake_pagerduty.store.records import Conflict


class Accounts:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def upsert(self, *, id: str, subdomain: str, name: str, now: datetime) -> None:
        async with self._db.transaction() as db:
            await db.execute(
                "INSERT INTO accounts (id, subdomain, name, created_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(subdomain) DO UPDATE SET name = excluded.name",
                (id, subdomain, name, iso(now)),
            )

    async def upsert_user(
        self, *, id: str, account_id: str, name: str, email: str, password_hash: str, now: datetime
    ) -> None:
        async with self._db.transaction() as db:
            await db.execute(
                "INSERT INTO users (id, account_id, name, email, password_hash, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(email) DO UPDATE SET"
                " account_id = excluded.account_id, name = excluded.name, password_hash = excluded.password_hash",
                (id, account_id, name, email, password_hash, iso(now)),
            )

    async def upsert_api_key(self, *, token: str, account_id: str, description: str, now: datetime) -> None:
        async with self._db.transaction() as db:
            await db.execute(
                "INSERT INTO api_keys (token, account_id, description, created_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(token) DO UPDATE SET account_id = excluded.account_id,"
                " description = excluded.description",
                (token, account_id, description, iso(now)),
            )

    async def by_subdomain(self, subdomain: str) -> dict | None:
        return await self._db.first("SELECT * FROM accounts WHERE subdomain = ?", (subdomain,))

    async def by_id(self, account_id: str) -> dict | None:
        return await self._db.first("SELECT * FROM accounts WHERE id = ?", (account_id,))

    async def user_by_id(self, account_id: str, user_id: str) -> dict | None:
        return await self._db.first("SELECT * FROM users WHERE account_id = ? AND id = ?", (account_id, user_id))

    async def for_api_key(self, token: str) -> dict | None:
        """The account a REST API key (or OAuth bearer token) belongs to."""
        return await self._db.first(
            "SELECT a.* FROM api_keys k JOIN accounts a ON a.id = k.account_id WHERE k.token = ?", (token,)
        )

    async def user_by_email(self, account_id: str, email: str) -> dict | None:
        return await self._db.first("SELECT * FROM users WHERE account_id = ? AND email = ?", (account_id, email))

    async def user_for_sign_in(self, email: str) -> dict | None:
        """The user with this email (any case), with the password hash to check."""
        return await self._db.first("SELECT id, name, email, password_hash, account_id FROM users WHERE email = ?", (email,))

    async def create(
        self, *, subdomain: str, account_name: str, user_name: str, email: str, password_hash: str, now: datetime
    ) -> tuple[str, str]:
        """A new account with its first user; raises Conflict if the subdomain or email is taken."""
        account_id, user_id = ids.short_id(), ids.short_id()
        async with self._db.transaction() as db:
            async with db.execute("SELECT 1 FROM accounts WHERE subdomain = ?", (subdomain,)) as cursor:
                if await cursor.fetchone():
                    raise Conflict("subdomain", "That subdomain is taken; choose another.")
            async with db.execute("SELECT 1 FROM users WHERE email = ?", (email,)) as cursor:
                if await cursor.fetchone():
                    raise Conflict("email", "An account with that email already exists; sign in instead.")
            await db.execute(
                "INSERT INTO accounts (id, subdomain, name, created_at) VALUES (?, ?, ?, ?)",
                (account_id, subdomain, account_name, iso(now)),
            )
            await db.execute(
                "INSERT INTO users (id, account_id, name, email, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (user_id, account_id, user_name, email, password_hash, iso(now)),
            )
        return account_id, user_id

    async def create_session(
        self, *, id_hash: str, user_id: str, csrf_token: str, now: datetime, expires_at: datetime
    ) -> None:
        async with self._db.transaction() as db:
            await db.execute("DELETE FROM sessions WHERE expires_at <= ?", (iso(now),))
            await db.execute(
                "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                (id_hash, user_id, csrf_token, iso(now), iso(expires_at)),
            )

    async def session(self, id_hash: str, now: datetime) -> dict | None:
        """A live session with its user and account, or None."""
        return await self._db.first(
            "SELECT s.id_hash, s.csrf_token, s.expires_at, u.id AS user_id, u.name AS user_name, u.email,"
            " a.id AS account_id, a.subdomain, a.name AS account_name FROM sessions s"
            " JOIN users u ON u.id = s.user_id JOIN accounts a ON a.id = u.account_id"
            " WHERE s.id_hash = ? AND s.expires_at > ?",
            (id_hash, iso(now)),
        )

    async def delete_session(self, id_hash: str) -> None:
        async with self._db.transaction() as db:
            await db.execute("DELETE FROM sessions WHERE id_hash = ?", (id_hash,))
