"""GroupInfo (RFC 9420 §12.4.3): round trip, signature over GroupInfoTBS."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given

from enseal.errors import SignatureError
from enseal.mls.extensions import Extension
from enseal.mls.group_context import GroupContext
from enseal.mls.group_info import GroupInfo
from enseal.mls.wire import deserialize, serialize
from enseal.types import CipherSuiteId, Epoch, LeafIndex

from .members import GROUP_ID, SUITE, seeded
from .struct_strategies import group_infos


@given(group_infos)
def test_round_trip(info: GroupInfo) -> None:
    assert deserialize(GroupInfo, serialize(info)) == info


def test_sign_and_verify() -> None:
    key = SUITE.generate_signature_key(seeded(5))
    context = GroupContext(cipher_suite=CipherSuiteId(1), group_id=GROUP_ID, epoch=Epoch(3), tree_hash=b"t",
                           confirmed_transcript_hash=b"c")
    info = GroupInfo.sign(SUITE, key, group_context=context, confirmation_tag=b"tag", signer=LeafIndex(2),
                          extensions=(Extension(extension_type=0x0A0A, extension_data=b"grease"),))
    info.verify_signature(SUITE, key.public_key)
    assert serialize(info) == info.tbs() + b"\x40\x40" + info.signature  # Ed25519: 64 bytes
    for forged in (replace(info, signer=LeafIndex(3)), replace(info, confirmation_tag=b"other"),
                   replace(info, group_context=context.evolve(epoch=Epoch(4)))):
        with pytest.raises(SignatureError, match=r"§12\.4\.3: GroupInfo signature invalid"):
            forged.verify_signature(SUITE, key.public_key)
