"""The monitor's rows for Connect with OAuth: the authorization requests under way (state, PKCE verifier, the
browser session that started each) and the tokens it holds. Part of `store.Store` (it uses the store's
transaction and read helpers)."""

from __future__ import annotations


class OAuthRows:
    async def add_oauth_request(self, state: str, session_id: str, code_verifier: str, now: float) -> None:
        async with self._tx() as db:
            await db.execute("DELETE FROM oauth_requests WHERE created_at < ?", (now - 86400,))
            await db.execute(
                "INSERT INTO oauth_requests (state, session_id, code_verifier, created_at) VALUES (?, ?, ?, ?)",
                (state, session_id, code_verifier, now),
            )

    async def consume_oauth_request(self, state: str, session_id: str, now: float,
                                    max_age: float = 600) -> str | None:
        """The PKCE verifier of a request this browser session started, fresh and unused; it is used up. None if
        the state is unknown, another session's (left alone then) or too old."""
        async with self._tx() as db:
            cursor = await db.execute("SELECT * FROM oauth_requests WHERE state = ? AND session_id = ?",
                                      (state, session_id))
            row = await cursor.fetchone()
            if row is None:
                return None
            await db.execute("DELETE FROM oauth_requests WHERE state = ?", (state,))
            return row["code_verifier"] if now - row["created_at"] <= max_age else None

    async def get_oauth_tokens(self) -> dict | None:
        row = await self._one("SELECT * FROM oauth_tokens WHERE id = 1")
        return dict(row) if row else None

    async def save_oauth_tokens(self, *, access_token: str, refresh_token: str | None, expires_at: float,
                                scope: str, subdomain: str, now: str) -> None:
        async with self._tx() as db:
            await db.execute(
                "INSERT INTO oauth_tokens (id, access_token, refresh_token, expires_at, scope, subdomain, created_at) "
                "VALUES (1, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET access_token = excluded.access_token, "
                "refresh_token = excluded.refresh_token, expires_at = excluded.expires_at, scope = excluded.scope, "
                "subdomain = excluded.subdomain, created_at = excluded.created_at",
                (access_token, refresh_token, expires_at, scope, subdomain, now),
            )

    async def update_oauth_tokens(self, *, access_token: str, refresh_token: str | None, expires_at: float) -> None:
        async with self._tx() as db:
            await db.execute(
                "UPDATE oauth_tokens SET access_token = ?, refresh_token = COALESCE(?, refresh_token), "
                "expires_at = ? WHERE id = 1",
                (access_token, refresh_token, expires_at),
            )

    async def delete_oauth_tokens(self) -> None:
        async with self._tx() as db:
            await db.execute("DELETE FROM oauth_tokens WHERE id = 1")
