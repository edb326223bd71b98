"""The encrypted profile: nothing readable on disk, records bound to their names, one process at
a time, atomic transactions, the wrong passphrase refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from enseal.client.errors import ProfileBusy, ProfileError, ProfileExists, ProfileNotFound
from enseal.client.profile_store import ProfileStore
from enseal.crypto.profile_key import WrongPassphrase

PASSPHRASE = "correct horse battery staple"


def test_records_and_history_are_sealed_on_disk(tmp_path: Path) -> None:
    with ProfileStore.create(tmp_path / "p", PASSPHRASE) as store:
        store.put_json("device", {"signing_key": "SECRET-KEY-MATERIAL", "user": "alice@acme"})
        store.append_history("bob@acme", {"text": "canary 7f3a meet at noon"})
        store.append_history("bob@acme", {"text": "second"})
        assert store.history("bob@acme") == [{"text": "canary 7f3a meet at noon"}, {"text": "second"}]
        assert store.history("bob@acme", limit=1) == [{"text": "second"}]
        assert store.history("carol@acme") == []
    raw = b"".join(p.read_bytes() for p in (tmp_path / "p").iterdir() if p.is_file())
    for needle in (b"SECRET-KEY-MATERIAL", b"alice@acme", b"bob@acme", b"canary", b"device"):
        assert needle not in raw
    assert (tmp_path / "p").stat().st_mode & 0o077 == 0
    with ProfileStore.open(tmp_path / "p", PASSPHRASE) as store:
        assert store.get_json("device")["user"] == "alice@acme"


def test_wrong_passphrase_missing_and_existing_profiles(tmp_path: Path) -> None:
    ProfileStore.create(tmp_path / "p", PASSPHRASE).close()
    with pytest.raises(WrongPassphrase):
        ProfileStore.open(tmp_path / "p", "not it")
    with pytest.raises(ProfileNotFound):
        ProfileStore.open(tmp_path / "nothing", PASSPHRASE)
    with pytest.raises(ProfileExists):
        ProfileStore.create(tmp_path / "p", PASSPHRASE)


def test_one_process_at_a_time(tmp_path: Path) -> None:
    with ProfileStore.create(tmp_path / "p", PASSPHRASE), pytest.raises(ProfileBusy, match="in use"):
        ProfileStore.open(tmp_path / "p", PASSPHRASE)


def test_a_moved_record_does_not_open(tmp_path: Path) -> None:
    with ProfileStore.create(tmp_path / "p", PASSPHRASE) as store:
        store.put("a", b"one")
        store.put("b", b"two")
    db = sqlite3.connect(tmp_path / "p" / "profile.db")
    (tag_1, sealed_1), (tag_2, sealed_2) = db.execute("SELECT tag, sealed FROM records").fetchall()
    db.execute("UPDATE records SET sealed = ? WHERE tag = ?", (sealed_2, tag_1))
    db.execute("UPDATE records SET sealed = ? WHERE tag = ?", (sealed_1, tag_2))
    db.commit()
    db.close()
    with ProfileStore.open(tmp_path / "p", PASSPHRASE) as store:
        for name in ("a", "b"):
            with pytest.raises(ProfileError, match="tampered"):
                store.get(name)


def test_a_failed_transaction_changes_nothing(tmp_path: Path) -> None:
    with ProfileStore.create(tmp_path / "p", PASSPHRASE) as store:
        store.put_json("cursor", {"processed": 1})
        with pytest.raises(RuntimeError), store.transaction():
            store.put_json("cursor", {"processed": 2})
            store.append_history("bob@acme", {"text": "half done"})
            raise RuntimeError("crash in the middle")
        assert store.get_json("cursor") == {"processed": 1}
        assert store.history("bob@acme") == []
