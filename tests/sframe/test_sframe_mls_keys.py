"""SFrame keyed from MLS (RFC 9605 section 5.2): members exchanging frames across epochs.

The members' MLS groups are stood in for by their epochs' MLS-Exporter (RFC 9420 section 8.5,
computed with enseal.crypto from an exporter_secret that every member of the epoch holds), which is
exactly what MlsSFrameKeys consumes.
"""

from __future__ import annotations

import os

import pytest

from enseal.crypto import cipher_suite
from enseal.errors import LocalProtocolError
from enseal.sframe import (
    DEFAULT_KID_LAYOUT,
    PREVIOUS_EPOCH_GRACE_SECONDS,
    ExpiredKeyIdError,
    FrameAuthenticationError,
    FrameReplayError,
    KidLayout,
    MlsExporter,
    MlsSFrameKeys,
    SFrameCipherSuite,
    UnknownKeyIdError,
    decode_header,
    exported_base_key,
)

MLS_SUITE = cipher_suite(0x0001)
GRACE = PREVIOUS_EPOCH_GRACE_SECONDS


class Epoch:
    """One MLS epoch as its members see it: a number and an exporter over its exporter_secret."""

    def __init__(self, number: int) -> None:
        self.number = number
        self._exporter_secret = os.urandom(MLS_SUITE.hash_size)

    def export(self, label: bytes, context: bytes, length: int) -> bytes:
        # MLS-Exporter(Label, Context, Length) =
        #   ExpandWithLabel(DeriveSecret(exporter_secret, Label), "exported", Hash(Context), Length)
        derived = MLS_SUITE.derive_secret(self._exporter_secret, label)
        return MLS_SUITE.expand_with_label(derived, b"exported", MLS_SUITE.digest(context), length)


def member(epoch: Epoch, leaf: int, suite: SFrameCipherSuite | None = None) -> MlsSFrameKeys:
    exporter: MlsExporter = epoch.export
    if suite is None:
        return MlsSFrameKeys.from_exporter(exporter, epoch=epoch.number, own_leaf_index=leaf)
    return MlsSFrameKeys.from_exporter(exporter, epoch=epoch.number, own_leaf_index=leaf, suite=suite)


def advance(keys: MlsSFrameKeys, epoch: Epoch, now: float, removed: tuple[int, ...] = ()) -> None:
    keys.on_new_epoch(base_key=exported_base_key(epoch.export, keys.suite), epoch=epoch.number, now=now,
                      removed_leaves=removed)


def test_kid_layout_matches_rfc_example() -> None:
    """The example KID sequence of RFC 9605 section 5.2 (E = 4, S = 6)."""
    layout = KidLayout(epoch_bits=4, sender_bits=6)
    cases = [(14, 3, 0, 0x3E), (14, 7, 0, 0x7E), (14, 20, 0, 0x14E), (15, 3, 0, 0x3F), (15, 5, 0, 0x5F),
             (16, 2, 2, 0x820), (16, 2, 3, 0xC20), (17, 33, 0, 0x211), (17, 51, 0, 0x331)]
    for epoch, index, context, kid in cases:
        assert layout.kid(context_id=context, leaf_index=index, epoch=epoch) == kid
        parts = layout.split(kid)
        assert (parts.context_id, parts.leaf_index, parts.epoch_bits) == (context, index, epoch % 16)


def test_default_layout_fits_large_meetings() -> None:
    assert DEFAULT_KID_LAYOUT.kid(context_id=0, leaf_index=1023, epoch=1) < 1 << 16  # two KID bytes
    assert DEFAULT_KID_LAYOUT.kid(context_id=15, leaf_index=65_535, epoch=2**64 - 1) < 1 << 24
    with pytest.raises(LocalProtocolError):
        DEFAULT_KID_LAYOUT.kid(context_id=0, leaf_index=65_536, epoch=0)
    with pytest.raises(LocalProtocolError):
        DEFAULT_KID_LAYOUT.kid(context_id=16, leaf_index=0, epoch=0)
    with pytest.raises(LocalProtocolError):
        KidLayout(epoch_bits=32, sender_bits=32, max_context_id=1)


@pytest.mark.parametrize("suite", [None, SFrameCipherSuite.AES_128_CTR_HMAC_SHA256_80], ids=["default", "ctr"])
def test_two_members_exchange_frames_both_ways(suite: SFrameCipherSuite | None) -> None:
    epoch = Epoch(7)
    alice, bob = member(epoch, 0, suite), member(epoch, 1, suite)
    for i in range(50):
        to_bob = alice.protect(b"alice %d" % i, b"m")
        to_alice = bob.protect(b"bob %d" % i, b"m")
        assert bob.unprotect(to_bob, now=0.0, metadata=b"m") == b"alice %d" % i
        frame = alice.unprotect_frame(to_alice, now=0.0, metadata=b"m")
        assert (frame.sender, frame.epoch, frame.context_id, frame.counter) == (1, 7, 0, i)
        assert frame.plaintext == b"bob %d" % i
    assert decode_header(to_bob).kid == alice.kid() == DEFAULT_KID_LAYOUT.kid(context_id=0, leaf_index=0, epoch=7)


def test_each_member_derives_every_senders_key_locally() -> None:
    epoch = Epoch(3)
    members = [member(epoch, leaf) for leaf in (0, 5, 999, 4000)]
    for sender in members:
        wire = sender.protect(b"hello from %d" % sender.own_leaf_index)
        for receiver in members:
            if receiver is sender:
                continue
            frame = receiver.unprotect_frame(wire, now=1.0)
            assert frame.sender == sender.own_leaf_index
            assert frame.plaintext == b"hello from %d" % sender.own_leaf_index


def test_contexts_are_independent_streams() -> None:
    epoch = Epoch(1)
    alice, bob = member(epoch, 2), member(epoch, 3)
    audio, video = alice.protect(b"audio", context_id=0), alice.protect(b"video", context_id=1)
    assert decode_header(audio).counter == decode_header(video).counter == 0
    assert bob.unprotect_frame(video, now=0.0).context_id == 1
    assert bob.unprotect(audio, now=0.0) == b"audio"
    with pytest.raises(LocalProtocolError):
        alice.protect(b"x", context_id=16)


def test_own_frames_are_not_decrypted() -> None:
    """A base key/KID is used for encryption or decryption, never both (RFC 9605 section 4.4.1)."""
    alice = member(Epoch(1), 0)
    with pytest.raises(UnknownKeyIdError, match="own"):
        alice.unprotect(alice.protect(b"echo"), now=0.0)


def test_replayed_and_altered_frames_fail_with_their_errors() -> None:
    epoch = Epoch(4)
    alice, bob = member(epoch, 0), member(epoch, 1)
    frame = alice.protect(b"once")
    assert bob.unprotect(frame, now=0.0) == b"once"
    with pytest.raises(FrameReplayError):
        bob.unprotect(frame, now=0.1)
    altered = bytearray(alice.protect(b"twice"))
    altered[-3] ^= 0x40
    with pytest.raises(FrameAuthenticationError):
        bob.unprotect(bytes(altered), now=0.2)
    with pytest.raises(FrameAuthenticationError):
        bob.unprotect(alice.protect(b"meta"), now=0.3, metadata=b"not what was sent")


def test_removed_members_old_key_fails_after_the_grace_window() -> None:
    epoch_1, epoch_2 = Epoch(1), Epoch(2)
    alice, bob, carol = member(epoch_1, 0), member(epoch_1, 1), member(epoch_1, 2)
    assert alice.unprotect(carol.protect(b"before"), now=10.0) == b"before"

    # Carol is removed: Alice and Bob move to epoch 2 at t = 10.5; Carol stays in epoch 1.
    advance(alice, epoch_2, now=10.5)
    advance(bob, epoch_2, now=10.5)
    assert alice.epoch == 2 and alice.retained_epochs == (1, 2)
    assert bob.unprotect(alice.protect(b"new epoch"), now=10.6) == b"new epoch"

    in_flight = carol.protect(b"in flight")
    late = carol.protect(b"late")
    assert alice.unprotect(in_flight, now=10.5 + GRACE - 0.01) == b"in flight"
    with pytest.raises(ExpiredKeyIdError):
        alice.unprotect(late, now=10.5 + GRACE)
    assert alice.retained_epochs == (2,)
    with pytest.raises(ExpiredKeyIdError):
        bob.unprotect(carol.protect(b"later still"), now=20.0)
    # Carol cannot read the new epoch: she has no key for it.
    with pytest.raises(UnknownKeyIdError):
        carol.unprotect(alice.protect(b"secret"), now=20.0)


def test_removed_leaves_are_refused_at_once() -> None:
    epoch_1, epoch_2 = Epoch(1), Epoch(2)
    alice, bob, carol = member(epoch_1, 0), member(epoch_1, 1), member(epoch_1, 2)
    assert alice.unprotect(carol.protect(b"known key"), now=0.0) == b"known key"
    old_bob = bob.protect(b"bob, epoch 1")
    advance(alice, epoch_2, now=1.0, removed=(2,))
    with pytest.raises(ExpiredKeyIdError, match="removed"):
        alice.unprotect(carol.protect(b"after removal"), now=1.1)
    assert alice.unprotect(old_bob, now=1.1) == b"bob, epoch 1"  # others' in-flight frames still play


def test_frames_of_an_epoch_not_yet_installed_can_be_retried() -> None:
    epoch_1, epoch_2 = Epoch(1), Epoch(2)
    alice, bob = member(epoch_1, 0), member(epoch_1, 1)
    advance(alice, epoch_2, now=5.0)
    early = alice.protect(b"early")
    with pytest.raises(UnknownKeyIdError) as info:
        bob.unprotect(early, now=5.0)
    assert not isinstance(info.value, ExpiredKeyIdError)
    advance(bob, epoch_2, now=5.1)
    assert bob.unprotect(early, now=5.1) == b"early"


def test_epoch_bits_rollover_removes_the_older_epoch() -> None:
    """"receivers MUST remove an old epoch when a new epoch with the same low-order E bits is introduced"."""
    first = Epoch(1)
    alice, bob = member(first, 0), member(first, 1)
    old = alice.protect(b"epoch 1")
    for number in range(2, 18):  # 16 epochs in quick succession: epoch 17 has epoch 1's low bits
        epoch = Epoch(number)
        advance(alice, epoch, now=0.01 * number)
        advance(bob, epoch, now=0.01 * number)
    assert 1 not in bob.retained_epochs and len(bob.retained_epochs) == 16
    with pytest.raises(FrameAuthenticationError):  # its KID now names epoch 17's key
        bob.unprotect(old, now=0.2)
    assert bob.unprotect(alice.protect(b"epoch 17"), now=0.2) == b"epoch 17"


def test_bad_epoch_changes_change_nothing() -> None:
    epoch_1 = Epoch(1)
    alice, bob = member(epoch_1, 0), member(epoch_1, 1)
    with pytest.raises(LocalProtocolError):
        advance(alice, Epoch(1), now=1.0)
    with pytest.raises(LocalProtocolError):
        alice.on_new_epoch(base_key=b"short", epoch=2, now=1.0)
    with pytest.raises(LocalProtocolError):
        alice.on_new_epoch(base_key=exported_base_key(Epoch(2).export), epoch=2, now=1.0, own_leaf_index=1 << 16)
    assert alice.epoch == 1 and alice.retained_epochs == (1,)
    assert bob.unprotect(alice.protect(b"still epoch 1"), now=1.0) == b"still epoch 1"
    with pytest.raises(LocalProtocolError):
        MlsSFrameKeys(base_key=bytes(15), epoch=0, own_leaf_index=0)


def test_keys_stay_hidden() -> None:
    epoch = Epoch(1)
    base_key = exported_base_key(epoch.export)
    keys = MlsSFrameKeys(base_key=base_key, epoch=1, own_leaf_index=0)
    assert base_key.hex() not in repr(keys)
