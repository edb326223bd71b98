"""The local profile directory of one device: keys, group states, history, all encrypted
(decision record 0900).

::

    DIR/profile.json   public header: format, Argon2id parameters, the passphrase check value
    DIR/profile.db     SQLite: every value sealed with the profile key (enseal.crypto.profile_key)
    DIR/ca.pem         the server's CA certificate (public), copied at registration
    DIR/lock           held (flock) by the one process that has the profile open

In ``profile.db`` a record's name is stored only as a keyed tag (HMAC under the profile key)
and its value is AES-256-GCM-sealed with the name as associated data; history rows are sealed
with their conversation's tag and row number. So the file shows how many records and rows there
are and their sizes, never a group id, a peer, a key or a message. SQLite transactions make the
update of a group, its history and the mailbox position one atomic step (nothing is processed
twice or lost after a crash).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Final

from enseal.client.errors import ProfileBusy, ProfileError, ProfileExists, ProfileNotFound
from enseal.crypto import RandomSource, system_random
from enseal.crypto.profile_key import KdfParameters, ProfileKey
from enseal.errors import AuthenticationError

HEADER_FILE: Final = "profile.json"
DATABASE_FILE: Final = "profile.db"
CA_FILE: Final = "ca.pem"
LOCK_FILE: Final = "lock"
HEADER_FORMAT: Final = "enseal-profile"
HEADER_VERSION: Final = 1
MAX_HISTORY_ROWS: Final = 100_000
"""Rows of history one conversation keeps; older rows are dropped first."""

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS records (tag BLOB PRIMARY KEY, sealed BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS history (
    row INTEGER PRIMARY KEY AUTOINCREMENT, conversation BLOB NOT NULL, sealed BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS history_by_conversation ON history (conversation, row);
"""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, readable by the owner only."""
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    temporary.replace(path)


class ProfileStore:
    """An open profile. Create with :meth:`create` or :meth:`open`; :meth:`close` releases it."""

    def __init__(self, directory: Path, key: ProfileKey, lock: IO[str], *, random_bytes: RandomSource) -> None:
        self.directory = directory
        self._key = key
        self._lock = lock
        self._random = random_bytes
        self._db = sqlite3.connect(directory / DATABASE_FILE, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._depth = 0

    # -- opening -----------------------------------------------------------------------------------

    @staticmethod
    def exists(directory: Path) -> bool:
        return (directory / HEADER_FILE).exists()

    @staticmethod
    def _acquire(directory: Path) -> IO[str]:
        lock = (directory / LOCK_FILE).open("a+")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            lock.seek(0)
            holder = lock.read().strip() or "?"
            lock.close()
            raise ProfileBusy(f"the profile {directory} is in use by another enseal process (pid {holder})") from exc
        lock.seek(0)
        lock.truncate()
        lock.write(str(os.getpid()))
        lock.flush()
        return lock

    @classmethod
    def create(cls, directory: Path, passphrase: str, *, random_bytes: RandomSource = system_random) -> ProfileStore:
        """A new, empty profile in ``directory`` (created with mode 0700)."""
        if cls.exists(directory):
            raise ProfileExists(f"a profile already exists in {directory}")
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        lock = cls._acquire(directory)
        try:
            parameters = KdfParameters.new(random_bytes)
            key = ProfileKey.derive(passphrase, parameters)
            header = {
                "format": HEADER_FORMAT,
                "version": HEADER_VERSION,
                "kdf": {
                    "algorithm": "argon2id",
                    "salt": _b64(parameters.salt),
                    "iterations": parameters.iterations,
                    "lanes": parameters.lanes,
                    "memory_kib": parameters.memory_kib,
                },
                "check": _b64(key.check_value(random_bytes)),
            }
            (directory / DATABASE_FILE).unlink(missing_ok=True)
            store = cls(directory, key, lock, random_bytes=random_bytes)
            _write_private(directory / HEADER_FILE, json.dumps(header, indent=2).encode() + b"\n")
            return store
        except BaseException:
            lock.close()
            raise

    @classmethod
    def open(cls, directory: Path, passphrase: str, *, random_bytes: RandomSource = system_random) -> ProfileStore:
        """Open the profile in ``directory`` (:class:`WrongPassphrase` if it does not open it)."""
        if not cls.exists(directory):
            raise ProfileNotFound(f"no profile in {directory}: run 'enseal register' first (or give --profile)")
        lock = cls._acquire(directory)
        try:
            parameters, check = cls._read_header(directory)
            key = ProfileKey.derive(passphrase, parameters)
            key.verify_check_value(check)
            return cls(directory, key, lock, random_bytes=random_bytes)
        except BaseException:
            lock.close()
            raise

    @staticmethod
    def _read_header(directory: Path) -> tuple[KdfParameters, bytes]:
        try:
            header = json.loads((directory / HEADER_FILE).read_text())
            if header["format"] != HEADER_FORMAT or header["version"] != HEADER_VERSION:
                raise ProfileError(f"{directory / HEADER_FILE} is not a version-{HEADER_VERSION} enseal profile")
            kdf = header["kdf"]
            if kdf["algorithm"] != "argon2id":
                raise ProfileError(f"unknown key derivation {kdf['algorithm']!r} in the profile")
            parameters = KdfParameters(
                salt=base64.b64decode(kdf["salt"], validate=True),
                iterations=int(kdf["iterations"]),
                lanes=int(kdf["lanes"]),
                memory_kib=int(kdf["memory_kib"]),
            )
            return parameters, base64.b64decode(header["check"], validate=True)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ProfileError(f"the profile header {directory / HEADER_FILE} is damaged") from exc

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.close()
        self._lock.close()

    def __enter__(self) -> ProfileStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything written inside is committed together, or not at all (nestable)."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        else:
            self._db.execute("COMMIT")
        finally:
            self._depth = 0

    # -- records ---------------------------------------------------------------------------------

    def _context(self, name: str) -> bytes:
        return b"record:" + name.encode("utf-8")

    def get(self, name: str) -> bytes | None:
        row = self._db.execute("SELECT sealed FROM records WHERE tag = ?", (self._key.tag(name.encode()),)).fetchone()
        if row is None:
            return None
        try:
            return self._key.open(row[0], context=self._context(name))
        except AuthenticationError as exc:
            raise ProfileError(f"the profile record {name!r} is damaged or was tampered with") from exc

    def put(self, name: str, value: bytes) -> None:
        sealed = self._key.seal(value, context=self._context(name), random_bytes=self._random)
        self._db.execute(
            "INSERT INTO records (tag, sealed) VALUES (?, ?) ON CONFLICT (tag) DO UPDATE SET sealed = excluded.sealed",
            (self._key.tag(name.encode()), sealed),
        )

    def delete(self, name: str) -> None:
        self._db.execute("DELETE FROM records WHERE tag = ?", (self._key.tag(name.encode()),))

    def get_json(self, name: str) -> Any:
        value = self.get(name)
        if value is None:
            return None
        try:
            return json.loads(value)
        except ValueError as exc:
            raise ProfileError(f"the profile record {name!r} is not JSON") from exc

    def put_json(self, name: str, value: Any) -> None:
        self.put(name, json.dumps(value, separators=(",", ":")).encode())

    # -- history ---------------------------------------------------------------------------------

    def _conversation_tag(self, conversation: str) -> bytes:
        return self._key.tag(b"history:" + conversation.encode("utf-8"))

    def append_history(self, conversation: str, entry: Any) -> None:
        """Append one JSON entry to the conversation's history."""
        tag = self._conversation_tag(conversation)
        with self.transaction():
            cursor = self._db.execute("INSERT INTO history (conversation, sealed) VALUES (?, x'')", (tag,))
            row = cursor.lastrowid
            context = b"history:" + tag + str(row).encode()
            sealed = self._key.seal(json.dumps(entry).encode(), context=context, random_bytes=self._random)
            self._db.execute("UPDATE history SET sealed = ? WHERE row = ?", (sealed, row))
            self._db.execute(
                "DELETE FROM history WHERE conversation = ? AND row NOT IN "
                "(SELECT row FROM history WHERE conversation = ? ORDER BY row DESC LIMIT ?)",
                (tag, tag, MAX_HISTORY_ROWS),
            )

    def history(self, conversation: str, *, limit: int | None = None) -> list[Any]:
        """The conversation's entries, oldest first (the last ``limit`` of them)."""
        tag = self._conversation_tag(conversation)
        rows = self._db.execute(
            "SELECT row, sealed FROM history WHERE conversation = ? ORDER BY row DESC LIMIT ?",
            (tag, -1 if limit is None else limit),
        ).fetchall()
        entries = []
        for row, sealed in reversed(rows):
            try:
                plain = self._key.open(sealed, context=b"history:" + tag + str(row).encode())
            except AuthenticationError as exc:
                raise ProfileError("a history row of the profile is damaged or was tampered with") from exc
            entries.append(json.loads(plain))
        return entries

    # -- files beside the database ---------------------------------------------------------------

    @property
    def ca_path(self) -> Path:
        return self.directory / CA_FILE

    def save_ca(self, pem: bytes) -> None:
        _write_private(self.ca_path, pem)

    def __repr__(self) -> str:
        return f"ProfileStore({self.directory})"
