"""The delivery service's view of a group (ARCHITECTURE.md section 2): it follows the group's
handshake messages (PublicMessages) without any secret, tracking epoch, roster, ratchet tree and
GroupContext, and refuses what a member would refuse -- bad signatures, senders who are not
members, invalid proposals and proposal lists, invalid leaf nodes, UpdatePaths whose parent
hashes do not verify (RFC 9420 sections 6.1, 7, 12).

What it cannot check without the group's secrets: membership tags, the confirmation tag and the
encrypted path secrets. A member who sends a well-signed commit with a wrong confirmation tag is
caught by every other member, not here.

It also issues the server's own proposals as an external sender (section 12.1.8): Remove for a
device that left or was revoked.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from enseal.codec import Reader, Writer
from enseal.crypto import SignaturePrivateKey, cipher_suite
from enseal.errors import DecodeError, LocalProtocolError, ValidationError
from enseal.mls import message_protection as mp
from enseal.mls.code_points import ContentType
from enseal.mls.credential import CredentialValidator
from enseal.mls.extensions import find_extension
from enseal.mls.external_proposals import external_proposal
from enseal.mls.framing import AuthenticatedContent, MLSMessage, PrivateMessage, PublicMessage, Sender
from enseal.mls.group_config import accept_basic_credentials
from enseal.mls.group_context import GroupContext
from enseal.mls.group_info import GroupInfo
from enseal.mls.proposal_list import CachedProposal, SameClient, validate_proposal
from enseal.mls.proposals import Proposal, ProposalRef, Remove
from enseal.mls.public_epoch import PublicEpoch, StagedPublicCommit, stage_commit
from enseal.mls.ratchet_tree import RatchetTree
from enseal.mls.tree_nodes import Node, RatchetTreeExtension
from enseal.mls.tree_validation import validate_ratchet_tree
from enseal.mls.wire import deserialize, serialize
from enseal.types import Epoch, LeafIndex

PROPOSAL_REF_LABEL: Final = b"MLS 1.0 Proposal Reference"
MAX_CACHED_PROPOSALS: Final = 1024
VIEW_FORMAT_VERSION: Final = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class PublicProposal:
    """A verified proposal, cached by the view until the next commit."""

    ref: ProposalRef
    proposal: Proposal
    sender: Sender


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class PublicCommit:
    """A verified commit, staged: :meth:`PublicGroupView.merge` it once stored."""

    from_epoch: Epoch
    staged: StagedPublicCommit

    @property
    def epoch(self) -> Epoch:
        return self.staged.group_context.epoch

    @property
    def committer(self) -> LeafIndex:
        return self.staged.committer

    @property
    def added(self) -> tuple[LeafIndex, ...]:
        return tuple(leaf for leaf, _ in self.staged.applied.added)

    @property
    def removed(self) -> tuple[LeafIndex, ...]:
        return tuple(leaf for leaf, _ in self.staged.applied.removed)

    def __repr__(self) -> str:
        return f"PublicCommit({self.staged!r})"


class PublicGroupView:
    """A group as the delivery service sees it."""

    def __init__(self, epoch: PublicEpoch, *, validate_credential: CredentialValidator = accept_basic_credentials,
                 same_client: SameClient | None = None) -> None:
        self._epoch = epoch
        self._validate_credential = validate_credential
        self._same_client = same_client
        self._cache: OrderedDict[ProposalRef, CachedProposal] = OrderedDict()

    @classmethod
    def from_group_info(
        cls,
        group_info: bytes,
        *,
        ratchet_tree: Sequence[Node | None] | None = None,
        validate_credential: CredentialValidator = accept_basic_credentials,
        same_client: SameClient | None = None,
    ) -> PublicGroupView:
        """Start following a group from a signed GroupInfo and its ratchet tree (from the
        ``ratchet_tree`` extension unless given): the tree is validated as a joiner would."""
        info = deserialize(MLSMessage, group_info).body
        if not isinstance(info, GroupInfo):
            raise ValidationError("expected a GroupInfo", type(info).__name__)
        nodes = ratchet_tree
        if nodes is None:
            ext = _find_tree(info)
            nodes = ext.ratchet_tree
        tree = validate_ratchet_tree(nodes, info.group_context, now=None, validate_credential=validate_credential)
        signer = tree.leaf(info.signer)
        if signer is None:
            raise ValidationError("RFC 9420 §12.4.3.1: GroupInfo signer is a blank leaf")
        info.verify_signature(tree.suite, signer.signature_key)
        epoch = PublicEpoch.of(tree.suite, info.group_context, tree, info.confirmation_tag)
        return cls(epoch, validate_credential=validate_credential, same_client=same_client)

    # -- reading -----------------------------------------------------------------------------------------

    @property
    def epoch(self) -> Epoch:
        return self._epoch.epoch

    @property
    def group_id(self) -> bytes:
        return self._epoch.group_id

    @property
    def group_context(self) -> GroupContext:
        return self._epoch.group_context

    @property
    def tree(self) -> RatchetTree:
        return self._epoch.tree

    def members(self) -> list[tuple[LeafIndex, bytes, bytes]]:
        """``(leaf index, credential identity or encoding, signature key)`` of each member."""
        out = []
        for index, leaf in self._epoch.tree.members():
            identity = getattr(leaf.credential, "identity", serialize(leaf.credential))
            out.append((index, bytes(identity), leaf.signature_key))
        return out

    def __repr__(self) -> str:
        return f"PublicGroupView(id={self.group_id.hex()[:16]}, epoch={self.epoch}, members={self.tree.member_count})"

    # -- following -----------------------------------------------------------------------------------------

    def process(self, data: bytes, *, now: int) -> PublicProposal | PublicCommit:
        """Verify a handshake message. Proposals are cached; commits come back staged."""
        message = deserialize(MLSMessage, data).body
        if isinstance(message, PrivateMessage):
            raise ValidationError("Enseal: handshake messages must be PublicMessages the service can verify")
        if not isinstance(message, PublicMessage):
            raise ValidationError("not a group message", type(message).__name__)
        verified = self._epoch.authenticate(mp.public_to_authenticated(message))
        content = verified.content
        if content.content_type is ContentType.PROPOSAL:
            proposal = content.content
            assert isinstance(proposal, Proposal)
            validate_proposal(proposal, content.sender, suite=self._epoch.suite, tree=self.tree,
                              group_context=self.group_context, now=now,
                              validate_credential=self._validate_credential)
            ref = ProposalRef(self._epoch.suite.ref_hash(PROPOSAL_REF_LABEL, verified.encoded))
            if ref not in self._cache and len(self._cache) >= MAX_CACHED_PROPOSALS:
                raise ValidationError("too many pending proposals in this epoch")
            self._cache[ref] = CachedProposal(ref=ref, proposal=proposal, sender=content.sender,
                                              authenticated_content=verified.encoded)
            return PublicProposal(ref=ref, proposal=proposal, sender=content.sender)
        staged = stage_commit(self._epoch, verified, self._cache, now=now,
                              validate_credential=self._validate_credential, same_client=self._same_client)
        return PublicCommit(from_epoch=self.epoch, staged=staged)

    def merge(self, commit: PublicCommit) -> None:
        if commit.from_epoch != self.epoch:
            raise LocalProtocolError("stale commit: the view moved on")
        self._epoch = commit.staged.next_epoch(self._epoch.suite)
        self._cache.clear()

    # -- the server as external sender -----------------------------------------------------------------------

    def propose_remove(self, leaf: LeafIndex, *, signer: SignaturePrivateKey) -> bytes:
        """A Remove of ``leaf`` signed by the server as an external sender; cached here too."""
        if self.tree.leaf(leaf) is None:
            raise LocalProtocolError(f"leaf {leaf} is not a member")
        data = external_proposal(self.group_context, Remove(removed=leaf), signer=signer)
        result = self.process(data, now=0)
        assert isinstance(result, PublicProposal)
        return data

    # -- persistence -----------------------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """Versioned encoding: GroupContext, tree, confirmation tag and pending proposals."""
        w = Writer()
        w.u8(VIEW_FORMAT_VERSION)
        self.group_context.encode(w)
        self.tree.to_extension().encode(w)
        w.opaque(self._epoch.confirmation_tag)
        w.vector(self._cache.values(), _write_cached)
        return w.getvalue()

    @classmethod
    def from_bytes(
        cls, data: bytes, *, validate_credential: CredentialValidator = accept_basic_credentials,
        same_client: SameClient | None = None,
    ) -> PublicGroupView:
        r = Reader(bytes(data))
        if r.u8() != VIEW_FORMAT_VERSION:
            raise DecodeError("unknown PublicGroupView format version")
        context = GroupContext.decode(r)
        tree_ext = RatchetTreeExtension.decode(r)
        tag = r.opaque()
        stored = r.vector(Reader.opaque)
        r.finish()
        suite = cipher_suite(context.cipher_suite)
        tree = RatchetTree.from_trusted_nodes(suite, tree_ext.ratchet_tree)
        view = cls(PublicEpoch.of(suite, context, tree, tag), validate_credential=validate_credential,
                   same_client=same_client)
        for encoded in stored:
            item = cached_proposal(suite.ref_hash(PROPOSAL_REF_LABEL, encoded), encoded)
            view._cache[item.ref] = item
        return view


def _find_tree(info: GroupInfo) -> RatchetTreeExtension:
    ext = find_extension(info.extensions, RatchetTreeExtension)
    if ext is None:
        raise ValidationError("RFC 9420 §12.4.3.3: GroupInfo carries no ratchet tree")
    return ext


def _write_cached(w: Writer, cached: CachedProposal) -> None:
    w.opaque(cached.authenticated_content)


def cached_proposal(ref: bytes, encoded: bytes) -> CachedProposal:
    """A stored proposal (its AuthenticatedContent) back into the cache form."""
    authenticated = deserialize(AuthenticatedContent, encoded)
    proposal = authenticated.content.content
    if not isinstance(proposal, Proposal):
        raise DecodeError("stored proposal is not a proposal")
    return CachedProposal(ref=ProposalRef(ref), proposal=proposal, sender=authenticated.content.sender,
                          authenticated_content=encoded)
