"""Negative tests of joining (RFC 9420 sections 11.2, 11.3, 12.4.3): external commits, Welcomes,
branch and reinit Welcomes.

Bad input is built for real -- an external joiner signs its own tampered external commit, a
committer signs a GroupInfo with a key other than its leaf's, a Welcome carries the wrong tree
or PSKs -- and each refusal names its rule; members that refuse a message are left unchanged.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from enseal.crypto import cipher_suite
from enseal.errors import (
    AuthenticationError,
    ConfirmationTagError,
    LocalProtocolError,
    SignatureError,
    ValidationError,
    WrongEpochError,
)
from enseal.mls import message_protection as mp
from enseal.mls.code_points import ExtensionType, ResumptionPSKUsage, WireFormat
from enseal.mls.commit import Commit
from enseal.mls.extensions import ExternalPub, make_extension
from enseal.mls.framing import (
    FramedContentAuthData,
    MLSMessage,
    PublicMessage,
)
from enseal.mls.group import Group, GroupStatus
from enseal.mls.group_info import GroupInfo
from enseal.mls.key_package import KeyPackage
from enseal.mls.key_package_bundle import KeyPackageBundle
from enseal.mls.proposals import (
    Add,
    ExternalInit,
    GroupContextExtensions,
    PreSharedKey,
    ProposalOrRef,
    Remove,
    ResumptionPSKID,
    Update,
)
from enseal.mls.welcome import Welcome
from enseal.mls.wire import deserialize, serialize
from enseal.types import CipherSuiteId, LeafIndex

from .devices import (
    NOW,
    Device,
    assert_agree,
    assert_refused,
    assert_works,
    commit,
    deliver,
    flip,
    make_device,
    make_group,
    propose,
    public_message,
)

PUBLIC = WireFormat.PUBLIC_MESSAGE


# -- section 12.4.3.2: external commits -------------------------------------------------------------------------


def external_join(devices: list[Device], name: str = "dave") -> tuple[Device, Group, bytes]:
    joiner = make_device(name)
    group, message = Group.join_external(
        devices[0].group.group_info(),
        signer=joiner.signer,
        credential=joiner.credential,
        rng=joiner.rng,
        now=NOW,
        config=joiner.config,
    )
    return joiner, group, message


def resigned_external(
    devices: list[Device],
    joiner: Device,
    message: bytes,
    *,
    proposals: tuple[ProposalOrRef, ...] | None = None,
    drop_path: bool = False,
) -> bytes:
    """The joiner's external commit with other proposals (or no path), signed again by it."""
    original = public_message(message)
    content = original.content.content
    assert isinstance(content, Commit)
    changed = Commit(
        proposals=content.proposals if proposals is None else proposals, path=None if drop_path else content.path
    )
    framed = replace(original.content, content=changed)
    context = devices[0].group.group_context.to_bytes()
    signature = mp.sign_content(joiner.suite, joiner.signer, PUBLIC, framed, context)
    auth = FramedContentAuthData(signature=signature, confirmation_tag=original.auth.confirmation_tag)
    return serialize(MLSMessage(body=PublicMessage(content=framed, auth=auth)))


def external_init_of(message: bytes) -> ExternalInit:
    content = public_message(message).content.content
    assert isinstance(content, Commit)
    init = content.proposals[0]
    assert isinstance(init, ExternalInit)
    return init


def test_external_commit_proposal_rules() -> None:
    devices = make_group()
    alice, bob, carol = devices
    dave, _, message = external_join(devices)
    init = external_init_of(message)
    cases: list[tuple[tuple[ProposalOrRef, ...], str]] = [
        ((), "RFC 9420 §12.2: an external commit needs exactly one ExternalInit"),
        ((init, init), "RFC 9420 §12.2: an external commit needs exactly one ExternalInit"),
        (
            (init, Add(key_package=make_device("erin").bundle().key_package)),
            "RFC 9420 §12.2: external commit may only hold ExternalInit, one Remove, PSKs",
        ),
        (
            (init, GroupContextExtensions(extensions=())),
            "RFC 9420 §12.2: external commit may only hold ExternalInit, one Remove, PSKs",
        ),
        (
            (init, Remove(removed=LeafIndex(1)), Remove(removed=LeafIndex(2))),
            "RFC 9420 §12.2: external commit may only hold ExternalInit, one Remove, PSKs",
        ),
        (
            (init, Update(leaf_node=bob.group.tree.member_leaf(bob.group.own_leaf))),
            "RFC 9420 §12.1.2: an Update is sent by a member",
        ),
        ((ExternalInit(kem_output=b"\x01\x02"),), "RFC 9420 §12.1.6: ExternalInit kem_output is not a KEM output"),
        ((init, Remove(removed=LeafIndex(1))), "RFC 9420 §12.2: external commit removes a different client"),
    ]
    for proposals, rule in cases:
        assert_refused(resigned_external(devices, dave, message, proposals=proposals), devices, ValidationError, rule)
    assert_refused(
        resigned_external(devices, dave, message, drop_path=True),
        devices,
        ValidationError,
        "RFC 9420 §12.4.3.2: an external commit must contain a path",
    )
    # A proposal by reference, even one every member holds.
    ref = propose(alice, alice.group.propose_remove(LeafIndex(2), rng=alice.rng), [bob, carol])
    assert_refused(
        resigned_external(devices, dave, message, proposals=(init, ref)),
        [bob, carol],
        ValidationError,
        "RFC 9420 §12.4.3.2: an external commit includes no proposal by reference",
    )
    # The untouched external commit is for the epoch before alice's pending proposal: still fine.
    deliver(message, devices)
    assert alice.group.epoch == 2


def test_external_commit_for_an_old_epoch_and_with_a_bad_signature() -> None:
    devices = make_group()
    alice, bob, carol = devices
    _, _, message = external_join(devices)
    forged = public_message(message)
    forged = replace(forged, auth=replace(forged.auth, signature=flip(forged.auth.signature)))
    assert_refused(serialize(MLSMessage(body=forged)), devices, SignatureError, "RFC 9420 §6.1")
    assert_refused(reseal_tag(message), devices, ConfirmationTagError, "RFC 9420 §8.2")
    commit(bob, [alice, carol], force_path=True)
    assert_refused(message, devices, WrongEpochError, "RFC 9420 §12.4.2: message epoch differs")
    assert_works(devices, carol)


def reseal_tag(message: bytes) -> bytes:
    original = public_message(message)
    tag = original.auth.confirmation_tag
    assert tag is not None
    return serialize(MLSMessage(body=replace(original, auth=replace(original.auth, confirmation_tag=flip(tag)))))


def test_external_join_needs_external_pub_and_a_valid_group_info() -> None:
    devices = make_group()
    alice = devices[0]
    dave = make_device("dave")
    with pytest.raises(ValidationError, match=r"§12\.4\.3\.2: GroupInfo has no external_pub"):
        Group.join_external(
            alice.group.group_info(with_external_pub=False),
            signer=dave.signer,
            credential=dave.credential,
            rng=dave.rng,
            now=NOW,
        )
    info = deserialize(MLSMessage, alice.group.group_info()).body
    assert isinstance(info, GroupInfo)
    tampered = serialize(MLSMessage(body=replace(info, signature=flip(info.signature))))
    with pytest.raises(SignatureError, match=r"§12\.4\.3: GroupInfo signature invalid"):
        Group.join_external(tampered, signer=dave.signer, credential=dave.credential, rng=dave.rng, now=NOW)
    with pytest.raises(ValidationError, match=r"§12\.4\.3\.3: no ratchet tree in the GroupInfo"):
        Group.join_external(
            alice.group.group_info(with_tree=False),
            signer=dave.signer,
            credential=dave.credential,
            rng=dave.rng,
            now=NOW,
        )
    # external_pub must be a KEM public key of the suite (a 31-byte "X25519 key" is not).
    extensions = tuple(
        make_extension(ExternalPub(external_pub=bytes(31))) if e.extension_type == ExtensionType.EXTERNAL_PUB else e
        for e in info.extensions
    )
    bad_pub = GroupInfo.sign(alice.suite, alice.signer, group_context=info.group_context, extensions=extensions,
                             confirmation_tag=info.confirmation_tag, signer=info.signer)
    with pytest.raises(ValidationError, match=r"§12\.4\.3\.2: external_pub is not a key of the cipher suite"):
        Group.join_external(serialize(MLSMessage(body=bad_pub)), signer=dave.signer, credential=dave.credential,
                            rng=dave.rng, now=NOW)
    with pytest.raises(ValidationError, match=r"§12\.4\.3\.2: no earlier leaf of this client to resync"):
        Group.join_external(
            alice.group.group_info(), signer=dave.signer, credential=dave.credential, rng=dave.rng, now=NOW, resync=True
        )


# -- section 12.4.3.1: joining from a Welcome -------------------------------------------------------------------


def add_dave(devices: list[Device], *, with_tree: bool = True) -> tuple[Device, KeyPackageBundle, bytes, Group]:
    alice = devices[0]
    dave = make_device("dave")
    bundle = dave.bundle()
    committer = alice.group
    if not with_tree:
        committer = Group.from_bytes(committer.to_bytes(), config=replace(alice.config, ratchet_tree_in_welcome=False))
    output = committer.commit(rng=alice.rng, now=NOW, proposals=[Add(key_package=bundle.key_package)])
    committer.merge_pending_commit()
    assert output.welcome is not None
    return dave, bundle, output.welcome, committer


def test_welcome_for_another_key_package() -> None:
    devices = make_group()
    dave, _, welcome, _ = add_dave(devices)
    with pytest.raises(ValidationError, match=r"§12\.4\.3\.1: Welcome is not for this KeyPackage"):
        Group.join(welcome, dave.bundle(), now=NOW)
    body = deserialize(MLSMessage, welcome).body
    assert isinstance(body, Welcome)
    other_suite = serialize(MLSMessage(body=replace(body, cipher_suite=CipherSuiteId(3))))
    with pytest.raises(ValidationError, match=r"§12\.4\.3\.1: Welcome cipher suite differs"):
        Group.join(other_suite, dave.bundle(), now=NOW)


def test_welcome_whose_secrets_do_not_decrypt() -> None:
    devices = make_group()
    _, bundle, welcome, _ = add_dave(devices)
    body = deserialize(MLSMessage, welcome).body
    assert isinstance(body, Welcome)
    broken = replace(body, encrypted_group_info=flip(body.encrypted_group_info))
    with pytest.raises(AuthenticationError, match=r"§12\.4\.3\.1"):
        Group.join(serialize(MLSMessage(body=broken)), bundle, now=NOW)


def test_welcome_with_a_tree_of_another_epoch() -> None:
    devices = make_group()
    stale_tree = devices[0].group.tree.to_nodes()
    _, bundle, welcome, committer = add_dave(devices, with_tree=False)
    with pytest.raises(ValidationError, match=r"§12\.4\.3\.3: no ratchet tree"):
        Group.join(welcome, bundle, now=NOW)
    with pytest.raises(ValidationError, match=r"§12\.4\.3\.1: tree hash does not match the GroupInfo's"):
        Group.join(welcome, bundle, now=NOW, ratchet_tree=stale_tree)
    joined = Group.join(welcome, bundle, now=NOW, ratchet_tree=committer.tree.to_nodes())
    assert joined.epoch_authenticator == committer.epoch_authenticator


def test_welcome_with_a_group_info_signed_by_another_key() -> None:
    """A committer whose signing key is not the one in its leaf: the GroupInfo of its Welcome
    does not verify for the joiner."""
    devices = make_group()
    alice = devices[0]
    blob = bytearray(alice.group.to_bytes().reveal())
    # version u8, own_leaf u32, status u8, scheme u16, then the signer's private key as opaque<V>.
    assert blob[8] == 32
    blob[9:41] = make_device("mallory").signer.private_bytes().reveal()
    impostor = Group.from_bytes(bytes(blob), config=alice.config)
    dave = make_device("dave")
    bundle = dave.bundle()
    output = impostor.commit(rng=alice.rng, now=NOW, proposals=[Add(key_package=bundle.key_package)])
    assert output.welcome is not None
    with pytest.raises(SignatureError, match=r"§12\.4\.3: GroupInfo signature invalid"):
        Group.join(output.welcome, bundle, now=NOW)
    # The other members refuse the impostor's commit too.
    assert_refused(output.commit, devices[1:], SignatureError, "RFC 9420 §6.1: FramedContent signature")
    assert_works(devices, alice)


def test_welcome_with_a_psk_the_joiner_lacks() -> None:
    devices = make_group()
    alice = devices[0]
    for d in devices:
        d.psks[b"members-only"] = b"m" * 32
    dave = make_device("dave")
    bundle = dave.bundle()
    output = commit(
        alice,
        devices[1:],
        proposals=[
            Add(key_package=bundle.key_package),
            PreSharedKey(psk=alice.group.new_psk_id(b"members-only", rng=alice.rng)),
        ],
    )
    assert output.welcome is not None
    with pytest.raises(ValidationError, match=r"§12\.4\.3\.1: a pre-shared key of the Welcome is not available"):
        Group.join(output.welcome, bundle, now=NOW, config=dave.config)
    dave.psks[b"members-only"] = b"m" * 32
    dave.group = Group.join(output.welcome, bundle, now=NOW, config=dave.config)
    assert_agree([*devices, dave])


# -- sections 11.2, 11.3 and 12.4.3.1: branch and reinit Welcomes ------------------------------------------------


def welcome_with_branch_psk(group: Group, parent: Device, key_packages: list[KeyPackage]) -> bytes:
    """``group`` commits Adds of ``key_packages`` with a branch PSK of ``parent``'s group, made by
    hand so that it can break the rules Group.branch keeps; the Welcome."""
    psk = ResumptionPSKID(usage=ResumptionPSKUsage.BRANCH, psk_group_id=parent.group.group_id,
                          psk_epoch=parent.group.epoch, psk_nonce=parent.rng(32))
    output = group.commit(
        rng=parent.rng,
        now=NOW,
        proposals=[*(Add(key_package=kp) for kp in key_packages), PreSharedKey(psk=psk)],
        psk_usages=frozenset({ResumptionPSKUsage.BRANCH}),
        resumption_sources={parent.group.group_id: parent.group},
    )
    assert output.welcome is not None
    return output.welcome


def test_branch_welcome_checks() -> None:
    devices = make_group()
    alice, bob, carol = devices
    bob_bundle = bob.bundle()
    # A branch that admits a client who is not in the old group: Group.branch refuses to make it...
    outsider = make_device("mallory").bundle()
    with pytest.raises(LocalProtocolError, match=r"§11\.3: every member of a branch must be a member"):
        alice.group.branch(
            group_id=b"sub", key_packages=[bob_bundle.key_package, outsider.key_package], rng=alice.rng, now=NOW
        )
    # ...and a joiner refuses one made by hand (another implementation may not check).
    handmade = Group.create(
        alice.suite, group_id=b"sub", signer=alice.signer, credential=alice.credential, rng=alice.rng, now=NOW
    )
    welcome = welcome_with_branch_psk(handmade, alice, [bob_bundle.key_package, outsider.key_package])
    with pytest.raises(ValidationError, match=r"§11\.3: a branch member is not a member of the old group"):
        Group.join(welcome, bob_bundle, now=NOW, resumption_sources={alice.group.group_id: bob.group})
    # Without the old group, the branch PSK is not available.
    _, output = alice.group.branch(group_id=b"sub", key_packages=[bob_bundle.key_package], rng=alice.rng, now=NOW)
    assert output.welcome is not None
    with pytest.raises(ValidationError, match=r"§12\.4\.3\.1: a pre-shared key of the Welcome is not available"):
        Group.join(output.welcome, bob_bundle, now=NOW)
    # A branch PSK in a Welcome to a later epoch of the new group.
    sub, _ = alice.group.branch(group_id=b"sub2", key_packages=[carol.bundle().key_package], rng=alice.rng, now=NOW)
    late = welcome_with_branch_psk(sub, alice, [bob_bundle.key_package])
    with pytest.raises(ValidationError, match=r"§12\.4\.3\.1: a branch/reinit group starts at epoch 1"):
        Group.join(late, bob_bundle, now=NOW, resumption_sources={alice.group.group_id: bob.group})
    # A branch into another cipher suite.
    suite3 = cipher_suite(3)
    other = Group.create(
        suite3, group_id=b"sub3", signer=alice.signer, credential=alice.credential, rng=alice.rng, now=NOW
    )
    bob3 = bob.bundle(suite3)
    welcome3 = welcome_with_branch_psk(other, alice, [bob3.key_package])
    with pytest.raises(ValidationError, match=r"§11\.3: a branch keeps the version and cipher suite"):
        Group.join(welcome3, bob3, now=NOW, resumption_sources={alice.group.group_id: bob.group})
    # Two branch PSKs.
    twice = Group.create(
        alice.suite, group_id=b"sub4", signer=alice.signer, credential=alice.credential, rng=alice.rng, now=NOW
    )
    psks = [
        PreSharedKey(
            psk=ResumptionPSKID(
                usage=ResumptionPSKUsage.BRANCH,
                psk_group_id=alice.group.group_id,
                psk_epoch=alice.group.epoch,
                psk_nonce=alice.rng(32),
            )
        )
        for _ in range(2)
    ]
    out4 = twice.commit(
        rng=alice.rng,
        now=NOW,
        proposals=[Add(key_package=bob_bundle.key_package), *psks],
        psk_usages=frozenset({ResumptionPSKUsage.BRANCH}),
        resumption_sources={alice.group.group_id: alice.group},
    )
    assert out4.welcome is not None
    with pytest.raises(ValidationError, match=r"§12\.4\.3\.1: more than one reinit/branch resumption PSK"):
        Group.join(out4.welcome, bob_bundle, now=NOW, resumption_sources={alice.group.group_id: bob.group})
    assert_works(devices, bob)


def reinit_pending(devices: list[Device], *, group_id: bytes = b"renewed") -> None:
    alice = devices[0]
    ref = propose(alice, alice.group.propose_reinit(group_id=group_id, rng=alice.rng), devices[1:])
    assert ref
    commit(alice, devices[1:])
    assert all(d.group.status is GroupStatus.REINIT_PENDING for d in devices)


def test_reinit_welcome_checks() -> None:
    devices = make_group()
    alice, bob, carol = devices
    old_alice = alice.group
    # Before any ReInit was committed, a reinit Welcome is refused.
    early = Group.create(
        alice.suite, group_id=b"renewed", signer=alice.signer, credential=alice.credential, rng=alice.rng, now=NOW
    )
    bob_bundle = bob.bundle()
    psk = ResumptionPSKID(
        usage=ResumptionPSKUsage.REINIT,
        psk_group_id=old_alice.group_id,
        psk_epoch=old_alice.epoch,
        psk_nonce=alice.rng(32),
    )
    out = early.commit(
        rng=alice.rng,
        now=NOW,
        proposals=[Add(key_package=bob_bundle.key_package), PreSharedKey(psk=psk)],
        psk_usages=frozenset({ResumptionPSKUsage.REINIT}),
        resumption_sources={old_alice.group_id: old_alice},
    )
    assert out.welcome is not None
    with pytest.raises(ValidationError, match=r"§12\.4\.3\.1: the resumed group's last commit held no ReInit"):
        Group.join(out.welcome, bob_bundle, now=NOW, resumption_sources={old_alice.group_id: bob.group})

    reinit_pending(devices)
    with pytest.raises(LocalProtocolError, match="cannot send"):
        bob.group.encrypt_application(b"after reinit", rng=bob.rng)
    bob_bundle, carol_bundle = bob.bundle(), carol.bundle()
    # A new group with another group_id than the ReInit's.
    wrong = Group.create(
        alice.suite, group_id=b"elsewhere", signer=alice.signer, credential=alice.credential, rng=alice.rng, now=NOW
    )
    psk = ResumptionPSKID(
        usage=ResumptionPSKUsage.REINIT,
        psk_group_id=alice.group.group_id,
        psk_epoch=alice.group.epoch,
        psk_nonce=alice.rng(32),
    )
    out = wrong.commit(
        rng=alice.rng,
        now=NOW,
        proposals=[Add(key_package=bob_bundle.key_package), PreSharedKey(psk=psk)],
        psk_usages=frozenset({ResumptionPSKUsage.REINIT}),
        resumption_sources={alice.group.group_id: alice.group},
    )
    assert out.welcome is not None
    with pytest.raises(ValidationError, match=r"§12\.4\.3\.1: the new group does not match the ReInit"):
        Group.join(out.welcome, bob_bundle, now=NOW, resumption_sources={alice.group.group_id: bob.group})
    # A reinitialized group that leaves carol out.
    _, out = alice.group.reinitialize(key_packages=[bob_bundle.key_package], rng=alice.rng, now=NOW)
    assert out.welcome is not None
    with pytest.raises(ValidationError, match=r"§12\.4\.3\.1: a member of the old group is missing after reinit"):
        Group.join(out.welcome, bob_bundle, now=NOW, resumption_sources={alice.group.group_id: bob.group})
    # The proper one.
    new_alice, out = alice.group.reinitialize(
        key_packages=[bob_bundle.key_package, carol_bundle.key_package], rng=alice.rng, now=NOW
    )
    assert out.welcome is not None
    new_bob = Group.join(out.welcome, bob_bundle, now=NOW, resumption_sources={alice.group.group_id: bob.group})
    new_carol = Group.join(out.welcome, carol_bundle, now=NOW, resumption_sources={alice.group.group_id: carol.group})
    assert new_alice.epoch == 1
    assert new_bob.epoch_authenticator == new_carol.epoch_authenticator == new_alice.epoch_authenticator


def test_reinit_to_another_signature_scheme_needs_a_key_of_that_scheme() -> None:
    devices = make_group()
    alice = devices[0]
    ref = propose(
        alice, alice.group.propose_reinit(group_id=b"p256", suite=cipher_suite(2), rng=alice.rng), devices[1:]
    )
    assert ref
    commit(alice, devices[1:])
    with pytest.raises(LocalProtocolError, match="needs a signing key of its signature scheme"):
        alice.group.reinitialize(key_packages=[], rng=alice.rng, now=NOW)
    p256 = cipher_suite(2)
    new_group, _ = alice.group.reinitialize(
        key_packages=[], rng=alice.rng, now=NOW, signer=p256.generate_signature_key(alice.rng)
    )
    assert new_group.suite.id == 2
