"""Runner for ``transcript-hashes.json``: confirmed and interim transcript hashes and the
confirmation tag of a commit (RFC 9420 §8.2)."""

from __future__ import annotations

from collections.abc import Iterator

from enseal.crypto import cipher_suite
from enseal.mls import transcript
from enseal.mls.framing import AuthenticatedContent
from enseal.mls.key_schedule import ConfirmationKey
from enseal.mls.wire import deserialize
from enseal.vectors.outcome import Case, expect_equal
from enseal.vectors.shape import has_keys, hexb, integer, list_cases

NAME = "transcript-hashes"


def recognise(filename: str, data: object) -> bool:
    return filename.startswith(NAME) and has_keys(data, {"cipher_suite", "authenticated_content"})


def cases(data: object) -> Iterator[Case]:
    return list_cases(NAME, data)


def run(case: Case) -> None:
    d = case.data
    suite = cipher_suite(integer(d, "cipher_suite"))
    authenticated = deserialize(AuthenticatedContent, hexb(d, "authenticated_content"))
    key = ConfirmationKey(hexb(d, "confirmation_key"))
    confirmed = transcript.confirmed_transcript_hash(
        suite, hexb(d, "interim_transcript_hash_before"), transcript.confirmed_transcript_input(authenticated)
    )
    expect_equal("confirmed_transcript_hash_after", confirmed, hexb(d, "confirmed_transcript_hash_after"))
    tag = authenticated.auth.confirmation_tag
    assert tag is not None
    transcript.verify_confirmation_tag(suite, key, confirmed, tag)
    interim = transcript.interim_transcript_hash(suite, confirmed, tag)
    expect_equal("interim_transcript_hash_after", interim, hexb(d, "interim_transcript_hash_after"))
