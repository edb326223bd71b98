"""Commit, UpdatePath, UpdatePathNode, HPKECiphertext (RFC 9420 §7.6, §12.4)."""

from __future__ import annotations

import pytest
from hypothesis import given

from enseal.errors import DecodeError
from enseal.mls.commit import Commit
from enseal.mls.wire import deserialize, serialize

from .struct_strategies import commits


@given(commits)
def test_round_trip(commit: Commit) -> None:
    data = serialize(commit)
    assert deserialize(Commit, data) == commit
    assert serialize(deserialize(Commit, data)) == data


@pytest.mark.parametrize("data", [b"\x00\x02", b"\x01\x03\x00", b"\x00"])
def test_malformed_commits_rejected(data: bytes) -> None:
    # An optional presence octet of 2; a ProposalOrRef type of 3; a missing path octet.
    with pytest.raises(DecodeError):
        deserialize(Commit, data)
