"""OAuth 2.0 apps, their authorization codes and tokens (stored as SHA-256 hashes), and the ID tokens'
signing key."""

from __future__ import annotations

import json
from datetime import datetime

from fake_pagerduty.domain.clock import iso
from fake_pagerduty.store.database import Database, dumps, row_dict


def _app(row) -> dict:
    app = row_dict(row)
    app["redirect_uris"] = json.loads(app["redirect_uris"])
    app["scopes"] = json.loads(app["scopes"])
    return app


class OAuth:
    def __init__(self, db: Database) -> None:
        self._db = db

    # ---- apps ----------------------------------------------------------------------------------------------

    async def upsert_app(self, *, client_id: str, secret_hash: str, name: str, kind: str, client_type: str,
                         redirect_uris: list[str], scopes: list[str], account_id: str | None,
                         now: datetime) -> None:
        async with self._db.transaction() as db:
            await db.execute(
                "INSERT INTO oauth_apps (client_id, secret_hash, name, kind, client_type, redirect_uris, scopes,"
                " account_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(client_id) DO UPDATE SET secret_hash = excluded.secret_hash, name = excluded.name,"
                " kind = excluded.kind, client_type = excluded.client_type,"
                " redirect_uris = excluded.redirect_uris, scopes = excluded.scopes,"
                " account_id = excluded.account_id",
                (client_id, secret_hash, name, kind, client_type, dumps(redirect_uris), dumps(scopes), account_id,
                 iso(now)),
            )

    async def apps(self) -> list[dict]:
        """Every app, without its secret's hash."""
        rows = await self._db.all("SELECT * FROM oauth_apps ORDER BY created_at, client_id")
        return [{k: v for k, v in _app(r).items() if k != "secret_hash"} for r in rows]

    async def app(self, client_id: str) -> dict | None:
        return await self._db.first("SELECT * FROM oauth_apps WHERE client_id = ?", (client_id,), _app)

    async def delete_app(self, client_id: str) -> int:
        return await self._db.write("DELETE FROM oauth_apps WHERE client_id = ?", (client_id,))

    # ---- codes ---------------------------------------------------------------------------------------------

    async def create_code(self, *, code_hash: str, client_id: str, account_id: str, user_id: str,
                          redirect_uri: str, scopes: str, code_challenge: str | None,
                          code_challenge_method: str | None, expires_at: datetime) -> None:
        async with self._db.transaction() as db:
            await db.execute(
                "INSERT INTO oauth_codes (code_hash, client_id, account_id, user_id, redirect_uri, scopes,"
                " code_challenge, code_challenge_method, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (code_hash, client_id, account_id, user_id, redirect_uri, scopes, code_challenge,
                 code_challenge_method, iso(expires_at)),
            )

    async def take_code(self, code_hash: str) -> dict | None:
        """The code's row, marked used in the same transaction (`used` in the answer is what it was before):
        a code is tried once, whatever the outcome."""
        async with self._db.transaction() as db:
            async with db.execute("SELECT * FROM oauth_codes WHERE code_hash = ?", (code_hash,)) as cursor:
                row = await cursor.fetchone()
            if row is None:
                return None
            await db.execute("UPDATE oauth_codes SET used = 1 WHERE code_hash = ?", (code_hash,))
            return row_dict(row)

    # ---- tokens --------------------------------------------------------------------------------------------

    async def issue(self, tokens: list[dict], *, revoke_hash: str | None = None) -> bool:
        """Store `tokens` (dicts of the oauth_tokens columns) in one transaction; with `revoke_hash`, only if
        that (refresh) token is still live, which is revoked in the same transaction. False if it was not."""
        async with self._db.transaction() as db:
            if revoke_hash is not None:
                cursor = await db.execute(
                    "UPDATE oauth_tokens SET revoked = 1 WHERE token_hash = ? AND revoked = 0", (revoke_hash,))
                if cursor.rowcount != 1:
                    return False
            for token in tokens:
                await db.execute(
                    "INSERT INTO oauth_tokens (token_hash, kind, client_id, account_id, user_id, scopes,"
                    " expires_at, refresh_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (token["token_hash"], token["kind"], token["client_id"], token["account_id"],
                     token.get("user_id"), token["scopes"], iso(token["expires_at"]), token.get("refresh_hash"),
                     iso(token["created_at"])),
                )
        return True

    async def token(self, token_hash: str) -> dict | None:
        return await self._db.first("SELECT * FROM oauth_tokens WHERE token_hash = ?", (token_hash,), row_dict)

    async def revoke(self, token_hash: str, client_id: str) -> int:
        """Revoke a token of `client_id`, and the access tokens issued with it when it is a refresh token."""
        async with self._db.transaction() as db:
            cursor = await db.execute(
                "UPDATE oauth_tokens SET revoked = 1 WHERE token_hash = ? AND client_id = ?",
                (token_hash, client_id))
            await db.execute(
                "UPDATE oauth_tokens SET revoked = 1 WHERE refresh_hash = ? AND kind = 'access' AND client_id = ?",
                (token_hash, client_id))
            return cursor.rowcount

    # ---- a person's authorized apps (the console's "Authorized apps") ------------------------------------------

    async def authorized_apps(self, account_id: str, user_id: str, now: datetime) -> list[dict]:
        """The apps holding a live (unrevoked, unexpired) token of this user: client_id, name, the scopes of
        those tokens and when the oldest was issued; by name."""
        rows = await self._db.all(
            "SELECT t.client_id, a.name, t.scopes, t.created_at FROM oauth_tokens t"
            " JOIN oauth_apps a ON a.client_id = t.client_id"
            " WHERE t.account_id = ? AND t.user_id = ? AND t.revoked = 0 AND t.expires_at > ?"
            " ORDER BY t.created_at, t.client_id", (account_id, user_id, iso(now)))
        apps: dict[str, dict] = {}
        for row in rows:
            app = apps.setdefault(row["client_id"], {"client_id": row["client_id"], "name": row["name"],
                                                     "scopes": [], "authorized_at": row["created_at"]})
            app["scopes"] += [s for s in row["scopes"].split() if s not in app["scopes"]]
        return sorted(apps.values(), key=lambda a: (a["name"].lower(), a["client_id"]))

    async def revoke_user_app(self, account_id: str, user_id: str, client_id: str) -> int:
        """Every token of `client_id` for this user stops working, and its unused codes with them. How many
        live tokens there were."""
        async with self._db.transaction() as db:
            cursor = await db.execute(
                "UPDATE oauth_tokens SET revoked = 1 WHERE client_id = ? AND account_id = ? AND user_id = ?"
                " AND revoked = 0", (client_id, account_id, user_id))
            await db.execute(
                "UPDATE oauth_codes SET used = 1 WHERE client_id = ? AND account_id = ? AND user_id = ?",
                (client_id, account_id, user_id))
            return cursor.rowcount

    # ---- the ID tokens' signing key --------------------------------------------------------------------------

    async def signing_key(self) -> tuple[str, str] | None:
        """(kid, private key PEM) of the ID tokens' key, or None before the first is kept."""
        row = await self._db.one("SELECT kid, private_pem FROM oauth_signing_keys ORDER BY created_at, kid LIMIT 1")
        return (row[0], row[1]) if row else None

    async def keep_signing_key(self, kid: str, pem: str, now: datetime) -> tuple[str, str]:
        """Keep a key made by the caller, unless one was kept meanwhile: the key to use, either way."""
        async with self._db.transaction() as db:
            async with db.execute("SELECT kid, private_pem FROM oauth_signing_keys LIMIT 1") as cursor:
                row = await cursor.fetchone()
            if row:
                return row[0], row[1]
            await db.execute("INSERT INTO oauth_signing_keys (kid, private_pem, created_at) VALUES (?, ?, ?)",
                             (kid, pem, iso(now)))
        return kid, pem
