"""Passwords are hashed with OWASP's Argon2id parameters; a test process (this one: tests/conftest.py) may make its
hashes with Argon2's smallest instead, and a hash made either way still verifies."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys

import argon2
from argon2 import PasswordHasher

from fake_pagerduty import passwords
from tests.fake_pagerduty.webpages import sign_in


def _parameters(password_hash: str) -> tuple[int, int, int]:
    found = argon2.extract_parameters(password_hash)
    return found.time_cost, found.memory_cost, found.parallelism


def test_a_process_that_did_not_ask_for_test_parameters_hashes_with_owasps():
    made = subprocess.run(
        [sys.executable, "-c", "from fake_pagerduty.passwords import hash_password as h; print(h('demo'))"],
        capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    assert made.startswith("$argon2id$")
    assert _parameters(made) == (2, 19 * 1024, 1)
    assert passwords.verify_password(made, "demo") and not passwords.verify_password(made, "Demo")


def test_this_process_hashes_with_the_test_parameters_and_verifies_hashes_made_either_way():
    cheap = passwords.hash_password("demo")
    assert cheap.startswith("$argon2id$") and _parameters(cheap) == (1, 8, 1)
    assert passwords.verify_password(cheap, "demo") and not passwords.verify_password(cheap, "demo ")
    people_s = PasswordHasher(**passwords.PARAMETERS).hash("demo")
    assert passwords.verify_password(people_s, "demo") and not passwords.verify_password(people_s, "")
    # an unknown email is checked against a stand-in with the parameters in force, and never matches
    assert not passwords.check_sign_in(None, "demo")
    assert _parameters(passwords._stand_in_hash()) == (1, 8, 1)


async def test_the_seeded_people_sign_in_with_hashes_made_with_the_test_parameters(sandbox_settings, sandbox):
    assert (await sign_in(sandbox)).status_code == 303
    with contextlib.closing(sqlite3.connect(sandbox_settings.db_path)) as db:
        hashes = [row[0] for row in db.execute("SELECT password_hash FROM users")]
    assert hashes and {_parameters(h) for h in hashes} == {(1, 8, 1)}
