"""The access keys localcloud accepts when it checks signatures (``--verify-signatures``).

Keys are read from a file in the AWS shared credentials format (the format of
``~/.aws/credentials``): every profile's ``aws_access_key_id`` / ``aws_secret_access_key`` pair is
accepted. By default the file is ``<home>/credentials``; when it does not exist, localcloud
creates it (mode 0600) with one random key pair under the profile ``localcloud``, which
meterpipe's CLI uses. Add profiles to accept more keys; the file is read again when it changes.

localcloud's own callers (its Step Functions integrations, Athena's reads of S3, Lambda functions
calling back with the credentials of their environment) sign with a key made for each run, held in
memory only.
"""

from __future__ import annotations

import configparser
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

KEYS_FILE = "credentials"
PROFILE = "localcloud"


class KeysFileError(ValueError):
    pass


@dataclass(frozen=True)
class KeyPair:
    access_key: str
    secret_key: str


def random_pair(prefix: str) -> KeyPair:
    return KeyPair(f"{prefix}{secrets.token_hex(8).upper()}", secrets.token_urlsafe(30))


def ensure_keys_file(path: Path) -> Path:
    """Create ``path`` with one random pair under [localcloud] if it does not exist."""
    if not path.exists():
        pair = random_pair("LCKEY")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(
                "# Access keys localcloud accepts with --verify-signatures (AWS shared credentials\n"
                "# format: add a profile to accept another key). meterpipe's CLI uses [localcloud].\n"
                f"[{PROFILE}]\naws_access_key_id = {pair.access_key}\n"
                f"aws_secret_access_key = {pair.secret_key}\n"
            )
    return path


def read_pairs(path: Path) -> dict[str, KeyPair]:
    """profile -> key pair, for every profile of the file holding both keys."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(path.read_text())
    except (OSError, configparser.Error) as exc:
        raise KeysFileError(f"cannot read the keys file {path}: {exc}") from exc
    pairs = {}
    for profile in parser.sections():
        section = parser[profile]
        key, secret = section.get("aws_access_key_id"), section.get("aws_secret_access_key")
        if key and secret:
            pairs[profile] = KeyPair(key.strip(), secret.strip())
    return pairs


class KeyStore:
    """access key -> secret: the keys file's pairs (read again when the file changes) plus
    localcloud's own key of this run."""

    def __init__(self, path: Path | None, *, own: KeyPair) -> None:
        self.path = path
        self.own = own
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._secrets: dict[str, str] = {}
        if path is not None:
            self._reload()

    def secret(self, access_key: str) -> str | None:
        if access_key == self.own.access_key:
            return self.own.secret_key
        if self.path is not None:
            self._reload()
        return self._secrets.get(access_key)

    def _reload(self) -> None:
        assert self.path is not None
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._secrets, self._stamp = {}, None
            return
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if stamp != self._stamp:
                pairs = read_pairs(self.path)
                self._secrets = {pair.access_key: pair.secret_key for pair in pairs.values()}
                self._stamp = stamp
