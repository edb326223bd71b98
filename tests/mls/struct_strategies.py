"""Hypothesis strategies for every RFC 9420 structure of ``enseal.mls`` (random, well-formed,
not necessarily valid: signatures and keys are random bytes)."""

from __future__ import annotations

from hypothesis import strategies as st

from enseal.crypto import Secret
from enseal.mls.code_points import (
    EXTERNAL_SENDER_PROPOSAL_TYPES,
    GREASE_VALUES,
    ContentType,
    LeafNodeSource,
    ResumptionPSKUsage,
)
from enseal.mls.commit import Commit, HPKECiphertext, UpdatePath, UpdatePathNode
from enseal.mls.credential import BasicCredential, Certificate, Credential, X509Credential
from enseal.mls.extensions import Extension
from enseal.mls.framing import (
    AuthenticatedContent,
    FramedContent,
    FramedContentAuthData,
    MLSMessage,
    PrivateMessage,
    PrivateMessageContent,
    PublicMessage,
    Sender,
    SenderData,
    SenderExternal,
    SenderMember,
    SenderNewMemberCommit,
    SenderNewMemberProposal,
    WireFormat,
)
from enseal.mls.group_context import GroupContext
from enseal.mls.group_info import GroupInfo
from enseal.mls.key_package import KeyPackage, KeyPackageRef
from enseal.mls.leaf_node import Capabilities, LeafNode, Lifetime
from enseal.mls.proposals import (
    Add,
    ExternalInit,
    ExternalPSKID,
    GroupContextExtensions,
    PreSharedKey,
    PreSharedKeyID,
    Proposal,
    ProposalOrRef,
    ProposalRef,
    ReInit,
    Remove,
    ResumptionPSKID,
    Update,
)
from enseal.mls.tree_nodes import Node, ParentNode, RatchetTreeExtension
from enseal.mls.welcome import EncryptedGroupSecrets, GroupSecrets, PathSecret, Welcome
from enseal.types import CipherSuiteId, Epoch, Generation, LeafIndex

opaque = st.binary(max_size=24)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFF_FFFF)
u64 = st.integers(0, 0xFFFF_FFFF_FFFF_FFFF)
u16_list = st.lists(st.one_of(u16, st.sampled_from(sorted(GREASE_VALUES))), max_size=4).map(tuple)
suite_ids = u16.map(CipherSuiteId)
epochs = u64.map(Epoch)
leaf_indices = u32.map(LeafIndex)

extensions = st.lists(
    st.builds(Extension, extension_type=st.one_of(u16, st.sampled_from(sorted(GREASE_VALUES))),
              extension_data=opaque),
    max_size=3, unique_by=lambda e: e.extension_type,
).map(tuple)

credentials: st.SearchStrategy[Credential] = st.one_of(
    st.builds(BasicCredential, identity=opaque),
    st.builds(X509Credential, certificates=st.lists(st.builds(Certificate, cert_data=opaque), max_size=3).map(tuple)),
)

capabilities = st.builds(Capabilities, versions=u16_list, cipher_suites=u16_list, extensions=u16_list,
                         proposals=u16_list, credentials=u16_list)
lifetimes = st.builds(Lifetime, not_before=u64, not_after=u64)


@st.composite
def leaf_nodes(draw: st.DrawFn) -> LeafNode:
    source = draw(st.sampled_from(LeafNodeSource))
    return LeafNode(
        encryption_key=draw(opaque),
        signature_key=draw(opaque),
        credential=draw(credentials),
        capabilities=draw(capabilities),
        leaf_node_source=source,
        lifetime=draw(lifetimes) if source is LeafNodeSource.KEY_PACKAGE else None,
        parent_hash=draw(opaque) if source is LeafNodeSource.COMMIT else None,
        extensions=draw(extensions),
        signature=draw(opaque),
    )


key_packages = st.builds(KeyPackage, cipher_suite=suite_ids, init_key=opaque, leaf_node=leaf_nodes(),
                         extensions=extensions, signature=opaque)
parent_nodes = st.builds(ParentNode, encryption_key=opaque, parent_hash=opaque,
                         unmerged_leaves=st.lists(u32, max_size=3).map(tuple))


@st.composite
def ratchet_trees(draw: st.DrawFn) -> RatchetTreeExtension:
    width = draw(st.integers(1, 9))
    nodes: list[Node | None] = []
    for index in range(width):
        if index == width - 1 or draw(st.booleans()):
            nodes.append(draw(leaf_nodes()) if index % 2 == 0 else draw(parent_nodes))
        else:
            nodes.append(None)
    return RatchetTreeExtension(ratchet_tree=tuple(nodes))


psk_ids: st.SearchStrategy[PreSharedKeyID] = st.one_of(
    st.builds(ExternalPSKID, psk_id=opaque, psk_nonce=opaque),
    st.builds(ResumptionPSKID, usage=st.sampled_from(ResumptionPSKUsage), psk_group_id=opaque,
              psk_epoch=epochs, psk_nonce=opaque),
)

proposals: st.SearchStrategy[Proposal] = st.one_of(
    st.builds(Add, key_package=key_packages),
    st.builds(Update, leaf_node=leaf_nodes()),
    st.builds(Remove, removed=leaf_indices),
    st.builds(PreSharedKey, psk=psk_ids),
    st.builds(ReInit, group_id=opaque, cipher_suite=suite_ids, extensions=extensions),
    st.builds(ExternalInit, kem_output=opaque),
    st.builds(GroupContextExtensions, extensions=extensions),
)
proposal_or_refs: st.SearchStrategy[ProposalOrRef] = st.one_of(proposals, opaque.map(ProposalRef))

hpke_ciphertexts = st.builds(HPKECiphertext, kem_output=opaque, ciphertext=opaque)
update_paths = st.builds(
    UpdatePath, leaf_node=leaf_nodes(),
    nodes=st.lists(st.builds(UpdatePathNode, encryption_key=opaque,
                             encrypted_path_secret=st.lists(hpke_ciphertexts, max_size=2).map(tuple)),
                   max_size=3).map(tuple),
)
commits = st.builds(Commit, proposals=st.lists(proposal_or_refs, max_size=3).map(tuple),
                    path=st.none() | update_paths)

group_contexts = st.builds(GroupContext, cipher_suite=suite_ids, group_id=opaque, epoch=epochs, tree_hash=opaque,
                           confirmed_transcript_hash=opaque,
                           extensions=extensions)
group_infos = st.builds(GroupInfo, group_context=group_contexts, extensions=extensions, confirmation_tag=opaque,
                        signer=leaf_indices, signature=opaque)
secrets = opaque.map(Secret)
group_secrets = st.builds(GroupSecrets, joiner_secret=secrets,
                          path_secret=st.none() | st.builds(PathSecret, path_secret=secrets),
                          psks=st.lists(psk_ids, max_size=2).map(tuple))
welcomes = st.builds(
    Welcome, cipher_suite=suite_ids,
    secrets=st.lists(st.builds(EncryptedGroupSecrets, new_member=opaque.map(KeyPackageRef),
                               encrypted_group_secrets=hpke_ciphertexts), max_size=2).map(tuple),
    encrypted_group_info=opaque,
)

contents = st.one_of(opaque, proposals, commits)


@st.composite
def framed_contents(draw: st.DrawFn) -> FramedContent:
    kind = draw(st.sampled_from(("member", "external", "new_member_proposal", "new_member_commit")))
    sender: Sender
    if kind == "member":
        sender, content = SenderMember(leaf_index=draw(leaf_indices)), draw(contents)
    elif kind == "external":
        sender = SenderExternal(sender_index=draw(u32))
        content = draw(proposals.filter(lambda p: p.proposal_type in EXTERNAL_SENDER_PROPOSAL_TYPES))
    elif kind == "new_member_proposal":
        sender, content = SenderNewMemberProposal(), draw(st.builds(Add, key_package=key_packages))
    else:
        sender, content = SenderNewMemberCommit(), draw(commits)
    return FramedContent(group_id=draw(opaque), epoch=draw(epochs), sender=sender,
                         authenticated_data=draw(opaque), content=content)


def _auth_for(content_type: ContentType) -> st.SearchStrategy[FramedContentAuthData]:
    tag = opaque if content_type is ContentType.COMMIT else st.none()
    return st.builds(FramedContentAuthData, signature=opaque, confirmation_tag=tag)


@st.composite
def public_messages(draw: st.DrawFn) -> PublicMessage:
    content = draw(framed_contents())
    membership_tag = draw(opaque) if isinstance(content.sender, SenderMember) else None
    return PublicMessage(content=content, auth=draw(_auth_for(content.content_type)), membership_tag=membership_tag)


@st.composite
def authenticated_contents(draw: st.DrawFn) -> AuthenticatedContent:
    content = draw(framed_contents())
    return AuthenticatedContent(wire_format=draw(st.sampled_from((WireFormat.PUBLIC_MESSAGE,
                                                                  WireFormat.PRIVATE_MESSAGE))),
                                content=content, auth=draw(_auth_for(content.content_type)))


@st.composite
def private_message_contents(draw: st.DrawFn) -> PrivateMessageContent:
    content = draw(contents)
    probe = PrivateMessageContent(content=content, auth=FramedContentAuthData(
        signature=b"", confirmation_tag=b"" if isinstance(content, Commit) else None))
    return PrivateMessageContent(content=content, auth=draw(_auth_for(probe.content_type)),
                                 length_of_padding=draw(st.integers(0, 40)))


private_messages = st.builds(PrivateMessage, group_id=opaque, epoch=epochs, content_type=st.sampled_from(ContentType),
                             authenticated_data=opaque, encrypted_sender_data=opaque, ciphertext=opaque)
sender_datas = st.builds(SenderData, leaf_index=leaf_indices, generation=u32.map(Generation),
                         reuse_guard=st.binary(min_size=4, max_size=4))
mls_messages = st.builds(MLSMessage, body=st.one_of(public_messages(), private_messages, welcomes, group_infos,
                                                    key_packages))
