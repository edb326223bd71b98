"""An MLS group as one member sees it (RFC 9420 sections 8, 11, 12, 14), sans-I/O.

Bytes and ``now`` in, bytes and events out; randomness comes from the ``rng`` argument.

* Create a group (:meth:`Group.create`), join one from a Welcome (:meth:`Group.join`) or by an
  external commit (:meth:`Group.join_external`).
* Send proposals (:meth:`Group.propose` and its helpers) and commits (:meth:`Group.commit`);
  one's own commit stays *pending* until the delivery service accepts it
  (:meth:`Group.merge_pending_commit`) or refuses it (:meth:`Group.discard_pending_commit`).
* :meth:`Group.process` turns a received message into an :class:`ApplicationMessage`, a
  :class:`ProposalMessage` (cached for later commits) or a :class:`StagedCommit` to inspect and
  then :meth:`Group.merge`. Nothing changes before merge; a message that fails any check
  raises a typed error and leaves the group exactly as it was.
* :meth:`Group.encrypt_application`, :meth:`Group.export_secret`, :attr:`Group.epoch_authenticator`,
  :meth:`Group.group_info`, :meth:`Group.members`, branching and reinitialization.

The group's lifecycle is a small state machine (:class:`GroupStatus` and ``_TRANSITIONS``):
a member who is removed, or whose group committed a ReInit, can no longer send.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from enseal.crypto import (
    CipherSuite,
    HpkePrivateKey,
    RandomSource,
    Secret,
    SignaturePrivateKey,
    cipher_suite,
    constant_time_equal,
)
from enseal.errors import (
    CryptoError,
    LocalProtocolError,
    ReplayError,
    ValidationError,
    WrongEpochError,
    WrongGroupError,
)
from enseal.mls import key_schedule as ks
from enseal.mls import message_protection as mp
from enseal.mls import transcript
from enseal.mls.code_points import ContentType, LeafNodeSource, ResumptionPSKUsage, WireFormat
from enseal.mls.commit import Commit
from enseal.mls.credential import Credential
from enseal.mls.extensions import Extension, ExternalPub, make_extension
from enseal.mls.framing import (
    AuthenticatedContent,
    FramedContent,
    FramedContentAuthData,
    MLSMessage,
    PrivateMessage,
    PublicMessage,
    Sender,
    SenderMember,
)
from enseal.mls.group_config import MAX_RESUMPTION_PSKS, GroupConfig
from enseal.mls.group_context import GroupContext
from enseal.mls.group_info import GroupInfo
from enseal.mls.group_join import join_by_external_commit, join_from_welcome
from enseal.mls.group_persistence import group_from_bytes, group_to_bytes
from enseal.mls.group_state import TRANSITIONS, EpochState, GroupStatus, PastEpoch
from enseal.mls.group_welcome import build_welcome
from enseal.mls.key_package import KeyPackage
from enseal.mls.key_package_bundle import KeyPackageBundle, default_capabilities, default_lifetime
from enseal.mls.leaf_node import Capabilities, LeafNode
from enseal.mls.proposal_list import (
    AppliedProposals,
    CachedProposal,
    ResolvedProposal,
    apply_proposals,
    same_identity,
    validate_proposal,
)
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
from enseal.mls.psk import psk_secret as chain_psks
from enseal.mls.public_epoch import PublicEpoch, StagedPublicCommit, stage_commit
from enseal.mls.ratchet_tree import RatchetTree
from enseal.mls.secret_tree import SecretTree
from enseal.mls.tree_nodes import Node
from enseal.mls.tree_private_keys import TreePrivateKeys
from enseal.mls.treekem import PendingUpdatePath, create_update_path
from enseal.mls.wire import deserialize, serialize
from enseal.types import CipherSuiteId, Epoch, Generation, LeafIndex

PROPOSAL_REF_LABEL: Final = b"MLS 1.0 Proposal Reference"
MAX_CACHED_PROPOSALS: Final = 1024
"""Bound on proposals kept per epoch waiting for a commit."""


# -- what process() returns ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Member:
    """A member of the group: its leaf, credential and signature key."""

    leaf_index: LeafIndex
    credential: Credential
    signature_key: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplicationMessage:
    """Application data from a member, authenticated and decrypted."""

    sender: LeafIndex
    data: bytes
    authenticated_data: bytes
    epoch: Epoch
    generation: Generation


@dataclass(frozen=True, slots=True, kw_only=True)
class ProposalMessage:
    """A verified proposal, now cached for the epoch's next commit."""

    ref: ProposalRef
    proposal: Proposal
    sender: Sender


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class StagedCommit:
    """A commit, processed but not applied: inspect it, then :meth:`Group.merge` it."""

    from_epoch: Epoch
    public: StagedPublicCommit
    state: EpochState | None
    """The new epoch (None if the commit removes this member)."""
    own: bool = False
    message: bytes = b""
    """For one's own commit: the MLSMessage that carries it."""

    @property
    def epoch(self) -> Epoch:
        return self.public.group_context.epoch

    @property
    def committer(self) -> LeafIndex:
        return self.public.committer

    @property
    def external(self) -> bool:
        return self.public.external

    @property
    def self_removed(self) -> bool:
        return self.state is None

    @property
    def added(self) -> tuple[Member, ...]:
        return tuple(_member(index, kp.leaf_node) for index, kp in self.public.applied.added)

    @property
    def removed(self) -> tuple[Member, ...]:
        return tuple(_member(index, leaf) for index, leaf in self.public.applied.removed)

    @property
    def updated(self) -> tuple[LeafIndex, ...]:
        return tuple(index for index, _, _ in self.public.applied.updated)

    @property
    def psks(self) -> tuple[PreSharedKeyID, ...]:
        return self.public.applied.psks

    @property
    def reinit(self) -> ReInit | None:
        return self.public.applied.reinit

    @property
    def group_context(self) -> GroupContext:
        return self.public.group_context

    @property
    def epoch_authenticator(self) -> bytes | None:
        return None if self.state is None else self.state.secrets.epoch_authenticator.reveal()

    def __repr__(self) -> str:
        return (f"StagedCommit(epoch {self.from_epoch}->{self.epoch}, by leaf {self.committer}, "
                f"{self.public.applied!r}{', removes this member' if self.state is None else ''})")


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class CommitOutput:
    """What :meth:`Group.commit` produces: the commit to send to the group, the Welcome for new
    members (if any) and the new epoch's GroupInfo (for the delivery service / external joins)."""

    commit: bytes
    welcome: bytes | None
    group_info: bytes
    staged: StagedCommit

    def __repr__(self) -> str:
        return f"CommitOutput({self.staged!r}, welcome={'yes' if self.welcome else 'no'})"


def _member(index: LeafIndex, leaf: LeafNode) -> Member:
    return Member(leaf_index=index, credential=leaf.credential, signature_key=leaf.signature_key)


def _check_suite(suite_id: int) -> CipherSuite:
    return cipher_suite(suite_id)


# -- the group -------------------------------------------------------------------------------------


class Group:
    """One member's state of an MLS group. ``repr`` shows no secrets."""

    def __init__(
        self,
        *,
        state: EpochState,
        own_leaf: LeafIndex,
        signer: SignaturePrivateKey,
        config: GroupConfig,
        status: GroupStatus = GroupStatus.ACTIVE,
    ) -> None:
        self._config = config
        self._signer = signer
        self._own_leaf = own_leaf
        self._state = state
        self._secret_tree = self._new_secret_tree(state)
        self._cache: OrderedDict[ProposalRef, CachedProposal] = OrderedDict()
        self._own_update_keys: dict[ProposalRef, HpkePrivateKey] = {}
        self._pending: StagedCommit | None = None
        self._past: deque[PastEpoch] = deque(maxlen=max(0, config.max_past_epochs))
        self._resumption: OrderedDict[int, ks.ResumptionPsk] = OrderedDict()
        self._status = status
        self._reinit: ReInit | None = None
        self._remember_resumption_psk()

    @staticmethod
    def _new_secret_tree(state: EpochState) -> SecretTree:
        return SecretTree(state.public.suite, state.secrets.encryption_secret, state.public.tree.leaf_count)

    # -- reading ------------------------------------------------------------------------------------

    def __repr__(self) -> str:
        return (f"Group(id={self.group_id.hex()[:16]}, epoch={self.epoch}, leaf={self._own_leaf}, "
                f"members={self._state.public.tree.member_count}, {self._status.value})")

    @property
    def suite(self) -> CipherSuite:
        return self._state.public.suite

    @property
    def group_id(self) -> bytes:
        return self._state.public.group_id

    @property
    def epoch(self) -> Epoch:
        return self._state.public.epoch

    @property
    def own_leaf(self) -> LeafIndex:
        return self._own_leaf

    @property
    def status(self) -> GroupStatus:
        return self._status

    @property
    def group_context(self) -> GroupContext:
        return self._state.public.group_context

    @property
    def tree(self) -> RatchetTree:
        """The public ratchet tree (do not modify it)."""
        return self._state.public.tree

    @property
    def epoch_authenticator(self) -> bytes:
        """The epoch authenticator (section 8.7): equal on every member's device for this epoch."""
        return self._state.secrets.epoch_authenticator.reveal()

    @property
    def pending_proposals(self) -> tuple[ProposalMessage, ...]:
        return tuple(ProposalMessage(ref=c.ref, proposal=c.proposal, sender=c.sender) for c in self._cache.values())

    @property
    def has_pending_commit(self) -> bool:
        return self._pending is not None

    @property
    def reinit(self) -> ReInit | None:
        """The ReInit this group committed, once its status is REINIT_PENDING."""
        return self._reinit

    def members(self) -> list[Member]:
        return [_member(index, leaf) for index, leaf in self._state.public.tree.members()]

    def export_secret(self, label: bytes, context: bytes, length: int) -> bytes:
        """MLS-Exporter(Label, Context, Length) of the current epoch (section 8.5)."""
        return self._state.secrets.export(label, context, length)

    def resumption_psk(self, epoch: int) -> bytes | None:
        """This group's resumption PSK of ``epoch`` if still kept (section 8.6)."""
        value = self._resumption.get(epoch)
        return None if value is None else value.reveal()

    def to_bytes(self) -> Secret:
        """The whole state as versioned bytes (secrets included: store them encrypted)."""
        return group_to_bytes(self)

    @classmethod
    def from_bytes(cls, data: Secret | bytes, *, config: GroupConfig | None = None) -> Group:
        """A group restored from :meth:`to_bytes`."""
        return group_from_bytes(cls, data, config or GroupConfig())

    def group_info(self, *, with_tree: bool | None = None, with_external_pub: bool | None = None) -> bytes:
        """A signed GroupInfo for the current epoch as an MLSMessage (section 12.4.3)."""
        return serialize(MLSMessage(body=self._make_group_info(self._state, with_tree, with_external_pub)))

    # -- creation -------------------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        suite: CipherSuite,
        *,
        group_id: bytes,
        signer: SignaturePrivateKey,
        credential: Credential,
        rng: RandomSource,
        now: int,
        extensions: Sequence[Extension] = (),
        capabilities: Capabilities | None = None,
        leaf_extensions: Sequence[Extension] = (),
        config: GroupConfig | None = None,
    ) -> Group:
        """A one-member group (section 11)."""
        config = config or GroupConfig()
        leaf_key = suite.generate_hpke_key(rng)
        leaf = LeafNode.sign(
            suite, signer,
            encryption_key=leaf_key.public_key,
            credential=credential,
            capabilities=capabilities or default_capabilities(suite),
            leaf_node_source=LeafNodeSource.KEY_PACKAGE,
            lifetime=default_lifetime(now),
            extensions=leaf_extensions,
        )
        config.validate_credential(credential, signer.public_key)
        tree = RatchetTree.create(suite, leaf)
        tree.check_members_support(extensions)
        context = GroupContext(
            cipher_suite=CipherSuiteId(suite.id), group_id=group_id, epoch=Epoch(0), tree_hash=tree.tree_hash(),
            confirmed_transcript_hash=b"", extensions=tuple(extensions),
        )
        # "Epoch secret: A fresh random value of size KDF.Nh"
        secrets = ks.derive_epoch_secrets(suite, ks.EpochSecret(rng(suite.hash_size)))
        tag = transcript.confirmation_tag(suite, secrets.confirmation_key, b"")
        state = EpochState(
            public=PublicEpoch.of(suite, context, tree, tag),
            secrets=secrets,
            private_keys=TreePrivateKeys(suite, LeafIndex(0), leaf_key),
        )
        return cls(state=state, own_leaf=LeafIndex(0), signer=signer, config=config)

    # -- sending proposals ----------------------------------------------------------------------------

    def _require_active(self) -> None:
        if self._status is not GroupStatus.ACTIVE:
            raise LocalProtocolError(f"the group is {self._status.value}: it cannot send")

    def _protect(self, content: FramedContent, auth_tag: bytes | None, wire_format: WireFormat,
                 rng: RandomSource, *, state: EpochState | None = None) -> tuple[MLSMessage, AuthenticatedContent]:
        """Sign ``content`` and wrap it as ``wire_format`` with the keys of the current epoch."""
        state = state or self._state
        suite = state.public.suite
        signature = mp.sign_content(suite, self._signer, wire_format, content, state.public.context_bytes)
        auth = FramedContentAuthData(signature=signature, confirmation_tag=auth_tag)
        authenticated = AuthenticatedContent(wire_format=wire_format, content=content, auth=auth)
        body: PublicMessage | PrivateMessage
        if wire_format is WireFormat.PUBLIC_MESSAGE:
            body = mp.to_public_message(suite, content, auth, state.public.context_bytes,
                                        state.secrets.membership_key)
        else:
            body = mp.encrypt_private(suite, content=content, auth=auth, secret_tree=self._secret_tree,
                                      sender_data_secret=state.secrets.sender_data_secret, random_bytes=rng,
                                      padding=self._padding(content))
        return MLSMessage(body=body), authenticated

    def _padding(self, content: FramedContent) -> int:
        block = self._config.padding_block
        if block <= 1 or not isinstance(content.content, bytes):
            return 0
        return -len(content.content) % block

    def _framed(self, content: bytes | Proposal | Commit, authenticated_data: bytes) -> FramedContent:
        return FramedContent(group_id=self.group_id, epoch=self.epoch, sender=SenderMember(leaf_index=self._own_leaf),
                             authenticated_data=authenticated_data, content=content)

    def propose(self, proposal: Proposal, *, rng: RandomSource, authenticated_data: bytes = b"") -> bytes:
        """Send ``proposal`` (validated first); it is cached so one's own commit includes it."""
        self._require_active()
        if isinstance(proposal, ExternalInit):
            raise LocalProtocolError("RFC 9420 §12.1.6: ExternalInit is only for external commits")
        message, authenticated = self._protect(self._framed(proposal, authenticated_data), None,
                                               self._config.handshake_wire_format, rng)
        ref = ProposalRef(self.suite.ref_hash(PROPOSAL_REF_LABEL, serialize(authenticated)))
        self._cache_proposal(CachedProposal(ref=ref, proposal=proposal, sender=authenticated.content.sender,
                                            authenticated_content=serialize(authenticated)))
        return serialize(message)

    def propose_add(self, key_package: KeyPackage, *, rng: RandomSource, now: int) -> bytes:
        validate_proposal(Add(key_package=key_package), SenderMember(leaf_index=self._own_leaf), suite=self.suite,
                          tree=self.tree, group_context=self.group_context, now=now,
                          validate_credential=self._config.validate_credential,
                          max_lifetime=self._config.max_key_package_lifetime)
        return self.propose(Add(key_package=key_package), rng=rng)

    def propose_remove(self, leaf: LeafIndex, *, rng: RandomSource) -> bytes:
        if self.tree.leaf(leaf) is None:
            raise LocalProtocolError(f"leaf {leaf} is not a member")
        return self.propose(Remove(removed=leaf), rng=rng)

    def propose_update(self, *, rng: RandomSource) -> bytes:
        """An Update with a fresh leaf key; the key is used once a commit includes it."""
        own = self.tree.member_leaf(self._own_leaf)
        new_key = self.suite.generate_hpke_key(rng)
        leaf = LeafNode.sign(
            self.suite, self._signer, encryption_key=new_key.public_key, credential=own.credential,
            capabilities=own.capabilities, leaf_node_source=LeafNodeSource.UPDATE, extensions=own.extensions,
            group_id=self.group_id, leaf_index=self._own_leaf,
        )
        data = self.propose(Update(leaf_node=leaf), rng=rng)
        ref = next(reversed(self._cache))
        self._own_update_keys[ref] = new_key
        return data

    def propose_psk(self, psk: PreSharedKeyID, *, rng: RandomSource) -> bytes:
        return self.propose(PreSharedKey(psk=psk), rng=rng)

    def propose_group_context_extensions(self, extensions: Sequence[Extension], *, rng: RandomSource) -> bytes:
        self.tree.check_members_support(extensions)
        return self.propose(GroupContextExtensions(extensions=tuple(extensions)), rng=rng)

    def propose_reinit(self, *, group_id: bytes, suite: CipherSuite | None = None,
                       extensions: Sequence[Extension] = (), rng: RandomSource) -> bytes:
        return self.propose(ReInit(group_id=group_id, cipher_suite=CipherSuiteId((suite or self.suite).id),
                                   extensions=tuple(extensions)), rng=rng)

    def new_psk_id(self, psk_id: bytes, *, rng: RandomSource) -> ExternalPSKID:
        """An external PSK id with a fresh nonce of KDF.Nh bytes (section 8.4)."""
        return ExternalPSKID(psk_id=psk_id, psk_nonce=rng(self.suite.hash_size))

    def _cache_proposal(self, cached: CachedProposal) -> None:
        if cached.ref not in self._cache and len(self._cache) >= MAX_CACHED_PROPOSALS:
            raise LocalProtocolError(f"more than {MAX_CACHED_PROPOSALS} proposals pending: commit first")
        self._cache[cached.ref] = cached

    # -- PSKs -----------------------------------------------------------------------------------------

    def _psk_value(self, psk: PreSharedKeyID, sources: Mapping[bytes, Group] | None = None) -> bytes:
        value: bytes | None
        if isinstance(psk, ExternalPSKID):
            value = self._config.external_psk(psk.psk_id)
        else:
            assert isinstance(psk, ResumptionPSKID)
            value = _resumption_value(psk, own=self, sources=sources, config=self._config)
        if value is None:
            # "Verify that all PreSharedKey proposals in the proposals vector are available."
            raise ValidationError("RFC 9420 §12.4.2: a pre-shared key is not available to this member")
        return value

    def _psk_secret(
        self, psks: Sequence[PreSharedKeyID], sources: Mapping[bytes, Group] | None = None
    ) -> ks.PskSecret:
        return chain_psks(self.suite, [(serialize(psk), self._psk_value(psk, sources)) for psk in psks])

    def _remember_resumption_psk(self) -> None:
        self._resumption[self.epoch] = self._state.secrets.resumption_psk
        while len(self._resumption) > MAX_RESUMPTION_PSKS:
            self._resumption.popitem(last=False)

    # -- committing -----------------------------------------------------------------------------------

    def commit(
        self,
        *,
        rng: RandomSource,
        now: int,
        proposals: Sequence[Proposal] = (),
        include_pending: bool = True,
        force_path: bool = False,
        authenticated_data: bytes = b"",
        psk_usages: frozenset[ResumptionPSKUsage] = frozenset({ResumptionPSKUsage.APPLICATION}),
        resumption_sources: Mapping[bytes, Group] | None = None,
    ) -> CommitOutput:
        """Commit the cached proposals (by reference) and ``proposals`` (by value).

        The commit stays pending until :meth:`merge_pending_commit` (the delivery service
        accepted it) or :meth:`discard_pending_commit`.
        """
        self._require_active()
        if self._pending is not None:
            raise LocalProtocolError("a commit is already pending: merge or discard it first")
        state = self._state
        suite = state.public.suite
        me = SenderMember(leaf_index=self._own_leaf)
        resolved = self._committable_pending() if include_pending else []
        resolved += [ResolvedProposal(proposal=p, sender=me, ref=None) for p in proposals]
        applied = apply_proposals(
            resolved, suite=suite, tree=state.public.tree, group_context=state.public.group_context,
            committer=self._own_leaf, now=now, validate_credential=self._config.validate_credential,
            same_client=self._config.same_client, psk_usages=psk_usages,
            max_lifetime=self._config.max_key_package_lifetime,
        )
        tree = applied.tree
        pending_path: PendingUpdatePath | None = None
        if applied.path_required or force_path:
            own = tree.member_leaf(self._own_leaf)
            pending_path = create_update_path(
                tree, sender=self._own_leaf, group_id=self.group_id, signing_key=self._signer,
                credential=own.credential, capabilities=own.capabilities, extensions=own.extensions, rng=rng,
            )
        provisional = state.public.group_context.evolve(
            epoch=Epoch(self.epoch + 1), tree_hash=tree.tree_hash(), extensions=applied.extensions
        )
        new_leaves = [leaf for leaf, _ in applied.added]
        update_path = pending_path.encrypt(provisional, exclude=new_leaves, rng=rng) if pending_path else None
        commit = Commit(
            proposals=tuple(_as_proposal_or_ref(item) for item in applied.proposals), path=update_path
        )
        wire_format = self._config.handshake_wire_format
        framed = self._framed(commit, authenticated_data)
        signature = mp.sign_content(suite, self._signer, wire_format, framed, state.public.context_bytes)
        confirmed = transcript.confirmed_transcript_hash(
            suite, state.public.interim_transcript_hash,
            transcript.confirmed_transcript_input(AuthenticatedContent(
                wire_format=wire_format, content=framed,
                auth=FramedContentAuthData(signature=signature, confirmation_tag=b""),
            )),
        )
        new_context = provisional.evolve(confirmed_transcript_hash=confirmed)
        new_context_bytes = new_context.to_bytes()
        commit_secret = pending_path.commit_secret if pending_path else ks.CommitSecret(ks.zero_secret(suite))
        psk_secret = self._psk_secret(applied.psks, resumption_sources)
        joiner, secrets = ks.advance(suite, state.secrets.init_secret, commit_secret, psk_secret, new_context_bytes)
        tag = transcript.confirmation_tag(suite, secrets.confirmation_key, confirmed)
        auth = FramedContentAuthData(signature=signature, confirmation_tag=tag)
        body: PublicMessage | PrivateMessage
        if wire_format is WireFormat.PUBLIC_MESSAGE:
            body = mp.to_public_message(suite, framed, auth, state.public.context_bytes, state.secrets.membership_key)
        else:
            body = mp.encrypt_private(suite, content=framed, auth=auth, secret_tree=self._secret_tree,
                                      sender_data_secret=state.secrets.sender_data_secret, random_bytes=rng)
        authenticated = AuthenticatedContent(wire_format=wire_format, content=framed, auth=auth)

        private_keys = self._keys_after_proposals(applied)
        if pending_path is not None:
            private_keys = pending_path.private_keys
        new_state = EpochState(
            public=PublicEpoch.of(suite, new_context, tree, tag),
            secrets=secrets,
            private_keys=private_keys.restricted_to(tree) if pending_path is None else private_keys,
        )
        group_info = self._make_group_info(new_state, None, None)
        welcome = None
        if applied.added:
            welcome = serialize(MLSMessage(body=build_welcome(
                suite, group_info=group_info, joiner_secret=joiner, psk_secret=psk_secret, psks=applied.psks,
                new_members=[
                    (kp.ref, kp.key_package.init_key,
                     pending_path.path_secret_for(leaf) if pending_path is not None else None)
                    for leaf, kp in applied.added
                ],
                rng=rng,
            )))
        public_staged = StagedPublicCommit(
            verified=mp.VerifiedContent(authenticated=authenticated, encoded=serialize(authenticated)),
            commit=commit, committer=self._own_leaf, external=False, applied=applied, applied_path=None,
            provisional_context=provisional, group_context=new_context, confirmation_tag=tag,
        )
        message = serialize(MLSMessage(body=body))
        self._pending = StagedCommit(from_epoch=self.epoch, public=public_staged, state=new_state, own=True,
                                     message=message)
        return CommitOutput(commit=message, welcome=welcome, group_info=serialize(MLSMessage(body=group_info)),
                            staged=self._pending)

    def _committable_pending(self) -> list[ResolvedProposal]:
        """The cached proposals this member commits: all of them, less those that cannot be in
        one valid list with the others (section 12.2), so that no combination of valid proposals
        keeps the group from committing. Section 12.2's preferences: a Remove over an Update of
        the same leaf, the most recent Update of a leaf, any other proposal over a ReInit.
        Otherwise: the first Remove of a leaf, Add of a client and PreSharedKey of a PSK id, the
        most recent GroupContextExtensions; never its own Update or removal, an Add of a client
        in the group (that is not removed too) or a PSK this member does not hold."""
        cached = list(self._cache.values())
        tree = self.tree
        removes = {c.proposal.removed for c in cached if isinstance(c.proposal, Remove)} - {self._own_leaf}
        staying = [leaf for index, leaf in tree.members() if index not in removes]
        same_client = self._config.same_client
        latest_update = {c.sender: c.ref for c in cached if isinstance(c.proposal, Update)}
        latest_gce = next((c.ref for c in reversed(cached) if isinstance(c.proposal, GroupContextExtensions)), None)
        out: list[ResolvedProposal] = []
        seen: set[tuple[str, object]] = set()  # Removes, Adds and PSKs already taken
        for c in cached:
            proposal, sender = c.proposal, c.sender
            match proposal:
                case Update():
                    assert isinstance(sender, SenderMember)
                    keep = sender.leaf_index != self._own_leaf and sender.leaf_index not in removes \
                        and latest_update[sender] == c.ref
                case Remove(removed=removed):
                    keep = removed != self._own_leaf and ("remove", removed) not in seen
                    seen.add(("remove", removed))
                case Add(key_package=kp):
                    new = kp.leaf_node
                    keep = ("add", new.signature_key) not in seen and not any(
                        leaf.signature_key == new.signature_key
                        or (same_client is not None and same_client(leaf.credential, new.credential))
                        for leaf in staying)
                    seen.add(("add", new.signature_key))
                case PreSharedKey(psk=psk):
                    keep = ("psk", psk) not in seen and self._holds_psk(psk)
                    seen.add(("psk", psk))
                case GroupContextExtensions():
                    keep = c.ref == latest_gce
                case _:
                    keep = False  # ReInit (below) and ExternalInit (never valid in a member's commit)
            if keep:
                out.append(ResolvedProposal(proposal=proposal, sender=sender, ref=c.ref))
        reinits = [c for c in cached if isinstance(c.proposal, ReInit)]
        if not out and reinits:
            out.append(ResolvedProposal(proposal=reinits[0].proposal, sender=reinits[0].sender, ref=reinits[0].ref))
        return out

    def _holds_psk(self, psk: PreSharedKeyID) -> bool:
        try:
            self._psk_value(psk)
        except ValidationError:
            return False
        return True

    def _keys_after_proposals(self, applied: AppliedProposals) -> TreePrivateKeys:
        """Own private keys after the proposals: a committed own Update replaces the leaf key."""
        keys = self._state.private_keys
        for leaf, _node, ref in applied.updated:
            if leaf == self._own_leaf:
                if ref is None or ref not in self._own_update_keys:
                    raise ValidationError("RFC 9420 §12.1.2: commit applies an Update of ours we did not send")
                keys = keys.with_leaf_key(self._own_update_keys[ref])
        return keys

    def merge_pending_commit(self) -> StagedCommit:
        """The delivery service accepted our commit: move to the new epoch."""
        if self._pending is None:
            raise LocalProtocolError("no pending commit")
        staged = self._pending
        self.merge(staged)
        return staged

    def discard_pending_commit(self) -> None:
        """The delivery service refused our commit (another won the epoch): forget it."""
        self._pending = None

    # -- receiving --------------------------------------------------------------------------------------

    def process(self, data: bytes, *, now: int) -> ApplicationMessage | ProposalMessage | StagedCommit:
        """Verify and decrypt a message for this group. Proposals are cached; commits come back
        staged (call :meth:`merge`). Raises a typed error and changes nothing on bad input."""
        message = deserialize(MLSMessage, data).body
        if self._pending is not None and constant_time_equal(self._pending.message, data):
            # The delivery service echoing our own commit back, in either wire format (our own
            # PrivateMessage no longer decrypts for us: its key was deleted when we sent it).
            return self._pending
        if isinstance(message, PublicMessage):
            return self._process_public(message, now)
        if isinstance(message, PrivateMessage):
            return self._process_private(message, now)
        raise ValidationError("RFC 9420 §6: only PublicMessage and PrivateMessage belong to a group",
                              type(message).__name__)

    def _process_public(self, message: PublicMessage, now: int) -> ProposalMessage | StagedCommit:
        state = self._state
        content = message.content
        if content.group_id != self.group_id:
            raise WrongGroupError("RFC 9420 §6: message is for another group")
        if content.epoch != self.epoch:
            raise WrongEpochError("RFC 9420 §12.4.2: message epoch differs from the group's",
                                  f"{content.epoch} != {self.epoch}")
        if isinstance(content.sender, SenderMember):
            # "When decoding a PublicMessage into an AuthenticatedContent, the application MUST
            # check membership_tag"
            mp.verify_membership_tag(state.public.suite, state.secrets.membership_key, message,
                                     state.public.context_bytes)
        sender = content.sender
        if isinstance(sender, SenderMember) and sender.leaf_index == self._own_leaf:
            raise ReplayError("a handshake message from this member itself")
        verified = state.public.authenticate(mp.public_to_authenticated(message))
        return self._handle_verified(verified, now)

    def _process_private(
        self, message: PrivateMessage, now: int
    ) -> ApplicationMessage | ProposalMessage | StagedCommit:
        if message.group_id != self.group_id:
            raise WrongGroupError("RFC 9420 §6: message is for another group")
        if message.epoch != self.epoch:
            if message.content_type is ContentType.APPLICATION:
                past = next((p for p in self._past if p.public.epoch == message.epoch), None)
                if past is not None:
                    return self._decrypt_application(message, past.public, past.sender_data_secret, past.secret_tree)
            raise WrongEpochError("RFC 9420 §12.4.2: message epoch differs from the group's",
                                  f"{message.epoch} != {self.epoch}")
        state = self._state
        if message.content_type is ContentType.APPLICATION:
            return self._decrypt_application(message, state.public, state.secrets.sender_data_secret,
                                             self._secret_tree)
        authenticated, _ = mp.decrypt_private(
            state.public.suite, message, secret_tree=self._secret_tree,
            sender_data_secret=state.secrets.sender_data_secret,
            is_member=lambda leaf: state.public.tree.leaf(leaf) is not None,
        )
        sender = authenticated.content.sender
        if isinstance(sender, SenderMember) and sender.leaf_index == self._own_leaf:
            raise ReplayError("a handshake message from this member itself")
        verified = state.public.authenticate(authenticated)
        return self._handle_verified(verified, now)

    def _decrypt_application(
        self, message: PrivateMessage, public: PublicEpoch, sender_data_secret: ks.SenderDataSecret,
        secret_tree: SecretTree,
    ) -> ApplicationMessage:
        authenticated, generation = mp.decrypt_private(
            public.suite, message, secret_tree=secret_tree, sender_data_secret=sender_data_secret,
            is_member=lambda leaf: public.tree.leaf(leaf) is not None,
        )
        verified = public.authenticate(authenticated)
        sender = verified.content.sender
        assert isinstance(sender, SenderMember)
        data = verified.content.content
        assert isinstance(data, bytes)
        return ApplicationMessage(sender=sender.leaf_index, data=data,
                                  authenticated_data=verified.content.authenticated_data,
                                  epoch=verified.content.epoch, generation=generation)

    def _handle_verified(self, verified: mp.VerifiedContent, now: int) -> ProposalMessage | StagedCommit:
        content = verified.content
        if content.content_type is ContentType.PROPOSAL:
            proposal = content.content
            assert isinstance(proposal, Proposal)
            validate_proposal(proposal, content.sender, suite=self.suite, tree=self.tree,
                              group_context=self.group_context, now=now,
                              validate_credential=self._config.validate_credential,
                              max_lifetime=self._config.max_key_package_lifetime)
            ref = ProposalRef(self.suite.ref_hash(PROPOSAL_REF_LABEL, verified.encoded))
            self._cache_proposal(CachedProposal(ref=ref, proposal=proposal, sender=content.sender,
                                                authenticated_content=verified.encoded))
            return ProposalMessage(ref=ref, proposal=proposal, sender=content.sender)
        if content.content_type is ContentType.COMMIT:
            return self._stage_received_commit(verified, now)
        raise ValidationError("RFC 9420 §6: application data must be a PrivateMessage")

    def _stage_received_commit(self, verified: mp.VerifiedContent, now: int,
                               psk_usages: frozenset[ResumptionPSKUsage] = frozenset(
                                   {ResumptionPSKUsage.APPLICATION})) -> StagedCommit:
        state = self._state
        suite = state.public.suite
        public = stage_commit(state.public, verified, self._cache, now=now,
                              validate_credential=self._config.validate_credential,
                              same_client=self._config.same_client, psk_usages=psk_usages,
                              max_lifetime=self._config.max_key_package_lifetime)
        applied = public.applied
        if any(leaf == self._own_leaf for leaf, _ in applied.removed):
            return StagedCommit(from_epoch=self.epoch, public=public, state=None)
        keys = self._keys_after_proposals(applied).restricted_to(public.tree)
        if public.applied_path is not None:
            decrypted = public.applied_path.decrypt(keys, public.provisional_context)
            commit_secret = decrypted.commit_secret
            keys = decrypted.private_keys
        else:
            commit_secret = ks.CommitSecret(ks.zero_secret(suite))
        if applied.external_init is not None:
            try:
                init_secret = ks.external_init_receiver(suite, state.secrets.external_key_pair(),
                                                        applied.external_init.kem_output)
            except CryptoError as exc:
                raise ValidationError("RFC 9420 §12.1.6: ExternalInit kem_output is not a KEM output of the "
                                      "cipher suite") from exc
        else:
            init_secret = state.secrets.init_secret
        new_context_bytes = public.group_context.to_bytes()
        _, secrets = ks.advance(suite, init_secret, commit_secret, self._psk_secret(applied.psks), new_context_bytes)
        # "Use the confirmation_key for the new epoch to compute the confirmation tag for this
        # message ... and verify that it is the same as the confirmation_tag field"
        transcript.verify_confirmation_tag(suite, secrets.confirmation_key,
                                           public.group_context.confirmed_transcript_hash, public.confirmation_tag)
        new_state = EpochState(public=public.next_epoch(suite), secrets=secrets, private_keys=keys)
        return StagedCommit(from_epoch=self.epoch, public=public, state=new_state)

    # -- merging ----------------------------------------------------------------------------------------

    def _set_status(self, status: GroupStatus) -> None:
        if status not in TRANSITIONS[self._status]:
            raise LocalProtocolError(f"group cannot go from {self._status.value} to {status.value}")
        self._status = status

    def merge(self, staged: StagedCommit) -> None:
        """Apply a staged commit: the group moves to the new epoch."""
        if staged.from_epoch != self.epoch:
            raise LocalProtocolError("stale staged commit: the group moved on", f"{staged.from_epoch} != {self.epoch}")
        if self._pending is not None and staged is not self._pending:
            self._pending = None  # another member's commit won this epoch
        old = self._state
        self._past.append(PastEpoch(public=old.public, sender_data_secret=old.secrets.sender_data_secret,
                                     secret_tree=self._secret_tree))
        self._cache.clear()
        self._own_update_keys.clear()
        self._pending = None
        if staged.state is None:
            self._set_status(GroupStatus.REMOVED)
            return
        self._state = staged.state
        self._secret_tree = self._new_secret_tree(staged.state)
        self._remember_resumption_psk()
        if staged.reinit is not None:
            self._reinit = staged.reinit
            self._set_status(GroupStatus.REINIT_PENDING)
        else:
            self._set_status(GroupStatus.ACTIVE)

    # -- application messages ---------------------------------------------------------------------------

    def encrypt_application(self, data: bytes, *, rng: RandomSource, authenticated_data: bytes = b"") -> bytes:
        """Encrypt application data as a PrivateMessage (section 14)."""
        self._require_active()
        if self._cache:
            # "A group member that has observed one or more valid proposals within an epoch MUST
            # send a Commit message before sending application data."
            raise LocalProtocolError("RFC 9420 §12.4: commit the pending proposals before sending application data")
        message, _ = self._protect(self._framed(data, authenticated_data), None, WireFormat.PRIVATE_MESSAGE, rng)
        return serialize(message)

    # -- GroupInfo ----------------------------------------------------------------------------------------

    def _make_group_info(self, state: EpochState, with_tree: bool | None, with_external_pub: bool | None) -> GroupInfo:
        config = self._config
        extensions: list[Extension] = []
        if config.ratchet_tree_in_welcome if with_tree is None else with_tree:
            extensions.append(make_extension(state.public.tree.to_extension()))
        if config.external_pub_in_group_info if with_external_pub is None else with_external_pub:
            extensions.append(make_extension(ExternalPub(external_pub=state.secrets.external_key_pair().public_key)))
        return GroupInfo.sign(state.public.suite, self._signer, group_context=state.public.group_context,
                              extensions=extensions, confirmation_tag=state.public.confirmation_tag,
                              signer=self._own_leaf)

    # -- joining ------------------------------------------------------------------------------------------

    @classmethod
    def join(
        cls,
        welcome: bytes,
        bundle: KeyPackageBundle,
        *,
        now: int,
        ratchet_tree: Sequence[Node | None] | None = None,
        config: GroupConfig | None = None,
        resumption_sources: Mapping[bytes, Group] | None = None,
    ) -> Group:
        """Join from a Welcome (section 12.4.3.1) with the KeyPackage it was made for.

        ``resumption_sources`` are this client's groups a branch or reinit Welcome may refer to.
        """
        return join_from_welcome(cls, welcome, bundle, now=now, ratchet_tree=ratchet_tree,
                                 config=config or GroupConfig(), resumption_sources=resumption_sources or {})

    @classmethod
    def join_external(
        cls,
        group_info: bytes,
        *,
        signer: SignaturePrivateKey,
        credential: Credential,
        rng: RandomSource,
        now: int,
        ratchet_tree: Sequence[Node | None] | None = None,
        config: GroupConfig | None = None,
        resync: bool = False,
        psks: Sequence[PreSharedKeyID] = (),
        capabilities: Capabilities | None = None,
        leaf_extensions: Sequence[Extension] = (),
        authenticated_data: bytes = b"",
    ) -> tuple[Group, bytes]:
        """Join by external commit (section 12.4.3.2): the new group and the commit to send.

        With ``resync`` the commit also removes this client's earlier leaf (same credential).
        If the delivery service refuses the commit, drop the returned group.
        """
        return join_by_external_commit(
            cls, group_info, signer=signer, credential=credential, rng=rng, now=now, ratchet_tree=ratchet_tree,
            config=config or GroupConfig(), resync=resync, psks=psks,
            capabilities=capabilities, leaf_extensions=leaf_extensions, authenticated_data=authenticated_data,
        )

    @classmethod
    def _joined(cls, *, public: PublicEpoch, secrets: ks.EpochSecrets, private_keys: TreePrivateKeys,
                signer: SignaturePrivateKey, config: GroupConfig) -> Group:
        state = EpochState(public=public, secrets=secrets, private_keys=private_keys)
        return cls(state=state, own_leaf=private_keys.leaf_index, signer=signer, config=config)

    # -- branching and reinitialization (sections 11.2, 11.3) -------------------------------------------

    def branch(
        self,
        *,
        group_id: bytes,
        key_packages: Iterable[KeyPackage],
        rng: RandomSource,
        now: int,
        extensions: Sequence[Extension] = (),
        force_path: bool = False,
    ) -> tuple[Group, CommitOutput]:
        """A subgroup with the given members' new KeyPackages, linked to this epoch by a
        resumption PSK of usage ``branch`` (section 11.3)."""
        return self._resume(ResumptionPSKUsage.BRANCH, group_id=group_id, suite=self.suite,
                            key_packages=key_packages, rng=rng, now=now, extensions=extensions,
                            force_path=force_path, signer=self._signer)

    def reinitialize(
        self, *, key_packages: Iterable[KeyPackage], rng: RandomSource, now: int, force_path: bool = False,
        signer: SignaturePrivateKey | None = None,
    ) -> tuple[Group, CommitOutput]:
        """The new group a committed ReInit asks for (section 11.2), with every other member.

        ``signer`` is this member's signing key in the new group; it is needed when the ReInit's
        cipher suite uses another signature scheme (by default the current key is kept).
        """
        if self._status is not GroupStatus.REINIT_PENDING or self._reinit is None:
            raise LocalProtocolError("no committed ReInit to carry out")
        reinit = self._reinit
        return self._resume(ResumptionPSKUsage.REINIT, group_id=reinit.group_id,
                            suite=_check_suite(reinit.cipher_suite), key_packages=key_packages, rng=rng, now=now,
                            extensions=reinit.extensions, force_path=force_path, signer=signer or self._signer)

    def _resume(
        self,
        usage: ResumptionPSKUsage,
        *,
        group_id: bytes,
        suite: CipherSuite,
        key_packages: Iterable[KeyPackage],
        rng: RandomSource,
        now: int,
        extensions: Sequence[Extension],
        force_path: bool,
        signer: SignaturePrivateKey,
    ) -> tuple[Group, CommitOutput]:
        own = self.tree.member_leaf(self._own_leaf)
        key_packages = list(key_packages)
        self._check_resumed_membership(usage, [kp.leaf_node.credential for kp in key_packages])
        if signer.scheme is not suite.signature:
            raise LocalProtocolError(f"suite {suite.id} of the new group needs a signing key of its signature "
                                     f"scheme, not {signer.scheme.label}")
        config = self._config
        capabilities = own.capabilities
        if suite.id not in capabilities.cipher_suites:
            capabilities = Capabilities(versions=capabilities.versions,
                                        cipher_suites=(*capabilities.cipher_suites, suite.id),
                                        extensions=capabilities.extensions, proposals=capabilities.proposals,
                                        credentials=capabilities.credentials)
        group = Group.create(suite, group_id=group_id, signer=signer, credential=own.credential, rng=rng, now=now,
                             extensions=extensions, capabilities=capabilities, config=config)
        psk = ResumptionPSKID(usage=usage, psk_group_id=self.group_id, psk_epoch=self.epoch,
                              psk_nonce=rng(suite.hash_size))
        proposals: list[Proposal] = [Add(key_package=kp) for kp in key_packages]
        proposals.append(PreSharedKey(psk=psk))
        output = group.commit(rng=rng, now=now, proposals=proposals, include_pending=False, force_path=force_path,
                              psk_usages=frozenset({usage}), resumption_sources={self.group_id: self})
        group.merge_pending_commit()
        return group, output

    def _check_resumed_membership(self, usage: ResumptionPSKUsage, invited: list[Credential]) -> None:
        """Refuse a branch that every joiner must refuse: "Each LeafNode in a new subgroup MUST
        match some LeafNode in the original group" (section 11.3). (A reinit may leave members
        out for now, e.g. without their KeyPackages; its joiners decide, section 12.4.3.1.)"""
        if usage is not ResumptionPSKUsage.BRANCH:
            return
        same = self._config.same_client or same_identity
        current = [member.credential for member in self.members()]
        if not all(any(same(o, n) for o in current) for n in invited):
            raise LocalProtocolError("RFC 9420 §11.3: every member of a branch must be a member of this group")


def _as_proposal_or_ref(item: ResolvedProposal) -> ProposalOrRef:
    return item.ref if item.ref is not None else item.proposal


def _resumption_value(
    psk: ResumptionPSKID, *, own: Group | None, sources: Mapping[bytes, Group] | None, config: GroupConfig
) -> bytes | None:
    # The sources first: a group reinitialized under the same group_id resumes the old group,
    # not itself.
    if sources and psk.psk_group_id in sources:
        return sources[psk.psk_group_id].resumption_psk(psk.psk_epoch)
    if own is not None and psk.psk_group_id == own.group_id:
        return own.resumption_psk(psk.psk_epoch)
    return config.resumption_psk(psk.psk_group_id, psk.psk_epoch)


__all__ = [
    "ApplicationMessage",
    "CommitOutput",
    "Group",
    "GroupStatus",
    "Member",
    "ProposalMessage",
    "StagedCommit",
]
