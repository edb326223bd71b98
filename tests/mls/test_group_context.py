"""GroupContext (RFC 9420 §8.1)."""

from __future__ import annotations

from hypothesis import given

from enseal.mls.group_context import GroupContext
from enseal.mls.wire import deserialize, serialize
from enseal.types import Epoch

from .struct_strategies import group_contexts


@given(group_contexts)
def test_round_trip(context: GroupContext) -> None:
    data = context.to_bytes()
    assert data == serialize(context)
    assert deserialize(GroupContext, data) == context


@given(group_contexts)
def test_evolve_replaces_only_what_is_given(context: GroupContext) -> None:
    later = context.evolve(epoch=Epoch(5), tree_hash=b"t")
    assert (later.epoch, later.tree_hash) == (5, b"t")
    assert (later.group_id, later.cipher_suite, later.confirmed_transcript_hash, later.extensions) == (
        context.group_id, context.cipher_suite, context.confirmed_transcript_hash, context.extensions)
