"""Runner for ``crypto-basics.json``: the labelled operations of RFC 9420 section 5 per suite."""

from __future__ import annotations

from collections.abc import Iterator

from enseal.crypto import cipher_suite, system_random
from enseal.vectors.outcome import Case, expect_equal
from enseal.vectors.shape import has_keys, hexb, integer, list_cases, sub

NAME = "crypto-basics"


def recognise(filename: str, data: object) -> bool:
    return filename.startswith(NAME) and has_keys(data, {"cipher_suite", "ref_hash", "expand_with_label"})


def cases(data: object) -> Iterator[Case]:
    return list_cases(NAME, data)


def _label(obj: dict[str, object]) -> bytes:
    value = obj["label"]
    assert isinstance(value, str)
    return value.encode()


def run(case: Case) -> None:
    suite = cipher_suite(integer(case.data, "cipher_suite"))

    v = sub(case.data, "ref_hash")
    expect_equal("ref_hash", suite.ref_hash(_label(v), hexb(v, "value")), hexb(v, "out"))

    v = sub(case.data, "expand_with_label")
    got = suite.expand_with_label(hexb(v, "secret"), _label(v), hexb(v, "context"), integer(v, "length"))
    expect_equal("expand_with_label", got, hexb(v, "out"))

    v = sub(case.data, "derive_secret")
    expect_equal("derive_secret", suite.derive_secret(hexb(v, "secret"), _label(v)), hexb(v, "out"))

    v = sub(case.data, "derive_tree_secret")
    got = suite.derive_tree_secret(
        hexb(v, "secret"), _label(v), integer(v, "generation"), integer(v, "length")
    )
    expect_equal("derive_tree_secret", got, hexb(v, "out"))

    v = sub(case.data, "sign_with_label")
    key = suite.signature_key(hexb(v, "priv"))
    expect_equal("sign_with_label public key", key.public_key, hexb(v, "pub"))
    suite.verify_with_label(hexb(v, "pub"), _label(v), hexb(v, "content"), hexb(v, "signature"))
    own = suite.sign_with_label(key, _label(v), hexb(v, "content"))
    suite.verify_with_label(hexb(v, "pub"), _label(v), hexb(v, "content"), own)

    v = sub(case.data, "encrypt_with_label")
    priv = suite.hpke_key(hexb(v, "priv"))
    expect_equal("encrypt_with_label public key", priv.public_key, hexb(v, "pub"))
    plaintext = suite.decrypt_with_label(
        priv, _label(v), hexb(v, "context"), hexb(v, "kem_output"), hexb(v, "ciphertext")
    )
    expect_equal("decrypt_with_label", plaintext, hexb(v, "plaintext"))
    kem_output, ciphertext = suite.encrypt_with_label(
        hexb(v, "pub"), _label(v), hexb(v, "context"), hexb(v, "plaintext"), system_random
    )
    again = suite.decrypt_with_label(priv, _label(v), hexb(v, "context"), kem_output, ciphertext)
    expect_equal("encrypt_with_label round trip", again, hexb(v, "plaintext"))
