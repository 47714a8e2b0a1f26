"""Sign-in throttling per client address as well as per email, and unknown emails costing what wrong
passwords cost (no enumeration by timing: both go through the same Argon2 check; no timed assertions)."""

from __future__ import annotations

import argon2
import httpx

from fake_pagerduty import passwords
from tests.fake_pagerduty.webpages import sign_in


def browser(app, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 51000))
    return httpx.AsyncClient(transport=transport, base_url="http://sandbox.test")


async def test_many_different_emails_from_one_address_get_the_429_page(sandbox_app):
    async with browser(sandbox_app, "10.0.0.7") as attacker:
        answers = [await sign_in(attacker, email=f"guess{n}@acme.test", password="wrong") for n in range(30)]
        assert {a.status_code for a in answers} == {400}
        blocked = await sign_in(attacker, email="another@acme.test", password="wrong")
        assert blocked.status_code == 429
        assert "Too many failed sign-in attempts" in blocked.text  # the per-email throttle's page
        # Even the right password waits, from that address: a success would not tell the guesser anything new.
        assert (await sign_in(attacker)).status_code == 429
    # Someone at another address is not affected.
    async with browser(sandbox_app, "10.0.0.8") as someone:
        assert (await sign_in(someone)).status_code == 303
    # Five minutes later the address may try again.
    sandbox_app.state.clock.advance(301)
    async with browser(sandbox_app, "10.0.0.7") as attacker:
        assert (await sign_in(attacker)).status_code == 303


async def test_a_success_does_not_reset_the_address_count(sandbox_app):
    """Otherwise signing in to an account of one's own between guesses would lift the limit."""
    async with browser(sandbox_app, "10.0.0.9") as attacker:
        for n in range(29):
            assert (await sign_in(attacker, email=f"guess{n}@acme.test", password="wrong")).status_code == 400
        assert (await sign_in(attacker)).status_code == 303
        attacker.cookies.clear()
        assert (await sign_in(attacker, email="guess-last@acme.test", password="wrong")).status_code == 400
        assert (await sign_in(attacker, email="one-more@acme.test", password="wrong")).status_code == 429


async def test_an_unknown_email_is_checked_against_an_argon2_hash_too(sandbox, monkeypatch):
    verified: list[str] = []
    real = passwords.verify_password

    def spy(password_hash: str, password: str) -> bool:
        verified.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(passwords, "verify_password", spy)
    assert (await sign_in(sandbox, email="nobody@acme.test", password="guess")).status_code == 400
    assert (await sign_in(sandbox, email="", password="guess")).status_code == 400
    assert (await sign_in(sandbox, password="wrong")).status_code == 400
    assert len(verified) == 3
    # The stand-in hash has the very parameters of people's hashes, so it costs the same to check.
    stand_in, _, real_hash = verified
    assert stand_in != real_hash
    assert argon2.extract_parameters(stand_in) == argon2.extract_parameters(real_hash)
    assert verified[0] == verified[1]  # made once
    assert not passwords.check_sign_in(None, "")


async def test_a_full_reset_forgets_failed_sign_ins_per_address_and_per_email_and_a_plain_reset_does_not(
        sandbox_app, sandbox):
    """README's reset table: `full=true` forgets failed sign-ins; a plain reset leaves them be."""
    async with browser(sandbox_app, "10.0.0.7") as attacker, browser(sandbox_app, "10.0.0.8") as dana:
        for n in range(30):  # as many emails: the address's window blocks, not an email's
            assert (await sign_in(attacker, email=f"guess{n}@acme.test", password="wrong")).status_code == 400
        for _ in range(10):
            assert (await sign_in(dana, password="wrong")).status_code == 400
        assert (await sign_in(attacker)).status_code == 429
        assert (await sign_in(dana)).status_code == 429

        assert (await sandbox.post("/_sandbox/reset")).status_code == 200
        assert (await sign_in(attacker)).status_code == 429
        assert (await sign_in(dana)).status_code == 429

        assert (await sandbox.post("/_sandbox/reset", params={"full": "true"})).status_code == 200
        assert (await sign_in(attacker)).status_code == 303
        attacker.cookies.clear()
        assert (await sign_in(dana)).status_code == 303


async def test_a_success_clears_that_emails_count_and_no_other(sandbox_app):
    """Nine wrong passwords for each of two emails, then the demo user signs in: the other email still has one
    try left before its 429 page."""
    async with browser(sandbox_app, "10.0.0.10") as someone:
        for _ in range(9):
            assert (await sign_in(someone, password="wrong")).status_code == 400
            assert (await sign_in(someone, email="other@acme.test", password="wrong")).status_code == 400
        assert (await sign_in(someone)).status_code == 303
        someone.cookies.clear()
        assert (await sign_in(someone, email="other@acme.test", password="wrong")).status_code == 400
        assert (await sign_in(someone, email="other@acme.test", password="wrong")).status_code == 429
        assert (await sign_in(someone, password="wrong")).status_code == 400  # the demo user's count starts again
