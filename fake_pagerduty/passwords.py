"""Password hashing with Argon2 (argon2-cffi): the standard KDF for people's sandbox passwords."""

from __future__ import annotations

import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# Light parameters: these are sandbox passwords, and sign-in must stay quick in CI. OWASP's minimum for Argon2id.
PARAMETERS = {"time_cost": 2, "memory_cost": 19 * 1024, "parallelism": 1}
# Argon2's smallest: a test process that signs in hundreds of times (the fast tier: ~400 sign-ins, ~35 ms each
# with PARAMETERS) makes its hashes with these instead (`use_test_parameters`). Verifying reads the parameters
# from the hash itself, so a hash made either way verifies.
TEST_PARAMETERS = {"time_cost": 1, "memory_cost": 8, "parallelism": 1}
_hasher = PasswordHasher(**PARAMETERS)


def use_test_parameters() -> None:
    """Make this process's new hashes (seeded people, sign-ups, the stand-in for unknown emails) with Argon2's
    smallest parameters: for test suites only, never for a sandbox people sign in to."""
    global _hasher
    _hasher = PasswordHasher(**TEST_PARAMETERS)
    _stand_in_hash.cache_clear()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _stand_in_hash() -> str:
    """A hash of a random password, with the same parameters as people's: made once, matched by nothing."""
    return _hasher.hash(secrets.token_urlsafe(32))


def check_sign_in(password_hash: str | None, password: str) -> bool:
    """The one check every sign-in goes through. With no user (`password_hash` None), the password is verified
    against a stand-in hash all the same, so an unknown email costs what a wrong password does and the answer's
    timing does not tell which emails have accounts."""
    if password_hash is None:
        verify_password(_stand_in_hash(), password)
        return False
    return verify_password(password_hash, password)
