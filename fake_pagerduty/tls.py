"""HTTPS for the sandbox: a local CA, created once and kept, and a server certificate issued from it.

The CA lives in a directory of its own (`--ca-dir`, else `<db dir>/fake-pagerduty-ca/`, else
`~/.local/share/fake-pagerduty/ca/` for `:memory:`) as `ca.pem` (certificate, safe to share) and
`ca-key.pem` (private key, mode 0600). The server certificate is issued afresh at every start for
127.0.0.1, ::1, localhost (and the bound host), and handed to uvicorn through a private temporary file.
Clients trust the sandbox by trusting `ca.pem`, e.g. `ssl.create_default_context(cafile=".../ca.pem")`.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from fake_pagerduty.settings import Settings

CA_CERT_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"
LOCK_FILE = ".lock"
LOOPBACK_NAMES = ("127.0.0.1", "::1", "localhost")
WILDCARD_HOSTS = ("", "0.0.0.0", "::")


def ca_dir(settings: Settings) -> Path:
    """Where this sandbox keeps its CA: `--ca-dir`, else next to the database file, else in the user's data dir."""
    if settings.ca_dir:
        return Path(settings.ca_dir).expanduser()
    if settings.db_path and settings.db_path != ":memory:":
        return Path(settings.db_path).expanduser().resolve().parent / "fake-pagerduty-ca"
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "fake-pagerduty" / "ca"


def ca_cert_path(settings: Settings) -> Path:
    return ca_dir(settings) / CA_CERT_FILE


def server_names(settings: Settings) -> list[str]:
    """The names the server certificate is valid for: loopback, plus the bound host if it is a specific one."""
    names = list(LOOPBACK_NAMES)
    host = settings.host.strip("[]")
    if host not in WILDCARD_HOSTS and host not in names:
        names.append(host)
    return names


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Serialise CA creation between processes that share a CA directory."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no cross-process lock, creation is still atomic per file
        yield
        return
    with open(directory / LOCK_FILE, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner can read, atomically."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


@dataclass(frozen=True)
class LocalCA:
    """The sandbox's certificate authority, as kept on disk."""

    directory: Path
    created: bool  # True when this call made it, False when it was already there

    @property
    def cert_path(self) -> Path:
        return self.directory / CA_CERT_FILE

    @property
    def key_path(self) -> Path:
        return self.directory / CA_KEY_FILE

    @property
    def cert_pem(self) -> str:
        return self.cert_path.read_text(encoding="ascii")

    def _trustme(self):
        import trustme

        return trustme.CA.from_pem(self.cert_path.read_bytes(), self.key_path.read_bytes())

    @contextlib.contextmanager
    def server_cert_file(self, names: list[str]) -> Iterator[str]:
        """A fresh server certificate for `names`: key + chain in one private temporary PEM file."""
        leaf = self._trustme().issue_cert(*names, organization_name="fake-pagerduty",
                                          organization_unit_name="sandbox server")
        with leaf.private_key_and_cert_chain_pem.tempfile() as path:
            yield path


def load_or_create_ca(directory: Path) -> LocalCA:
    """The CA in `directory`, creating it on first use. Safe when several sandboxes start at once."""
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / CA_CERT_FILE, directory / CA_KEY_FILE
    if cert_path.exists() and key_path.exists():
        return LocalCA(directory, created=False)
    with _locked(directory):
        if cert_path.exists() and key_path.exists():
            return LocalCA(directory, created=False)
        import trustme

        ca = trustme.CA(
            organization_name="fake-pagerduty",
            organization_unit_name=f"fake-pagerduty local CA {secrets.token_hex(4)}",
        )
        # The key first: a cert file without its key is never left behind as a "complete" CA.
        _write_private(key_path, ca.private_key_pem.bytes())
        tmp = cert_path.with_name(f".{CA_CERT_FILE}.{secrets.token_hex(4)}.tmp")
        tmp.write_bytes(ca.cert_pem.bytes())
        os.replace(tmp, cert_path)
    return LocalCA(directory, created=True)

