"""Proposals and ProposalOrRef (RFC 9420 §12.1, §12.4) with PreSharedKeyID (§8.4)."""

from __future__ import annotations

import pytest
from hypothesis import given

from enseal.codec import Reader, Writer
from enseal.errors import DecodeError
from enseal.mls.proposals import (
    ExternalPSKID,
    PreSharedKeyID,
    Proposal,
    ProposalOrRef,
    ProposalRef,
    Remove,
    Update,
    decode_proposal_or_ref,
    encode_proposal_or_ref,
)
from enseal.mls.wire import deserialize, serialize
from enseal.types import LeafIndex

from .struct_strategies import proposal_or_refs, proposals, psk_ids


@given(proposals)
def test_round_trip(proposal: Proposal) -> None:
    data = serialize(proposal)
    again = deserialize(Proposal, data)
    assert again == proposal
    assert type(again) is type(proposal)
    # the variant's own struct is the encoding without the 2-byte type
    body = Writer()
    proposal.encode_body(body)
    assert data == proposal.proposal_type.to_bytes(2, "big") + body.getvalue()


@given(proposal_or_refs)
def test_proposal_or_ref_round_trip(value: ProposalOrRef) -> None:
    w = Writer()
    encode_proposal_or_ref(w, value)
    r = Reader(w.getvalue())
    assert decode_proposal_or_ref(r) == value
    r.finish()


def test_reference_is_bytes() -> None:
    w = Writer()
    encode_proposal_or_ref(w, ProposalRef(b"\xaa" * 32))
    assert w.getvalue() == b"\x02\x20" + b"\xaa" * 32


@given(psk_ids)
def test_psk_id_round_trip(psk: PreSharedKeyID) -> None:
    assert deserialize(PreSharedKeyID, serialize(psk)) == psk


@pytest.mark.parametrize("proposal_type", [0x0000, 0x0008, 0x0A0A, 0xEAEA, 0xFFFF])
def test_unknown_and_grease_proposal_types_rejected(proposal_type: int) -> None:
    # GREASE values "MUST NOT be sent in Proposal.proposal_type" (RFC 9420 §13.5).
    with pytest.raises(DecodeError, match="unknown ProposalType"):
        deserialize(Proposal, proposal_type.to_bytes(2, "big") + b"\x00\x00\x00\x00")


def test_decoding_a_proposal_as_another_variant_is_rejected() -> None:
    data = serialize(Remove(removed=LeafIndex(3)))
    assert deserialize(Remove, data) == Remove(removed=LeafIndex(3))
    with pytest.raises(DecodeError, match="expected a Update proposal"):
        deserialize(Update, data)


@pytest.mark.parametrize("data", ["0000", "0300", "0200", "02040000"])
def test_unknown_psk_type_or_usage_rejected(data: str) -> None:
    with pytest.raises(DecodeError, match="unknown"):
        deserialize(PreSharedKeyID, bytes.fromhex(data))


def test_external_psk_encoding() -> None:
    psk = ExternalPSKID(psk_id=b"id", psk_nonce=b"nonce")
    assert serialize(psk) == b"\x01\x02id\x05nonce"
