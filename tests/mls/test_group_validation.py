"""Negative tests of the Group's validation rules for messages within a group (RFC 9420
sections 6, 7, 8.2, 10, 12, 13); joining is in ``test_group_join_validation``.

Each test builds a bad message for real -- a misbehaving member signs it with its own key and
tags it with its own membership key (or encrypts it with its own ratchet), an external sender
signs with a key the group does not list -- and checks that every receiver refuses it with the
right error type whose text names the rule, that the receiver's group is as before (for a
PrivateMessage that decrypted before it failed, all but the deleted message key), and that the
group then still commits and decrypts. The proposal-list rules are checked with handshake
messages both as PublicMessage and as PrivateMessage.

The last tests check the other side of section 12.2: proposals that are valid one by one but
not together do not keep an honest committer from committing.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from enseal.codec import Writer
from enseal.crypto import cipher_suite
from enseal.errors import (
    AuthenticationError,
    ConfirmationTagError,
    DecodeError,
    EnsealError,
    GenerationError,
    LocalProtocolError,
    MembershipTagError,
    ReplayError,
    SignatureError,
    UnknownSenderError,
    ValidationError,
    WrongEpochError,
    WrongGroupError,
)
from enseal.mls import message_protection as mp
from enseal.mls.code_points import LeafNodeSource, ResumptionPSKUsage, WireFormat
from enseal.mls.commit import Commit, UpdatePath
from enseal.mls.credential import BasicCredential
from enseal.mls.extensions import (
    Extension,
    ExternalSender,
    ExternalSenders,
    RequiredCapabilities,
    make_extension,
)
from enseal.mls.external_proposals import external_proposal, new_member_add_proposal
from enseal.mls.framing import (
    FramedContentAuthData,
    MLSMessage,
    PublicMessage,
    SenderMember,
)
from enseal.mls.group import Group, GroupStatus
from enseal.mls.group_config import MAX_PAST_EPOCHS
from enseal.mls.key_package import KeyPackage
from enseal.mls.key_package_bundle import KeyPackageBundle, default_capabilities, default_lifetime
from enseal.mls.leaf_node import Capabilities, LeafNode, Lifetime
from enseal.mls.proposals import (
    Add,
    ExternalInit,
    ExternalPSKID,
    GroupContextExtensions,
    PreSharedKey,
    Proposal,
    ProposalOrRef,
    ProposalRef,
    ReInit,
    Remove,
    ResumptionPSKID,
    Update,
)
from enseal.mls.wire import deserialize, serialize
from enseal.types import CipherSuiteId, Epoch, LeafIndex

from .devices import (
    NOW,
    Device,
    assert_agree,
    assert_refused,
    assert_works,
    commit,
    deliver,
    flip,
    frame,
    make_device,
    make_group,
    others,
    propose,
    public_message,
    reseal,
    seal,
    seal_public,
)

PUBLIC, PRIVATE = WireFormat.PUBLIC_MESSAGE, WireFormat.PRIVATE_MESSAGE


@pytest.fixture(params=[PUBLIC, PRIVATE], ids=["public", "private"])
def wire(request: pytest.FixtureRequest) -> WireFormat:
    wire_format: WireFormat = request.param
    return wire_format


def bad_commit(
    sender: Device,
    devices: list[Device],
    proposals: list[ProposalOrRef],
    wire_format: WireFormat,
    error: type[EnsealError],
    rule: str,
) -> None:
    """``sender`` commits ``proposals`` without a path (every rule of the list is checked before
    the path); everyone else refuses; then the group still works."""
    message = seal(sender, frame(sender, Commit(proposals=tuple(proposals))), wire_format)
    receivers = others(devices, sender)
    assert_refused(message, receivers, error, rule, ratchet_advances=wire_format is PRIVATE)
    assert_works(devices, receivers[0])


# -- section 12.2: the proposal list -------------------------------------------------------------------


def test_commit_with_an_update_of_the_committer(wire: WireFormat) -> None:
    alice, bob, carol = devices = make_group(handshake=wire)
    ref = propose(bob, bob.group.propose_update(rng=bob.rng), [alice, carol])
    bad_commit(
        bob, devices, [ref], wire, ValidationError, "RFC 9420 §12.2: commit contains an Update from the committer"
    )


def test_commit_removing_the_committer(wire: WireFormat) -> None:
    devices = make_group(handshake=wire)
    alice = devices[0]
    bad_commit(
        alice,
        devices,
        [Remove(removed=LeafIndex(0))],
        wire,
        ValidationError,
        "RFC 9420 §12.2: commit contains a Remove of the committer",
    )


def test_two_updates_for_one_leaf(wire: WireFormat) -> None:
    alice, bob, carol = devices = make_group(handshake=wire)
    first = propose(carol, carol.group.propose_update(rng=carol.rng), [alice, bob])
    second = propose(carol, carol.group.propose_update(rng=carol.rng), [alice, bob])
    bad_commit(
        alice,
        devices,
        [first, second],
        wire,
        ValidationError,
        "RFC 9420 §12.2: several Update/Remove proposals for one leaf",
    )


def test_update_and_remove_for_one_leaf(wire: WireFormat) -> None:
    alice, bob, carol = devices = make_group(handshake=wire)
    ref = propose(carol, carol.group.propose_update(rng=carol.rng), [alice, bob])
    bad_commit(
        alice,
        devices,
        [ref, Remove(removed=carol.group.own_leaf)],
        wire,
        ValidationError,
        "RFC 9420 §12.2: several Update/Remove proposals for one leaf",
    )


def test_two_removes_of_one_leaf(wire: WireFormat) -> None:
    devices = make_group(("alice", "bob", "carol", "dave"), handshake=wire)
    alice = devices[0]
    remove = Remove(removed=LeafIndex(3))
    bad_commit(
        alice,
        devices,
        [remove, remove],
        wire,
        ValidationError,
        "RFC 9420 §12.2: several Update/Remove proposals for one leaf",
    )


def test_two_adds_of_one_client(wire: WireFormat) -> None:
    devices = make_group(handshake=wire)
    alice = devices[0]
    dave = make_device("dave")
    # Two different KeyPackages of one client (one signature key).
    adds: list[ProposalOrRef] = [Add(key_package=dave.bundle().key_package), Add(key_package=dave.bundle().key_package)]
    bad_commit(alice, devices, adds, wire, ValidationError, "RFC 9420 §12.2: two Adds for the same client")


def test_add_of_a_current_member(wire: WireFormat) -> None:
    alice, bob, carol = devices = make_group(handshake=wire)
    new_bob = bob.bundle()  # a fresh KeyPackage of a client already in the group
    bad_commit(
        alice,
        devices,
        [Add(key_package=new_bob.key_package)],
        wire,
        ValidationError,
        "RFC 9420 §12.2: Add of a client already in the group",
    )
    # Valid when the same commit removes that client first.
    output = commit(
        alice, [carol, bob], proposals=[Remove(removed=bob.group.own_leaf), Add(key_package=new_bob.key_package)]
    )
    assert output.welcome is not None
    assert bob.group.status is GroupStatus.REMOVED
    bob.group = Group.join(output.welcome, new_bob, now=NOW, config=bob.config)
    assert_agree(devices)


def test_two_psk_proposals_for_one_psk(wire: WireFormat) -> None:
    devices = make_group(handshake=wire)
    alice = devices[0]
    for d in devices:
        d.psks[b"shared"] = b"k" * 32
    psk = alice.group.new_psk_id(b"shared", rng=alice.rng)
    bad_commit(
        alice,
        devices,
        [PreSharedKey(psk=psk), PreSharedKey(psk=psk)],
        wire,
        ValidationError,
        "RFC 9420 §12.2: two PreSharedKey proposals for one PSK",
    )


def test_two_group_context_extensions(wire: WireFormat) -> None:
    devices = make_group(handshake=wire)
    alice = devices[0]
    gce = GroupContextExtensions(extensions=())
    bad_commit(
        alice,
        devices,
        [gce, gce],
        wire,
        ValidationError,
        "RFC 9420 §12.2: more than one GroupContextExtensions proposal",
    )


def test_reinit_with_another_proposal(wire: WireFormat) -> None:
    devices = make_group(handshake=wire)
    alice = devices[0]
    reinit = ReInit(group_id=b"next", cipher_suite=CipherSuiteId(1))
    bad_commit(
        alice,
        devices,
        [reinit, Remove(removed=LeafIndex(2))],
        wire,
        ValidationError,
        "RFC 9420 §12.2: a ReInit must be the only proposal of its commit",
    )


def test_external_init_in_a_member_commit(wire: WireFormat) -> None:
    devices = make_group(handshake=wire)
    alice = devices[0]
    kem_output = alice.suite.generate_hpke_key(alice.rng).public_key
    bad_commit(
        alice,
        devices,
        [ExternalInit(kem_output=kem_output)],
        wire,
        ValidationError,
        "RFC 9420 §12.2: an ExternalInit outside an external commit",
    )


def test_unknown_proposal_reference(wire: WireFormat) -> None:
    devices = make_group(handshake=wire)
    alice = devices[0]
    bad_commit(
        alice,
        devices,
        [ProposalRef(bytes(32))],
        wire,
        ValidationError,
        "RFC 9420 §12.4: commit references a proposal this member has not received",
    )


def test_proposal_received_by_one_member_only(wire: WireFormat) -> None:
    """A reference to a proposal the receiver did not get (yet)."""
    alice, bob, carol = devices = make_group(handshake=wire)
    update = carol.group.propose_update(rng=carol.rng)
    ref = propose(carol, update, [alice])
    message = seal(alice, frame(alice, Commit(proposals=(ref,))), wire)
    assert_refused(
        message,
        [bob],
        ValidationError,
        "RFC 9420 §12.4: commit references a proposal",
        ratchet_advances=wire is PRIVATE,
    )
    deliver(update, [bob])
    assert_works(devices, alice)  # alice's real commit of carol's Update by reference


# -- section 12.4.2: receiving a commit ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "proposals",
    [
        [],
        [Remove(removed=LeafIndex(2))],
        [GroupContextExtensions(extensions=())],
    ],
    ids=["empty", "remove", "group-context-extensions"],
)
def test_commit_without_a_required_path(wire: WireFormat, proposals: list[ProposalOrRef]) -> None:
    devices = make_group(handshake=wire)
    bad_commit(devices[0], devices, proposals, wire, ValidationError, "RFC 9420 §12.4: commit needs an UpdatePath")


def test_commit_of_an_update_without_a_path(wire: WireFormat) -> None:
    alice, bob, carol = devices = make_group(handshake=wire)
    ref = propose(carol, carol.group.propose_update(rng=carol.rng), [alice, bob])
    bad_commit(alice, devices, [ref], wire, ValidationError, "RFC 9420 §12.4: commit needs an UpdatePath")


def test_commit_of_a_psk_this_member_lacks(wire: WireFormat) -> None:
    alice, bob, carol = make_group(handshake=wire)
    alice.psks[b"only-alice-and-bob"] = bob.psks[b"only-alice-and-bob"] = b"s" * 32
    output = alice.group.commit(
        rng=alice.rng,
        now=NOW,
        proposals=[PreSharedKey(psk=alice.group.new_psk_id(b"only-alice-and-bob", rng=alice.rng))],
    )
    assert_refused(
        output.commit,
        [carol],
        ValidationError,
        "RFC 9420 §12.4.2: a pre-shared key is not available to this member",
        ratchet_advances=wire is PRIVATE,
    )
    deliver(output.commit, [bob])
    alice.group.merge_pending_commit()
    assert_agree([alice, bob])


def test_psk_proposal_with_a_short_nonce() -> None:
    alice, bob, carol = devices = make_group()
    psk = ExternalPSKID(psk_id=b"x", psk_nonce=b"short")
    message = seal_public(alice, frame(alice, PreSharedKey(psk=psk)))
    assert_refused(message, [bob, carol], ValidationError, "RFC 9420 §12.1.4: psk_nonce must be KDF.Nh bytes")
    bad_commit(
        alice,
        devices,
        [PreSharedKey(psk=psk)],
        PUBLIC,
        ValidationError,
        "RFC 9420 §12.1.4: psk_nonce must be KDF.Nh bytes",
    )


@pytest.mark.parametrize("usage", [ResumptionPSKUsage.REINIT, ResumptionPSKUsage.BRANCH])
def test_reinit_or_branch_psk_in_a_regular_commit(usage: ResumptionPSKUsage) -> None:
    alice, bob, carol = devices = make_group()
    psk = ResumptionPSKID(
        usage=usage, psk_group_id=alice.group.group_id, psk_epoch=Epoch(1), psk_nonce=alice.rng(alice.suite.hash_size)
    )
    message = seal_public(alice, frame(alice, PreSharedKey(psk=psk)))
    assert_refused(message, [bob, carol], ValidationError, "RFC 9420 §12.1.4: resumption PSK usage not allowed here")
    bad_commit(
        alice,
        devices,
        [PreSharedKey(psk=psk)],
        PUBLIC,
        ValidationError,
        "RFC 9420 §12.1.4: resumption PSK usage not allowed here",
    )


def test_remove_of_a_blank_leaf() -> None:
    alice, bob, carol = devices = make_group()
    commit(alice, [bob, carol], proposals=[Remove(removed=LeafIndex(2))])
    devices = [alice, bob]
    message = seal_public(alice, frame(alice, Remove(removed=LeafIndex(2))))
    assert_refused(message, [bob], ValidationError, "RFC 9420 §12.1.3: Remove names a blank leaf")
    bad_commit(
        alice,
        devices,
        [Remove(removed=LeafIndex(2))],
        PUBLIC,
        ValidationError,
        "RFC 9420 §12.1.3: Remove names a blank leaf",
    )


def test_add_with_an_invalid_key_package() -> None:
    alice, bob, carol = devices = make_group()
    other_suite = make_device("dave", seed=2).bundle(suite=cipher_suite(3))
    message = seal_public(alice, frame(alice, Add(key_package=other_suite.key_package)))
    assert_refused(message, [bob, carol], ValidationError, "RFC 9420 §10.1: KeyPackage cipher suite differs")
    forged = make_device("erin").bundle().key_package
    forged = replace(forged, signature=flip(forged.signature))
    bad_commit(
        alice,
        devices,
        [Add(key_package=forged)],
        PUBLIC,
        SignatureError,
        "RFC 9420 §10.1: KeyPackage signature invalid",
    )


def test_update_with_an_invalid_leaf() -> None:
    alice, bob, carol = devices = make_group()
    update = deserialize(MLSMessage, carol.group.propose_update(rng=carol.rng)).body
    assert isinstance(update, PublicMessage) and isinstance(update.content.content, Update)
    leaf = update.content.content.leaf_node
    # Carol signs an Update whose leaf signature does not verify.
    message = seal_public(carol, frame(carol, Update(leaf_node=replace(leaf, signature=flip(leaf.signature)))))
    assert_refused(message, [alice, bob], SignatureError, "RFC 9420 §7.3: leaf node signature invalid")
    # Carol's Update presents bob's leaf (wrong signature context and key).
    bobs_leaf = bob.group.tree.member_leaf(bob.group.own_leaf)
    message = seal_public(carol, frame(carol, Update(leaf_node=bobs_leaf)))
    assert_refused(message, [alice, bob], ValidationError, "RFC 9420 §7.3: leaf_node_source must be update")
    assert_works(devices, alice)


def test_group_context_extensions_members_do_not_support() -> None:
    alice, bob, carol = devices = make_group()
    required = RequiredCapabilities(extension_types=(0xFF00,))
    message = seal_public(alice, frame(alice, GroupContextExtensions(extensions=(make_extension(required),))))
    assert_refused(
        message, [bob, carol], ValidationError, "RFC 9420 §12.1.7: required capability not supported by all members"
    )
    unknown = Extension(extension_type=0xFF01, extension_data=b"")
    message = seal_public(alice, frame(alice, GroupContextExtensions(extensions=(unknown,))))
    assert_refused(
        message,
        [bob, carol],
        ValidationError,
        "RFC 9420 §13.4: a group context extension is not supported by all members",
    )
    bad_commit(
        alice,
        devices,
        [GroupContextExtensions(extensions=(unknown,))],
        PUBLIC,
        ValidationError,
        "RFC 9420 §13.4: a group context extension is not supported by all members",
    )


def test_add_of_a_client_lacking_a_required_capability() -> None:
    capable = Capabilities(versions=(1,), cipher_suites=(1,), extensions=(0xFF00,), credentials=(1,))
    required = make_extension(RequiredCapabilities(extension_types=(0xFF00,)))
    devices = make_group(extensions=[required], capabilities=capable)
    alice = devices[0]
    plain = make_device("dave").bundle()
    bad_commit(
        alice,
        devices,
        [Add(key_package=plain.key_package)],
        PUBLIC,
        ValidationError,
        "RFC 9420 §7.3: leaf lacks a required extension type",
    )


def test_commit_in_the_wrong_epoch() -> None:
    alice, bob, carol = devices = make_group()
    old = commit(alice, [bob, carol], force_path=True)
    assert_refused(old.commit, [bob, carol], WrongEpochError, "RFC 9420 §12.4.2: message epoch differs")
    future = seal_public(alice, frame(alice, Commit(proposals=()), epoch=alice.group.epoch + 1))
    assert_refused(future, [bob, carol], WrongEpochError, "RFC 9420 §12.4.2: message epoch differs")
    assert_works(devices, carol)


def test_proposal_in_the_wrong_epoch() -> None:
    alice, bob, carol = make_group()
    late_update = bob.group.propose_update(rng=bob.rng)
    commit(alice, [carol], force_path=True)
    assert_refused(late_update, [alice, carol], WrongEpochError, "RFC 9420 §12.4.2: message epoch differs")
    assert_works([alice, carol], carol)


def test_message_for_another_group() -> None:
    alice, bob, carol = devices = make_group()
    message = seal_public(alice, frame(alice, Commit(proposals=()), group_id=b"another group"))
    assert_refused(message, [bob, carol], WrongGroupError, "RFC 9420 §6: message is for another group")
    assert_works(devices, bob)


def test_bad_membership_tag() -> None:
    alice, bob, carol = devices = make_group()
    output = alice.group.commit(rng=alice.rng, now=NOW, force_path=True)
    message = reseal(alice, output.commit, membership_tag=flip(public_message(output.commit).membership_tag or b"x"))
    assert_refused(message, [bob, carol], MembershipTagError, "RFC 9420 §6.2: membership tag does not verify")
    alice.group.discard_pending_commit()
    assert_works(devices, carol)


def test_bad_signature(wire: WireFormat) -> None:
    alice, bob, carol = devices = make_group(handshake=wire)
    framed = frame(alice, Remove(removed=LeafIndex(2)))
    if wire is PUBLIC:
        message = seal_public(alice, framed, tamper=lambda auth: replace(auth, signature=flip(auth.signature)))
    else:  # signed by a key that is not alice's, encrypted with alice's ratchet
        impostor = make_device("mallory")
        group = alice.group
        signature = mp.sign_content(group.suite, impostor.signer, PRIVATE, framed, group.group_context.to_bytes())
        body = mp.encrypt_private(
            group.suite,
            content=framed,
            auth=FramedContentAuthData(signature=signature),
            secret_tree=group._secret_tree,
            sender_data_secret=group._state.secrets.sender_data_secret,
            random_bytes=alice.rng,
        )
        message = serialize(MLSMessage(body=body))
    assert_refused(
        message,
        [bob, carol],
        SignatureError,
        "RFC 9420 §6.1: FramedContent signature does not verify",
        ratchet_advances=wire is PRIVATE,
    )
    assert_works(devices, bob)


def test_confirmation_tag_mismatch() -> None:
    alice, bob, carol = devices = make_group()
    output = alice.group.commit(rng=alice.rng, now=NOW, force_path=True)
    tag = public_message(output.commit).auth.confirmation_tag
    assert tag is not None
    message = reseal(alice, output.commit, confirmation_tag=flip(tag))  # signature and membership tag valid
    assert_refused(message, [bob, carol], ConfirmationTagError, "RFC 9420 §8.2: confirmation tag does not verify")
    alice.group.discard_pending_commit()
    assert_works(devices, alice)


def test_handshake_message_from_a_blank_leaf() -> None:
    alice, bob, carol, dave = make_group(("alice", "bob", "carol", "dave"))
    commit(alice, [bob, carol, dave], proposals=[Remove(removed=LeafIndex(3))])
    devices = [alice, bob, carol]
    # Signed by alice, claiming dave's now blank leaf.
    message = seal_public(
        alice, frame(alice, Remove(removed=LeafIndex(1)), sender=SenderMember(leaf_index=LeafIndex(3)))
    )
    assert_refused(message, [bob, carol], UnknownSenderError, "RFC 9420 §6.1: sender leaf is blank")
    assert_works(devices, bob)


def test_own_message_echoed_back() -> None:
    alice, bob, carol = devices = make_group()
    proposal = alice.group.propose_update(rng=alice.rng)
    assert_refused(proposal, [alice], ReplayError, "a handshake message from this member itself")
    deliver(proposal, [bob, carol])
    assert_works(devices, bob)


def test_application_data_in_a_public_message() -> None:
    alice, bob, carol = devices = make_group()
    framed = frame(alice, b"in the clear")
    group = alice.group
    signature = mp.sign_content(group.suite, alice.signer, PUBLIC, framed, group.group_context.to_bytes())
    auth = FramedContentAuthData(signature=signature)
    body = PublicMessage(content=framed, auth=auth, membership_tag=b"\x00" * group.suite.hash_size)
    message = serialize(MLSMessage(body=body))
    # The membership tag is checked first; a correct one does not help either.
    assert_refused(message, [bob], MembershipTagError, "RFC 9420 §6.2")
    key = group._state.secrets.membership_key
    tag = group.suite.mac(
        key.reveal(), mp.framed_content_tbs(PUBLIC, framed, group.group_context.to_bytes()) + serialize(auth)
    )
    message = serialize(MLSMessage(body=replace(body, membership_tag=tag)))
    assert_refused(
        message, [bob, carol], ValidationError, "RFC 9420 §6: application data must not arrive as a PublicMessage"
    )
    assert_works(devices, carol)


# -- section 12.1.8: external senders ------------------------------------------------------------------------


def group_with_external_sender() -> tuple[list[Device], Device]:
    server = make_device("server")
    senders = ExternalSenders(
        external_senders=(ExternalSender(signature_key=server.signer.public_key, credential=server.credential),)
    )
    return make_group(extensions=[make_extension(senders)]), server


def test_external_proposal_from_an_unknown_sender() -> None:
    devices, server = group_with_external_sender()
    alice = devices[0]
    context = alice.group.group_context
    unlisted = make_device("mallory")
    message = external_proposal(context, Remove(removed=LeafIndex(1)), signer=unlisted.signer, sender_index=1)
    assert_refused(message, devices, UnknownSenderError, "RFC 9420 §12.1.8.1: no such external sender")
    message = external_proposal(context, Remove(removed=LeafIndex(1)), signer=unlisted.signer, sender_index=0)
    assert_refused(message, devices, SignatureError, "RFC 9420 §6.1: FramedContent signature does not verify")
    with pytest.raises(ValidationError, match="§12.1.8.1: this signer is not an external sender"):
        external_proposal(context, Remove(removed=LeafIndex(1)), signer=unlisted.signer)
    plain = make_group(seed=1)
    message = external_proposal(
        plain[0].group.group_context, Remove(removed=LeafIndex(1)), signer=server.signer, sender_index=0
    )
    assert_refused(message, plain, UnknownSenderError, "RFC 9420 §12.1.8.1: no such external sender")
    # The listed sender's Remove is accepted and committed.
    message = external_proposal(context, Remove(removed=LeafIndex(1)), signer=server.signer)
    deliver(message, devices)
    commit(alice, devices[1:])
    assert devices[1].group.status is GroupStatus.REMOVED
    assert_agree([alice, devices[2]])


def encoded_public_message(group_id: bytes, epoch: int, sender: bytes, proposal: Proposal, signature: bytes) -> bytes:
    """A PublicMessage written byte by byte: FramedContent refuses to *build* the sender/content
    pairs section 6.1 forbids, but a peer can still send them."""
    w = Writer()
    w.u16(1)  # mls10
    w.u16(PUBLIC)
    w.opaque(group_id)
    w.u64(epoch)
    w.fixed(sender)
    w.opaque(b"")  # authenticated_data
    w.u8(2)  # proposal
    proposal.encode(w)
    w.opaque(signature)
    return w.getvalue()


def test_external_sender_with_a_forbidden_proposal_type() -> None:
    devices, _ = group_with_external_sender()
    alice = devices[0]
    update = deserialize(MLSMessage, alice.group.propose_update(rng=alice.rng)).body
    assert isinstance(update, PublicMessage)
    sender = b"\x02" + (0).to_bytes(4, "big")  # external, sender_index 0
    message = encoded_public_message(alice.group.group_id, alice.group.epoch, sender, update.content.content, bytes(64))
    assert_refused(message, devices, DecodeError, "RFC 9420 §6.1: an external sender may only send add, remove, psk")
    assert_works(devices, alice)


def test_new_member_proposal_that_is_not_an_add() -> None:
    devices = make_group()
    alice = devices[0]
    sender = b"\x03"  # new_member_proposal
    message = encoded_public_message(
        alice.group.group_id, alice.group.epoch, sender, Remove(removed=LeafIndex(1)), bytes(64)
    )
    assert_refused(message, devices, DecodeError, "RFC 9420 §6.1: a new_member_proposal sender sends an add")
    # A real joiner's own Add, signed with another key than its KeyPackage's.
    dave = make_device("dave")
    dave_bundle = dave.bundle()
    good = new_member_add_proposal(alice.group.group_info(), dave_bundle)
    forged = public_message(good)
    forged = replace(forged, auth=replace(forged.auth, signature=flip(forged.auth.signature)))
    assert_refused(serialize(MLSMessage(body=forged)), devices, SignatureError, "RFC 9420 §6.1")
    deliver(good, devices)
    output = commit(devices[1], others(devices, devices[1]))  # bob commits dave's own Add
    assert output.welcome is not None
    dave.group = Group.join(output.welcome, dave_bundle, now=NOW)
    assert_agree([*devices, dave])


# -- proposals must be committed before application data --------------------------------------------------------


def test_application_data_waits_for_pending_proposals() -> None:
    alice, bob, carol = devices = make_group()
    deliver(alice.group.propose_update(rng=alice.rng), [bob, carol])
    with pytest.raises(LocalProtocolError, match=r"§12\.4: commit the pending proposals"):
        bob.group.encrypt_application(b"too early", rng=bob.rng)
    assert_works(devices, bob)


def test_credentials_are_checked_with_the_authentication_service() -> None:
    devices = make_group()
    alice = devices[0]
    nameless = make_device("")
    bundle = KeyPackageBundle.create(
        nameless.suite, nameless.signer, BasicCredential(identity=b""), rng=nameless.rng, now=NOW
    )
    bad_commit(
        alice,
        devices,
        [Add(key_package=bundle.key_package)],
        PUBLIC,
        ValidationError,
        "RFC 9420 §5.3.1: empty identity",
    )


def test_external_init_sent_as_a_proposal(wire: WireFormat) -> None:
    alice, bob, carol = devices = make_group(handshake=wire)
    kem_output = alice.suite.generate_hpke_key(alice.rng).public_key
    message = seal(alice, frame(alice, ExternalInit(kem_output=kem_output)), wire)
    assert_refused(
        message,
        [bob, carol],
        ValidationError,
        "RFC 9420 §12.1.6: an ExternalInit is only sent inside an external commit",
        ratchet_advances=wire is PRIVATE,
    )
    with pytest.raises(LocalProtocolError, match=r"§12\.1\.6"):
        alice.group.propose(ExternalInit(kem_output=kem_output), rng=alice.rng)
    assert_works(devices, bob)


def test_key_package_rules_in_an_add() -> None:
    alice, bob, carol = devices = make_group()
    dave = make_device("dave")
    expired = KeyPackageBundle.create(
        dave.suite,
        dave.signer,
        dave.credential,
        rng=dave.rng,
        now=NOW,
        lifetime=Lifetime(not_before=0, not_after=NOW - 1),
    )
    message = seal_public(alice, frame(alice, Add(key_package=expired.key_package)))
    assert_refused(
        message, [bob, carol], ValidationError, "RFC 9420 §7.3: current time not within the leaf node lifetime"
    )
    key = dave.suite.generate_hpke_key(dave.rng)
    leaf = LeafNode.sign(
        dave.suite,
        dave.signer,
        encryption_key=key.public_key,
        credential=dave.credential,
        capabilities=default_capabilities(dave.suite),
        leaf_node_source=LeafNodeSource.KEY_PACKAGE,
        lifetime=default_lifetime(NOW),
    )
    same_keys = KeyPackage.sign(dave.suite, dave.signer, init_key=key.public_key, leaf_node=leaf)
    bad_commit(
        alice,
        devices,
        [Add(key_package=same_keys)],
        PUBLIC,
        ValidationError,
        "RFC 9420 §10.1: KeyPackage init_key equals leaf encryption_key",
    )


def path_of(device: Device) -> tuple[bytes, UpdatePath]:
    """A real commit with a path by ``device`` (discarded), and its UpdatePath."""
    output = device.group.commit(rng=device.rng, now=NOW, force_path=True)
    device.group.discard_pending_commit()
    content = public_message(output.commit).content.content
    assert isinstance(content, Commit) and content.path is not None
    return output.commit, content.path


def test_commit_with_an_invalid_update_path() -> None:
    devices = make_group(("alice", "bob", "carol", "dave", "erin"))
    alice = devices[0]
    receivers = devices[1:]
    _, path = path_of(alice)
    assert len(path.nodes) == 3
    existing = devices[4].group.tree.member_leaf(LeafIndex(4)).encryption_key
    cases: list[tuple[UpdatePath, type[EnsealError], str]] = [
        (
            replace(path, nodes=path.nodes[:-1]),
            ValidationError,
            "RFC 9420 §7.6: UpdatePath length differs from the filtered direct path",
        ),
        (
            replace(path, nodes=(path.nodes[0], path.nodes[0], path.nodes[2])),
            ValidationError,
            "RFC 9420 §12.4.2: an UpdatePath public key appears twice",
        ),
        (
            replace(path, nodes=(replace(path.nodes[0], encryption_key=existing), *path.nodes[1:])),
            ValidationError,
            "RFC 9420 §12.4.2: an UpdatePath public key already appears in the tree",
        ),
        (
            replace(
                path,
                nodes=(
                    *path.nodes[:2],
                    replace(path.nodes[2], encryption_key=alice.suite.generate_hpke_key(alice.rng).public_key),
                ),
            ),
            ValidationError,
            "RFC 9420 §7.9.2: the committer's leaf parent_hash does not match the UpdatePath",
        ),
        (
            replace(path, leaf_node=replace(path.leaf_node, signature=flip(path.leaf_node.signature))),
            SignatureError,
            "RFC 9420 §7.3: leaf node signature invalid",
        ),
    ]
    for bad_path, error, rule in cases:
        message = seal_public(alice, frame(alice, Commit(proposals=(), path=bad_path)))
        assert_refused(message, receivers, error, rule)
    assert_works(devices, alice)


def test_commit_whose_path_secret_does_not_match() -> None:
    """A committer encrypts path secrets that do not belong to its UpdatePath's keys: the
    receivers' derived keys differ (section 7.5)."""
    devices = make_group(("alice", "bob", "carol", "dave"))
    alice = devices[0]
    _, path = path_of(alice)
    _, other_path = path_of(alice)  # same shape, other secrets
    mixed = replace(
        path,
        nodes=tuple(
            replace(node, encrypted_path_secret=other.encrypted_path_secret)
            for node, other in zip(path.nodes, other_path.nodes, strict=True)
        ),
    )
    message = seal_public(alice, frame(alice, Commit(proposals=(), path=mixed)))
    for receiver in devices[1:]:
        with pytest.raises((ValidationError, AuthenticationError), match=r"§7\.5"):
            receiver.group.process(message, now=NOW)
    assert_works(devices, alice)


def test_application_message_rules() -> None:
    alice, bob, carol = devices = make_group()
    message = alice.group.encrypt_application(b"once", rng=alice.rng)
    deliver(message, [bob])
    with pytest.raises(GenerationError, match=r"§9\.2: generation already consumed"):
        bob.group.process(message, now=NOW)
    elsewhere = make_group(("xavier", "yvonne"), seed="other")
    foreign = elsewhere[0].group.encrypt_application(b"wrong group", rng=elsewhere[0].rng)
    assert_refused(foreign, [bob, carol], WrongGroupError, "RFC 9420 §6: message is for another group")
    old = alice.group.encrypt_application(b"old", rng=alice.rng)
    for _ in range(MAX_PAST_EPOCHS + 1):
        commit(carol, [alice, bob], force_path=True)
    assert_refused(old, [bob], WrongEpochError, "RFC 9420 §12.4.2: message epoch differs")
    assert_works(devices, alice)


@pytest.mark.parametrize("handshake", [PUBLIC, PRIVATE], ids=["public", "private"])
def test_own_commit_echoed_back_is_the_pending_commit(handshake: WireFormat) -> None:
    alice, bob, carol = devices = make_group(handshake=handshake)
    output = alice.group.commit(rng=alice.rng, now=NOW, force_path=True)
    staged = alice.group.process(output.commit, now=NOW)
    assert staged is output.staged
    alice.group.merge(staged)
    deliver(output.commit, [bob, carol])
    assert_agree(devices)


# -- proposals that cannot all go into one commit (section 12.2) ------------------------------------------------


@pytest.mark.parametrize(
    "case",
    [
        "update-then-update",
        "reinit-and-update",
        "two-reinits",
        "two-gce",
        "same-psk-twice",
        "two-adds-of-one-client",
        "add-of-a-member",
        "add-of-a-member-who-is-removed",
        "psk-carol-lacks",
    ],
)
def test_committer_picks_a_valid_list(case: str) -> None:
    """Every proposal is valid on its own, together they are not: the committer still commits,
    choosing as section 12.2 prefers, and the group follows."""
    alice, bob, carol = devices = make_group(seed=case)
    dave = make_device("dave")
    for device in devices:
        device.psks[b"shared"] = b"s" * 32

    def sent(device: Device, message: bytes) -> ProposalRef:
        return propose(device, message, others(devices, device))

    expected: list[ProposalRef]
    if case == "update-then-update":  # the most recent Update of a leaf
        sent(bob, bob.group.propose_update(rng=bob.rng))
        expected = [sent(bob, bob.group.propose_update(rng=bob.rng))]
    elif case == "reinit-and-update":  # anything over a ReInit
        sent(alice, alice.group.propose_reinit(group_id=b"next", rng=alice.rng))
        expected = [sent(bob, bob.group.propose_update(rng=bob.rng))]
    elif case == "two-reinits":
        expected = [sent(alice, alice.group.propose_reinit(group_id=b"next", rng=alice.rng))]
        sent(bob, bob.group.propose_reinit(group_id=b"other", rng=bob.rng))
    elif case == "two-gce":  # the most recent GroupContextExtensions
        sent(alice, alice.group.propose_group_context_extensions([], rng=alice.rng))
        expected = [sent(bob, bob.group.propose_group_context_extensions([], rng=bob.rng))]
    elif case == "same-psk-twice":
        psk = alice.group.new_psk_id(b"shared", rng=alice.rng)
        expected = [sent(alice, alice.group.propose_psk(psk, rng=alice.rng))]
        sent(bob, bob.group.propose_psk(psk, rng=bob.rng))
    elif case == "two-adds-of-one-client":
        expected = [sent(alice, alice.group.propose_add(dave.bundle().key_package, rng=alice.rng, now=NOW))]
        sent(bob, bob.group.propose_add(dave.bundle().key_package, rng=bob.rng, now=NOW))
    elif case == "add-of-a-member":
        sent(alice, alice.group.propose_add(bob.bundle().key_package, rng=alice.rng, now=NOW))
        expected = []
    elif case == "add-of-a-member-who-is-removed":  # bob comes back with a new KeyPackage
        expected = [
            sent(alice, alice.group.propose_remove(bob.group.own_leaf, rng=alice.rng)),
            sent(alice, alice.group.propose_add(bob.bundle().key_package, rng=alice.rng, now=NOW)),
        ]
    else:  # a PSK the committer does not hold: its proposer can commit it
        del carol.psks[b"shared"]
        sent(alice, alice.group.propose_psk(alice.group.new_psk_id(b"shared", rng=alice.rng), rng=alice.rng))
        expected = []
    output = commit(carol, [alice, bob])
    assert list(output.staged.public.commit.proposals) == expected
    if case == "two-reinits":
        assert all(d.group.status is GroupStatus.REINIT_PENDING for d in devices)
        assert carol.group.reinit is not None and carol.group.reinit.group_id == b"next"
    elif case == "add-of-a-member-who-is-removed":
        assert bob.group.status is GroupStatus.REMOVED
        assert sorted(str(m.credential) for m in carol.group.members()) == sorted(str(d.credential) for d in devices)
    else:
        assert_agree(devices)
