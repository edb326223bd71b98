"""Joining a group (RFC 9420 section 12.4.3): from a Welcome, with every check of section
12.4.3.1 including those for branch and reinit Welcomes, and by external commit (section
12.4.3.2) using a GroupInfo with ``external_pub``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from enseal.crypto import RandomSource, SignaturePrivateKey, cipher_suite
from enseal.errors import CryptoError, ValidationError
from enseal.mls import key_schedule as ks
from enseal.mls import message_protection as mp
from enseal.mls import transcript
from enseal.mls.code_points import ResumptionPSKUsage, WireFormat
from enseal.mls.commit import Commit
from enseal.mls.credential import Credential
from enseal.mls.extensions import Extension, ExternalPub, find_extension
from enseal.mls.framing import (
    AuthenticatedContent,
    FramedContent,
    FramedContentAuthData,
    MLSMessage,
    PublicMessage,
    SenderNewMemberCommit,
)
from enseal.mls.group_config import GroupConfig
from enseal.mls.group_info import GroupInfo
from enseal.mls.group_welcome import open_group_info, open_group_secrets
from enseal.mls.key_package_bundle import KeyPackageBundle, default_capabilities
from enseal.mls.leaf_node import Capabilities
from enseal.mls.proposal_list import ResolvedProposal, apply_proposals, same_identity
from enseal.mls.proposals import (
    ExternalInit,
    ExternalPSKID,
    PreSharedKey,
    PreSharedKeyID,
    Proposal,
    Remove,
    ResumptionPSKID,
)
from enseal.mls.psk import psk_secret as chain_psks
from enseal.mls.public_epoch import PublicEpoch
from enseal.mls.ratchet_tree import RatchetTree
from enseal.mls.tree_nodes import Node, RatchetTreeExtension
from enseal.mls.tree_private_keys import TreePrivateKeys
from enseal.mls.tree_validation import validate_ratchet_tree
from enseal.mls.treekem import create_update_path
from enseal.mls.welcome import Welcome
from enseal.mls.wire import deserialize, serialize
from enseal.types import Epoch

if TYPE_CHECKING:
    from enseal.mls.group import Group


def _tree_nodes(group_info: GroupInfo, ratchet_tree: Sequence[Node | None] | None) -> Sequence[Node | None]:
    if ratchet_tree is not None:
        return ratchet_tree
    extension = find_extension(group_info.extensions, RatchetTreeExtension)
    if extension is None:
        raise ValidationError("RFC 9420 §12.4.3.3: no ratchet tree in the GroupInfo and none supplied")
    return extension.ratchet_tree


def _verified_tree(
    group_info: GroupInfo, ratchet_tree: Sequence[Node | None] | None, config: GroupConfig
) -> RatchetTree:
    """The tree checked against the GroupInfo ("Verify the integrity of the ratchet tree"), and
    the GroupInfo signature checked with the signer's leaf."""
    tree = validate_ratchet_tree(_tree_nodes(group_info, ratchet_tree), group_info.group_context, now=None,
                                 validate_credential=config.validate_credential)
    signer = tree.leaf(group_info.signer)
    if signer is None:
        raise ValidationError("RFC 9420 §12.4.3.1: GroupInfo signer is a blank leaf")
    suite = tree.suite
    group_info.verify_signature(suite, signer.signature_key)
    # "Extensions in GroupInfo.group_context.extensions, however, MUST be supported by the new joiner."
    tree.check_members_support(group_info.group_context.extensions)
    return tree


def _psk_value(psk: PreSharedKeyID, *, config: GroupConfig, sources: Mapping[bytes, Group]) -> bytes:
    value: bytes | None
    if isinstance(psk, ExternalPSKID):
        value = config.external_psk(psk.psk_id)
    else:
        assert isinstance(psk, ResumptionPSKID)
        source = sources.get(psk.psk_group_id)
        value = source.resumption_psk(psk.psk_epoch) if source is not None else \
            config.resumption_psk(psk.psk_group_id, psk.psk_epoch)
    if value is None:
        # "If a PreSharedKeyID is part of the GroupSecrets and the client is not in possession of
        # the corresponding PSK, return an error."
        raise ValidationError("RFC 9420 §12.4.3.1: a pre-shared key of the Welcome is not available")
    return value


def join_from_welcome(
    cls: type[Group],
    data: bytes,
    bundle: KeyPackageBundle,
    *,
    now: int,
    ratchet_tree: Sequence[Node | None] | None,
    config: GroupConfig,
    resumption_sources: Mapping[bytes, Group],
) -> Group:
    welcome = deserialize(MLSMessage, data).body
    if not isinstance(welcome, Welcome):
        raise ValidationError("expected a Welcome", type(welcome).__name__)
    suite = cipher_suite(bundle.key_package.cipher_suite)
    secrets = open_group_secrets(suite, welcome, key_package_ref=bundle.ref, init_key=bundle.init_key)
    special = [p for p in secrets.psks
               if isinstance(p, ResumptionPSKID) and p.usage in (ResumptionPSKUsage.REINIT, ResumptionPSKUsage.BRANCH)]
    if len(special) > 1:
        raise ValidationError("RFC 9420 §12.4.3.1: more than one reinit/branch resumption PSK")
    psk_secret = chain_psks(suite, [
        (serialize(psk), _psk_value(psk, config=config, sources=resumption_sources)) for psk in secrets.psks
    ])
    joiner = ks.JoinerSecret(secrets.joiner_secret.reveal())
    group_info = open_group_info(suite, welcome, joiner_secret=joiner, psk_secret=psk_secret)
    context = group_info.group_context
    # "Verify that the cipher_suite in the GroupInfo matches the cipher_suite in the KeyPackage."
    if context.cipher_suite != suite.id:
        raise ValidationError("RFC 9420 §12.4.3.1: GroupInfo cipher suite differs from the KeyPackage's")
    tree = _verified_tree(group_info, ratchet_tree, config)
    my_leaf = tree.find_leaf(bundle.key_package.leaf_node)
    if my_leaf is None:
        raise ValidationError("RFC 9420 §12.4.3.1: the tree has no leaf identical to this KeyPackage's")
    path_secret = secrets.path_secret.path_secret if secrets.path_secret is not None else None
    private_keys = TreePrivateKeys.for_joiner(tree, my_leaf, bundle.leaf_key, committer=group_info.signer,
                                              path_secret=path_secret)
    epoch_secrets = ks.epoch_secrets(suite, joiner, psk_secret, context.to_bytes())
    # "Verify the confirmation tag in the GroupInfo using the derived confirmation key and the
    # confirmed_transcript_hash from the GroupInfo."
    transcript.verify_confirmation_tag(suite, epoch_secrets.confirmation_key, context.confirmed_transcript_hash,
                                       group_info.confirmation_tag)
    if special:
        _check_resumption(special[0], group_info, tree, resumption_sources, config)
    public = PublicEpoch.of(suite, context, tree, group_info.confirmation_tag)
    return cls._joined(public=public, secrets=epoch_secrets, private_keys=private_keys, signer=bundle.signer,
                       config=config)


def _credentials(tree: RatchetTree) -> list[Credential]:
    return [leaf.credential for _, leaf in tree.members()]


def _check_resumption(
    psk: ResumptionPSKID, group_info: GroupInfo, tree: RatchetTree, sources: Mapping[bytes, Group],
    config: GroupConfig,
) -> None:
    """The extra checks of a branch or reinit Welcome (section 12.4.3.1)."""
    context = group_info.group_context
    # "verify that the epoch field in the GroupInfo is equal to 1"
    if context.epoch != 1:
        raise ValidationError("RFC 9420 §12.4.3.1: a branch/reinit group starts at epoch 1")
    old = sources.get(psk.psk_group_id)
    if old is None:
        raise ValidationError("RFC 9420 §12.4.3.1: the group this Welcome resumes is unknown to this client")
    same = config.same_client or same_identity
    new_members = _credentials(tree)
    old_members = _credentials(old.tree)
    if psk.usage is ResumptionPSKUsage.REINIT:
        reinit = old.reinit
        if reinit is None or old.epoch != psk.psk_epoch:
            raise ValidationError("RFC 9420 §12.4.3.1: the resumed group's last commit held no ReInit")
        if (reinit.group_id, reinit.version, reinit.cipher_suite, reinit.extensions) != (
                context.group_id, context.version, context.cipher_suite, context.extensions):
            raise ValidationError("RFC 9420 §12.4.3.1: the new group does not match the ReInit")
        if not all(any(same(o, n) for n in new_members) for o in old_members):
            raise ValidationError("RFC 9420 §12.4.3.1: a member of the old group is missing after reinit")
    else:
        if (context.version, context.cipher_suite) != (old.group_context.version, old.group_context.cipher_suite):
            raise ValidationError("RFC 9420 §11.3: a branch keeps the version and cipher suite")
        if not all(any(same(o, n) for o in old_members) for n in new_members):
            raise ValidationError("RFC 9420 §11.3: a branch member is not a member of the old group")


def join_by_external_commit(
    cls: type[Group],
    data: bytes,
    *,
    signer: SignaturePrivateKey,
    credential: Credential,
    rng: RandomSource,
    now: int,
    ratchet_tree: Sequence[Node | None] | None,
    config: GroupConfig,
    resync: bool,
    psks: Sequence[PreSharedKeyID],
    capabilities: Capabilities | None,
    leaf_extensions: Sequence[Extension],
    authenticated_data: bytes,
) -> tuple[Group, bytes]:
    group_info = deserialize(MLSMessage, data).body
    if not isinstance(group_info, GroupInfo):
        raise ValidationError("expected a GroupInfo", type(group_info).__name__)
    tree = _verified_tree(group_info, ratchet_tree, config)
    suite = tree.suite
    external_pub = find_extension(group_info.extensions, ExternalPub)
    if external_pub is None:
        raise ValidationError("RFC 9420 §12.4.3.2: GroupInfo has no external_pub")
    try:
        suite.kem.check_public_key(external_pub.external_pub)
    except CryptoError as exc:
        raise ValidationError("RFC 9420 §12.4.3.2: external_pub is not a key of the cipher suite", str(exc)) from exc
    public = PublicEpoch.of(suite, group_info.group_context, tree, group_info.confirmation_tag)
    kem_output, init_secret = ks.external_init_sender(suite, external_pub.external_pub, rng)
    proposals: list[Proposal] = [ExternalInit(kem_output=kem_output)]
    if resync:
        same = config.same_client or same_identity
        prior = next((index for index, leaf in tree.members() if same(leaf.credential, credential)), None)
        if prior is None:
            raise ValidationError("RFC 9420 §12.4.3.2: no earlier leaf of this client to resync")
        proposals.append(Remove(removed=prior))
    proposals.extend(PreSharedKey(psk=psk) for psk in psks)
    sender = SenderNewMemberCommit()
    applied = apply_proposals(
        [ResolvedProposal(proposal=p, sender=sender, ref=None) for p in proposals],
        suite=suite, tree=tree, group_context=public.group_context, committer=None, now=now,
        validate_credential=config.validate_credential, same_client=config.same_client,
        joiner_credential=credential, max_lifetime=config.max_key_package_lifetime,
    )
    staged = applied.tree
    own_leaf = staged.next_free_leaf()
    pending = create_update_path(
        staged, sender=own_leaf, group_id=public.group_id, signing_key=signer, credential=credential,
        capabilities=capabilities or default_capabilities(suite), extensions=leaf_extensions, rng=rng,
    )
    provisional = public.group_context.evolve(epoch=Epoch(public.epoch + 1), tree_hash=staged.tree_hash(),
                                              extensions=applied.extensions)
    commit = Commit(proposals=tuple(proposals), path=pending.encrypt(provisional, exclude=(), rng=rng))
    framed = FramedContent(group_id=public.group_id, epoch=public.epoch, sender=sender,
                           authenticated_data=authenticated_data, content=commit)
    signature = mp.sign_content(suite, signer, WireFormat.PUBLIC_MESSAGE, framed, public.context_bytes)
    confirmed = transcript.confirmed_transcript_hash(
        suite, public.interim_transcript_hash,
        transcript.confirmed_transcript_input(AuthenticatedContent(
            wire_format=WireFormat.PUBLIC_MESSAGE, content=framed,
            auth=FramedContentAuthData(signature=signature, confirmation_tag=b""),
        )),
    )
    new_context = provisional.evolve(confirmed_transcript_hash=confirmed)
    psk_secret = chain_psks(suite, [(serialize(p), _psk_value(p, config=config, sources={})) for p in psks])
    _, secrets = ks.advance(suite, init_secret, pending.commit_secret, psk_secret, new_context.to_bytes())
    tag = transcript.confirmation_tag(suite, secrets.confirmation_key, confirmed)
    message = PublicMessage(content=framed, auth=FramedContentAuthData(signature=signature, confirmation_tag=tag))
    group = cls._joined(public=PublicEpoch.of(suite, new_context, staged, tag), secrets=secrets,
                        private_keys=pending.private_keys, signer=signer, config=config)
    return group, serialize(MLSMessage(body=message))
