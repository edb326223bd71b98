"""SFrame keyed from real MLS groups (RFC 9605 §5.2 over enseal.mls.group): three members
exchange frames; a removed member's frames stop after the grace window; a new member cannot read
frames of an epoch before it joined."""

from __future__ import annotations

import os
import time

import pytest

from enseal.crypto import SignaturePrivateKey, cipher_suite, system_random
from enseal.mls.credential import BasicCredential
from enseal.mls.group import Group
from enseal.mls.key_package_bundle import KeyPackageBundle
from enseal.mls.proposals import Add, Remove
from enseal.sframe import (
    PREVIOUS_EPOCH_GRACE_SECONDS,
    ExpiredKeyIdError,
    FrameAuthenticationError,
    FrameReplayError,
    MlsSFrameKeys,
    UnknownKeyIdError,
    exported_base_key,
)

SUITE = cipher_suite(1)
NOW = int(time.time())


def _client(name: str) -> tuple[SignaturePrivateKey, BasicCredential, KeyPackageBundle]:
    signer = SUITE.generate_signature_key(system_random)
    credential = BasicCredential(identity=name.encode())
    return signer, credential, KeyPackageBundle.create(SUITE, signer, credential, rng=system_random, now=NOW)


def _keys(group: Group) -> MlsSFrameKeys:
    return MlsSFrameKeys.from_exporter(group.export_secret, epoch=group.epoch, own_leaf_index=group.own_leaf)


def _advance(keys: MlsSFrameKeys, group: Group, now: float, removed: tuple[int, ...] = ()) -> None:
    keys.on_new_epoch(base_key=exported_base_key(group.export_secret), epoch=group.epoch, now=now,
                      removed_leaves=removed)


@pytest.fixture
def trio() -> tuple[Group, Group, Group]:
    signer, credential, _ = _client("alice")
    alice = Group.create(SUITE, group_id=os.urandom(16), signer=signer, credential=credential,
                         rng=system_random, now=NOW)
    _, _, bob_kp = _client("bob")
    _, _, carol_kp = _client("carol")
    out = alice.commit(rng=system_random, now=NOW,
                       proposals=[Add(key_package=bob_kp.key_package), Add(key_package=carol_kp.key_package)])
    alice.merge_pending_commit()
    assert out.welcome is not None
    return alice, Group.join(out.welcome, bob_kp, now=NOW), Group.join(out.welcome, carol_kp, now=NOW)


def test_members_exchange_frames_both_ways(trio: tuple[Group, Group, Group]) -> None:
    groups = trio
    keys = [_keys(g) for g in groups]
    for i, sender in enumerate(keys):
        frame = sender.protect(b"frame from %d" % i, b"meta")
        for j, receiver in enumerate(keys):
            if j != i:
                assert receiver.unprotect(frame, now=0.0, metadata=b"meta") == b"frame from %d" % i
    frame = keys[0].protect(b"x")
    assert keys[1].unprotect(frame, now=0.0) == b"x"
    with pytest.raises(FrameReplayError):
        keys[1].unprotect(frame, now=0.0)
    altered = frame[:-1] + bytes([frame[-1] ^ 1])
    with pytest.raises(FrameAuthenticationError):
        keys[2].unprotect(altered, now=0.0)


def test_removed_member_is_cut_off_after_the_grace_window(trio: tuple[Group, Group, Group]) -> None:
    alice, bob, carol = trio
    a, b, c = _keys(alice), _keys(bob), _keys(carol)
    in_flight = c.protect(b"sent before removal")
    out = alice.commit(rng=system_random, now=NOW, proposals=[Remove(removed=carol.own_leaf)])
    alice.merge_pending_commit()
    bob.merge(bob.process(out.commit, now=NOW))
    assert alice.epoch_authenticator == bob.epoch_authenticator
    _advance(a, alice, now=100.0)
    _advance(b, bob, now=100.0)
    # within the grace window, a frame protected under the old epoch still plays
    assert b.unprotect(in_flight, now=100.0 + PREVIOUS_EPOCH_GRACE_SECONDS / 2) == b"sent before removal"
    late = c.protect(b"sent after removal")
    with pytest.raises(ExpiredKeyIdError):
        b.unprotect(late, now=100.0 + PREVIOUS_EPOCH_GRACE_SECONDS + 0.1)
    # the remaining members use the new epoch's keys, which carol never had
    frame = a.protect(b"new epoch")
    assert b.unprotect(frame, now=101.0) == b"new epoch"
    with pytest.raises((UnknownKeyIdError, FrameAuthenticationError)):
        c.unprotect(frame, now=101.0)


def test_new_member_cannot_read_earlier_epochs(trio: tuple[Group, Group, Group]) -> None:
    alice, _bob, _carol = trio
    a = _keys(alice)
    before = a.protect(b"before dave")
    _, _, dave_kp = _client("dave")
    out = alice.commit(rng=system_random, now=NOW, proposals=[Add(key_package=dave_kp.key_package)])
    alice.merge_pending_commit()
    assert out.welcome is not None
    dave = Group.join(out.welcome, dave_kp, now=NOW)
    d = _keys(dave)
    with pytest.raises((UnknownKeyIdError, FrameAuthenticationError)):
        d.unprotect(before, now=0.0)
    _advance(a, alice, now=1.0)
    assert d.unprotect(a.protect(b"after dave"), now=1.0) == b"after dave"
