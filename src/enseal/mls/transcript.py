"""Transcript hashes and the confirmation tag (RFC 9420 section 8.2).

confirmed_transcript_hash_[n] = Hash(interim_transcript_hash_[n-1] || ConfirmedTranscriptHashInput_[n])
interim_transcript_hash_[n] = Hash(confirmed_transcript_hash_[n] || InterimTranscriptHashInput_[n])
confirmation_tag = MAC(confirmation_key, confirmed_transcript_hash)

ConfirmedTranscriptHashInput is (wire_format, FramedContent, signature): the encoded
AuthenticatedContent of the commit without its confirmation tag. InterimTranscriptHashInput is
the confirmation tag as ``opaque<V>``.
"""

from __future__ import annotations

from enseal.codec import Writer, encode_varint
from enseal.crypto import CipherSuite, constant_time_equal
from enseal.errors import ConfirmationTagError, LocalProtocolError
from enseal.mls.framing import AuthenticatedContent
from enseal.mls.key_schedule import ConfirmationKey


def confirmed_transcript_input(authenticated: AuthenticatedContent) -> bytes:
    """``ConfirmedTranscriptHashInput``: wire_format, the commit's FramedContent, signature."""
    if authenticated.auth.confirmation_tag is None:
        raise LocalProtocolError("only a commit enters the transcript")
    w = Writer()
    w.u16(authenticated.wire_format)
    authenticated.content.encode(w)
    w.opaque(authenticated.auth.signature)
    return w.getvalue()


def confirmed_transcript_hash(suite: CipherSuite, interim_before: bytes, confirmed_input: bytes) -> bytes:
    return suite.digest(interim_before + confirmed_input)


def interim_transcript_hash(suite: CipherSuite, confirmed: bytes, confirmation_tag: bytes) -> bytes:
    return suite.digest(confirmed + encode_varint(len(confirmation_tag)) + confirmation_tag)


def confirmation_tag(suite: CipherSuite, key: ConfirmationKey, confirmed: bytes) -> bytes:
    return suite.mac(key.reveal(), confirmed)


def verify_confirmation_tag(suite: CipherSuite, key: ConfirmationKey, confirmed: bytes, tag: bytes) -> None:
    """RFC 9420 §12.4.2: "Verify that the confirmation_tag ... is valid"; raises on mismatch."""
    if not constant_time_equal(confirmation_tag(suite, key, confirmed), tag):
        raise ConfirmationTagError("RFC 9420 §8.2: confirmation tag does not verify")
