"""What anyone who sees a group's handshake messages knows about an epoch, and the public half of
commit processing (RFC 9420 sections 6.1, 8.2, 12.4.2).

Members (:mod:`enseal.mls.group`) and the server's view of a group (:mod:`enseal.mls.public_view`)
share this: who may sign for which sender type, verifying a FramedContent signature, and staging
a Commit -- resolving and applying its proposals, validating and merging its UpdatePath, and
computing the provisional and new GroupContext and the transcript hashes. Decrypting the path,
the key schedule and the confirmation tag need the group's secrets and stay with members.

A :class:`PublicEpoch` never changes; staging works on copies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from enseal.crypto import CipherSuite
from enseal.errors import UnknownSenderError, ValidationError
from enseal.mls import transcript
from enseal.mls.code_points import ContentType, ResumptionPSKUsage
from enseal.mls.commit import Commit
from enseal.mls.credential import CredentialValidator
from enseal.mls.extensions import ExternalSenders, find_extension
from enseal.mls.framing import (
    AuthenticatedContent,
    SenderExternal,
    SenderMember,
    SenderNewMemberCommit,
    SenderNewMemberProposal,
)
from enseal.mls.group_context import GroupContext
from enseal.mls.message_protection import VerifiedContent, check_group_and_epoch, verify_content
from enseal.mls.proposal_list import AppliedProposals, CachedProposal, SameClient, apply_proposals, resolve_proposals
from enseal.mls.proposals import Add, ProposalRef
from enseal.mls.ratchet_tree import RatchetTree
from enseal.mls.treekem import AppliedUpdatePath, apply_update_path
from enseal.types import Epoch, LeafIndex


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class PublicEpoch:
    """The public state of one epoch: GroupContext, ratchet tree and transcript hashes."""

    suite: CipherSuite
    group_context: GroupContext
    context_bytes: bytes
    tree: RatchetTree
    interim_transcript_hash: bytes
    confirmation_tag: bytes
    """The confirmation tag of the commit that started this epoch (carried in GroupInfo)."""

    @classmethod
    def of(
        cls, suite: CipherSuite, group_context: GroupContext, tree: RatchetTree, confirmation_tag: bytes
    ) -> PublicEpoch:
        """The epoch whose GroupContext is ``group_context``; interim hash from the tag (section 8.2)."""
        return cls(
            suite=suite,
            group_context=group_context,
            context_bytes=group_context.to_bytes(),
            tree=tree,
            interim_transcript_hash=transcript.interim_transcript_hash(
                suite, group_context.confirmed_transcript_hash, confirmation_tag
            ),
            confirmation_tag=confirmation_tag,
        )

    @property
    def epoch(self) -> Epoch:
        return self.group_context.epoch

    @property
    def group_id(self) -> bytes:
        return self.group_context.group_id

    def __repr__(self) -> str:
        return f"PublicEpoch(epoch={self.epoch}, members={self.tree.member_count})"

    # -- authentication (section 6.1) -------------------------------------------------------------

    def signature_key_for(self, authenticated: AuthenticatedContent) -> bytes:
        """"The sender MUST use the private key corresponding to the following signature key
        depending on the sender's sender_type" -- the key the signature must verify under."""
        content = authenticated.content
        sender = content.sender
        match sender:
            case SenderMember(leaf_index=leaf_index):
                leaf = self.tree.leaf(leaf_index)
                if leaf is None:
                    raise UnknownSenderError("RFC 9420 §6.1: sender leaf is blank", f"leaf {leaf_index}")
                return leaf.signature_key
            case SenderExternal(sender_index=index):
                senders = find_extension(self.group_context.extensions, ExternalSenders)
                if senders is None or index >= len(senders.external_senders):
                    raise UnknownSenderError("RFC 9420 §12.1.8.1: no such external sender", f"index {index}")
                return senders.external_senders[index].signature_key
            case SenderNewMemberCommit():
                commit = content.content
                if not isinstance(commit, Commit) or commit.path is None:
                    raise ValidationError("RFC 9420 §12.4.3.2: an external commit must contain a path")
                return commit.path.leaf_node.signature_key
            case SenderNewMemberProposal():
                add = content.content
                if not isinstance(add, Add):
                    raise ValidationError("RFC 9420 §6.1: a new_member_proposal sender sends an Add")
                return add.key_package.leaf_node.signature_key
        raise ValidationError("RFC 9420 §6.1: unknown sender type")

    def authenticate(self, authenticated: AuthenticatedContent) -> VerifiedContent:
        """Check group and epoch, then the signature with the sender's key (section 6.1)."""
        content = authenticated.content
        check_group_and_epoch(content.group_id, content.epoch, expected_group_id=self.group_id,
                              expected_epoch=self.epoch)
        return verify_content(self.suite, self.signature_key_for(authenticated), authenticated, self.context_bytes)


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class StagedPublicCommit:
    """A Commit whose public effects are computed: the new tree and GroupContext."""

    verified: VerifiedContent
    commit: Commit
    committer: LeafIndex
    """The committer's leaf in the new tree (an external joiner's new leaf)."""
    external: bool
    applied: AppliedProposals
    applied_path: AppliedUpdatePath | None
    provisional_context: GroupContext
    group_context: GroupContext
    confirmation_tag: bytes

    @property
    def tree(self) -> RatchetTree:
        return self.applied.tree

    def next_epoch(self, suite: CipherSuite) -> PublicEpoch:
        return PublicEpoch.of(suite, self.group_context, self.tree, self.confirmation_tag)

    def __repr__(self) -> str:
        return f"StagedPublicCommit(by leaf {self.committer}, to epoch {self.group_context.epoch}, {self.applied!r})"


def stage_commit(
    epoch: PublicEpoch,
    verified: VerifiedContent,
    cache: Mapping[ProposalRef, CachedProposal],
    *,
    now: int,
    validate_credential: CredentialValidator,
    same_client: SameClient | None = None,
    psk_usages: frozenset[ResumptionPSKUsage] = frozenset({ResumptionPSKUsage.APPLICATION}),
    max_lifetime: int | None = None,
) -> StagedPublicCommit:
    """The public steps of processing a Commit (section 12.4.2), on copies of the state."""
    content = verified.content
    commit = content.content
    if content.content_type is not ContentType.COMMIT or not isinstance(commit, Commit):
        raise ValidationError("not a commit")
    tag = verified.auth.confirmation_tag
    assert tag is not None  # FramedContentAuthData of a commit always carries it
    sender = content.sender
    external = isinstance(sender, SenderNewMemberCommit)
    if not external and not isinstance(sender, SenderMember):
        raise ValidationError("RFC 9420 §6.1: commits come from members or new members")
    if external and commit.path is None:
        raise ValidationError("RFC 9420 §12.4.3.2: an external commit must contain a path")

    proposals = resolve_proposals(commit, committer=sender, cache=cache)
    applied = apply_proposals(
        proposals,
        suite=epoch.suite,
        tree=epoch.tree,
        group_context=epoch.group_context,
        committer=sender.leaf_index if isinstance(sender, SenderMember) else None,
        now=now,
        validate_credential=validate_credential,
        same_client=same_client,
        joiner_credential=commit.path.leaf_node.credential if external and commit.path else None,
        psk_usages=psk_usages,
        max_lifetime=max_lifetime,
    )
    # "Verify that the path value is populated if the proposals vector contains any Update or
    # Remove proposals, or if it's empty."
    if applied.path_required and commit.path is None:
        raise ValidationError("RFC 9420 §12.4: commit needs an UpdatePath")
    tree = applied.tree
    if isinstance(sender, SenderMember):
        committer = sender.leaf_index
        if tree.leaf(committer) is None:
            raise UnknownSenderError("RFC 9420 §12.4.2: committer is not a member", f"leaf {committer}")
    else:
        committer = tree.next_free_leaf()
    applied_path = None
    if commit.path is not None:
        applied_path = apply_update_path(
            tree,
            sender=committer,
            update_path=commit.path,
            group_id=epoch.group_id,
            group_context_extensions=applied.extensions,
            exclude=[leaf for leaf, _ in applied.added],
            validate_credential=validate_credential,
        )
    provisional = epoch.group_context.evolve(
        epoch=Epoch(epoch.epoch + 1), tree_hash=tree.tree_hash(), extensions=applied.extensions
    )
    confirmed = transcript.confirmed_transcript_hash(
        epoch.suite, epoch.interim_transcript_hash, transcript.confirmed_transcript_input(verified.authenticated)
    )
    return StagedPublicCommit(
        verified=verified,
        commit=commit,
        committer=committer,
        external=external,
        applied=applied,
        applied_path=applied_path,
        provisional_context=provisional,
        group_context=provisional.evolve(confirmed_transcript_hash=confirmed),
        confirmation_tag=tag,
    )
