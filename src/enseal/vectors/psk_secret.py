"""Runner for ``psk_secret.json``: chained external PSKs (RFC 9420 §8.4)."""

from __future__ import annotations

from collections.abc import Iterator

from enseal.crypto import cipher_suite
from enseal.mls.proposals import ExternalPSKID
from enseal.mls.psk import psk_secret
from enseal.mls.wire import serialize
from enseal.vectors.outcome import Case, expect_equal
from enseal.vectors.shape import has_keys, hexb, integer, items, list_cases

NAME = "psk_secret"


def recognise(filename: str, data: object) -> bool:
    return filename.startswith(NAME) and has_keys(data, {"cipher_suite", "psks", "psk_secret"})


def cases(data: object) -> Iterator[Case]:
    return list_cases(NAME, data)


def run(case: Case) -> None:
    suite = cipher_suite(integer(case.data, "cipher_suite"))
    psks = []
    for raw in items(case.data, "psks"):
        assert isinstance(raw, dict)
        psk_id = ExternalPSKID(psk_id=hexb(raw, "psk_id"), psk_nonce=hexb(raw, "psk_nonce"))
        psks.append((serialize(psk_id), hexb(raw, "psk")))
    expect_equal("psk_secret", psk_secret(suite, psks).reveal(), hexb(case.data, "psk_secret"))
