"""Runner for ``secret-tree.json``: sender-data keys and per-leaf ratchets (RFC 9420 §6.3.2, §9)."""

from __future__ import annotations

from collections.abc import Iterator

from enseal.crypto import cipher_suite
from enseal.mls.key_schedule import EncryptionSecret, SenderDataSecret
from enseal.mls.secret_tree import RatchetKind, SecretTree
from enseal.mls.sender_data import sender_data_key_nonce
from enseal.vectors.outcome import Case, expect_equal
from enseal.vectors.shape import has_keys, hexb, integer, items, list_cases, sub

NAME = "secret-tree"


def recognise(filename: str, data: object) -> bool:
    return filename.startswith(NAME) and has_keys(data, {"cipher_suite", "encryption_secret", "leaves"})


def cases(data: object) -> Iterator[Case]:
    return list_cases(NAME, data)


def run(case: Case) -> None:
    suite = cipher_suite(integer(case.data, "cipher_suite"))
    sd = sub(case.data, "sender_data")
    key, nonce = sender_data_key_nonce(
        suite, SenderDataSecret(hexb(sd, "sender_data_secret")), hexb(sd, "ciphertext")
    )
    expect_equal("sender data key", key, hexb(sd, "key"))
    expect_equal("sender data nonce", nonce, hexb(sd, "nonce"))

    leaves = items(case.data, "leaves")
    tree = SecretTree(suite, EncryptionSecret(hexb(case.data, "encryption_secret")), len(leaves))
    for leaf, entries in enumerate(leaves):
        assert isinstance(entries, list)
        for raw in entries:
            assert isinstance(raw, dict)
            generation = integer(raw, "generation")
            for kind, prefix in ((RatchetKind.HANDSHAKE, "handshake"), (RatchetKind.APPLICATION, "application")):
                got_key, got_nonce = tree.key_for(leaf, kind, generation)
                expect_equal(f"leaf {leaf} gen {generation} {prefix}_key", got_key, hexb(raw, f"{prefix}_key"))
                expect_equal(f"leaf {leaf} gen {generation} {prefix}_nonce", got_nonce, hexb(raw, f"{prefix}_nonce"))
                tree.consume(leaf, kind, generation)
