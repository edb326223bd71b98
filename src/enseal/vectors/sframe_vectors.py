"""Runner for the SFrame test vectors (RFC 9605 appendix C and the sframe-wg JSON files).

A file is one JSON object whose values are lists of cases: ``header`` (KID/CTR <-> encoded header),
``aes_ctr_hmac`` and ``aes_256_ctr_hmac`` (the compound AEAD of section 4.5.1), ``sframe`` and
``sframe_aes_256_ctr_hmac`` (key derivation, encryption and decryption of whole frames).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Final

from enseal.crypto.sframe_cipher import derive_subkeys
from enseal.sframe import (
    SFrameReceiver,
    SFrameSender,
    decode_header,
    derive_key_salt,
    encode_header,
    frame_nonce,
    sframe_cipher_suite,
)
from enseal.sframe.key_schedule import key_label, salt_label, sframe_secret
from enseal.vectors.outcome import Case, expect_equal
from enseal.vectors.shape import MalformedVector, hexb, integer

NAME = "sframe"


def _header(case: Case) -> None:
    kid, ctr, encoded = integer(case.data, "kid"), integer(case.data, "ctr"), hexb(case.data, "encoded")
    expect_equal("encode_header", encode_header(kid, ctr), encoded)
    header = decode_header(encoded)
    expect_equal("decoded (kid, ctr, size)", (header.kid, header.counter, header.size), (kid, ctr, len(encoded)))


def _aead(case: Case) -> None:
    suite = sframe_cipher_suite(integer(case.data, "cipher_suite"))
    key, nonce, aad = hexb(case.data, "key"), hexb(case.data, "nonce"), hexb(case.data, "aad")
    pt, ct = hexb(case.data, "pt"), hexb(case.data, "ct")
    enc_key, auth_key = derive_subkeys(key, suite.aes_key_size)
    expect_equal("enc_key", enc_key, hexb(case.data, "enc_key"))
    expect_equal("auth_key", auth_key, hexb(case.data, "auth_key"))
    seal, open_ = suite.frame_cipher(key)
    expect_equal("AEAD.Encrypt", seal(nonce, pt, aad), ct)
    expect_equal("AEAD.Decrypt", open_(nonce, ct, aad), pt)


def _frame(case: Case) -> None:
    suite = sframe_cipher_suite(integer(case.data, "cipher_suite"))
    kid, ctr, base_key = integer(case.data, "kid"), integer(case.data, "ctr"), hexb(case.data, "base_key")
    metadata, pt, ct = hexb(case.data, "metadata"), hexb(case.data, "pt"), hexb(case.data, "ct")
    expect_equal("sframe_key_label", key_label(suite, kid), hexb(case.data, "sframe_key_label"))
    expect_equal("sframe_salt_label", salt_label(suite, kid), hexb(case.data, "sframe_salt_label"))
    expect_equal("sframe_secret", sframe_secret(suite, base_key).reveal(), hexb(case.data, "sframe_secret"))
    material = derive_key_salt(suite, kid, base_key)
    expect_equal("sframe_key", material.key.reveal(), hexb(case.data, "sframe_key"))
    expect_equal("sframe_salt", material.salt, hexb(case.data, "sframe_salt"))
    expect_equal("nonce", frame_nonce(material.salt, ctr), hexb(case.data, "nonce"))
    expect_equal("aad", encode_header(kid, ctr) + metadata, hexb(case.data, "aad"))
    sender = SFrameSender(suite, kid, base_key, next_counter=ctr)
    expect_equal("encrypt", sender.protect(pt, metadata), ct)
    receiver = SFrameReceiver(suite)
    receiver.add_key(kid, base_key)
    expect_equal("decrypt", receiver.unprotect(ct, metadata), pt)


_KINDS: Final[dict[str, Callable[[Case], None]]] = {
    "header": _header,
    "aes_ctr_hmac": _aead,
    "aes_256_ctr_hmac": _aead,
    "sframe": _frame,
    "sframe_aes_256_ctr_hmac": _frame,
}


def recognise(filename: str, data: object) -> bool:
    return (
        filename.endswith(".json")
        and isinstance(data, dict)
        and bool(data)
        and all(kind in _KINDS and isinstance(cases, list) for kind, cases in data.items())
    )


def cases(data: object) -> Iterator[Case]:
    if not isinstance(data, dict):
        return
    for kind, items in data.items():
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise MalformedVector(f"{kind}[{index}] is not an object")
            suite = item.get("cipher_suite")
            suffix = f"-suite{suite}" if isinstance(suite, int) else ""
            yield Case(kind=kind, case_id=f"{kind}[{index}]{suffix}", data=item)


def run(case: Case) -> None:
    _KINDS[case.kind](case)
