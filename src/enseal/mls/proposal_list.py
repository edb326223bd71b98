"""Proposal list validation and application (RFC 9420 sections 12.1, 12.2 and 12.3).

A Commit's proposals -- by reference from the epoch's cache or by value from the committer --
are resolved (:func:`resolve_proposals`), checked against every rule of section 12.2 and applied
to a *copy* of the ratchet tree in the order of section 12.3 (:func:`apply_proposals`). The result
is an :class:`AppliedProposals`; nothing of the caller's state changes, so a failed commit leaves
the group as it was.

Rules enforced here, each raising :class:`~enseal.errors.ValidationError` naming its section:
individual proposal validity (12.1.1-12.1.7), no Update or Remove of the committer, one
Update/Remove per leaf, no duplicate client in Adds, no Add of a current member (unless removed
in the same commit), unique PSK ids, at most one GroupContextExtensions, ReInit alone, ExternalInit
only in (and exactly once in) an external commit whose other proposals are one Remove and PSKs,
and a valid tree afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from enseal.crypto import CipherSuite
from enseal.errors import ValidationError
from enseal.mls.code_points import (
    PATH_REQUIRED_PROPOSAL_TYPES,
    LeafNodeSource,
    ProtocolVersion,
    ResumptionPSKUsage,
)
from enseal.mls.commit import Commit
from enseal.mls.credential import Credential, CredentialValidator
from enseal.mls.extensions import Extension
from enseal.mls.framing import Sender, SenderMember
from enseal.mls.group_context import GroupContext
from enseal.mls.key_package import ValidatedKeyPackage, validate_key_package
from enseal.mls.leaf_node import LeafNode
from enseal.mls.proposals import (
    Add,
    ExternalInit,
    GroupContextExtensions,
    PreSharedKey,
    PreSharedKeyID,
    Proposal,
    ProposalRef,
    ReInit,
    Remove,
    ResumptionPSKID,
    Update,
)
from enseal.mls.ratchet_tree import RatchetTree
from enseal.types import LeafIndex

SameClient = Callable[[Credential, Credential], bool]
"""Whether two credentials present the same client (application-defined, section 12.2)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CachedProposal:
    """A verified proposal received in this epoch, retrievable by its ProposalRef."""

    ref: ProposalRef
    proposal: Proposal
    sender: Sender
    authenticated_content: bytes
    """The encoded AuthenticatedContent it arrived in (what ``ref`` hashes)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolvedProposal:
    """A proposal of a Commit with its sender and, if sent by reference, its ref."""

    proposal: Proposal
    sender: Sender
    ref: ProposalRef | None


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class AppliedProposals:
    """The staged effect of a Commit's proposals (before any UpdatePath)."""

    tree: RatchetTree
    extensions: tuple[Extension, ...]
    added: tuple[tuple[LeafIndex, ValidatedKeyPackage], ...]
    updated: tuple[tuple[LeafIndex, LeafNode, ProposalRef | None], ...]
    removed: tuple[tuple[LeafIndex, LeafNode], ...]
    psks: tuple[PreSharedKeyID, ...]
    external_init: ExternalInit | None
    reinit: ReInit | None
    path_required: bool
    proposals: tuple[ResolvedProposal, ...]

    def __repr__(self) -> str:
        return (f"AppliedProposals(added={[i for i, _ in self.added]}, removed={[i for i, _ in self.removed]}, "
                f"updated={[i for i, _, _ in self.updated]}, psks={len(self.psks)})")


def resolve_proposals(
    commit: Commit, *, committer: Sender, cache: Mapping[ProposalRef, CachedProposal]
) -> list[ResolvedProposal]:
    """The Commit's proposals with their senders; by-value proposals are the committer's."""
    out: list[ResolvedProposal] = []
    for item in commit.proposals:
        if isinstance(item, Proposal):
            out.append(ResolvedProposal(proposal=item, sender=committer, ref=None))
            continue
        cached = cache.get(item)
        if cached is None:
            raise ValidationError("RFC 9420 §12.4: commit references a proposal this member has not received",
                                  item.hex()[:16])
        out.append(ResolvedProposal(proposal=cached.proposal, sender=cached.sender, ref=item))
    return out


def check_psk_id(suite: CipherSuite, psk: PreSharedKeyID, *, allowed_usages: frozenset[ResumptionPSKUsage]) -> None:
    """Section 12.1.4: "The psk_nonce is not of length KDF.Nh" is invalid, and resumption PSKs
    with usage reinit or branch only inside a reinitialization or branch."""
    if len(psk.psk_nonce) != suite.hash_size:
        raise ValidationError("RFC 9420 §12.1.4: psk_nonce must be KDF.Nh bytes", f"{len(psk.psk_nonce)}")
    if isinstance(psk, ResumptionPSKID) and psk.usage not in allowed_usages:
        raise ValidationError("RFC 9420 §12.1.4: resumption PSK usage not allowed here", psk.usage.name.lower())


def validate_proposal(
    proposal: Proposal,
    sender: Sender,
    *,
    suite: CipherSuite,
    tree: RatchetTree,
    group_context: GroupContext,
    now: int,
    validate_credential: CredentialValidator,
    max_lifetime: int | None = None,
) -> None:
    """The checks of one proposal on its own, when it is received (section 12.1); the checks
    that depend on the other proposals of a Commit are in :func:`apply_proposals`."""
    match proposal:
        case Add(key_package=kp):
            validate_key_package(kp, suite, now=now, validate_credential=validate_credential,
                                 max_lifetime=_lifetime_bound(max_lifetime))
        case Update(leaf_node=leaf):
            if not isinstance(sender, SenderMember):
                raise ValidationError("RFC 9420 §12.1.2: an Update is sent by a member")
            tree.validate_incoming_leaf(leaf, source=LeafNodeSource.UPDATE, group_context=group_context,
                                        leaf_index=sender.leaf_index, replacing=sender.leaf_index, now=None,
                                        validate_credential=validate_credential)
        case Remove(removed=removed):
            if tree.leaf(removed) is None:
                raise ValidationError("RFC 9420 §12.1.3: Remove names a blank leaf", f"leaf {removed}")
        case PreSharedKey(psk=psk):
            check_psk_id(suite, psk, allowed_usages=frozenset({ResumptionPSKUsage.APPLICATION}))
        case ReInit(version=version):
            if version < group_context.version:
                raise ValidationError("RFC 9420 §12.1.5: ReInit to an older protocol version")
        case ExternalInit():
            # "An ExternalInit proposal is used by new members that want to join a group by using
            # an external commit. This proposal can only be used in that context."
            raise ValidationError("RFC 9420 §12.1.6: an ExternalInit is only sent inside an external commit")
        case GroupContextExtensions(extensions=extensions):
            tree.check_members_support(extensions)
        case _:
            raise ValidationError("RFC 9420 §12.1: unsupported proposal type", type(proposal).__name__)


def apply_proposals(
    proposals: Sequence[ResolvedProposal],
    *,
    suite: CipherSuite,
    tree: RatchetTree,
    group_context: GroupContext,
    committer: LeafIndex | None,
    now: int,
    validate_credential: CredentialValidator,
    same_client: SameClient | None = None,
    joiner_credential: Credential | None = None,
    psk_usages: frozenset[ResumptionPSKUsage] = frozenset({ResumptionPSKUsage.APPLICATION}),
    max_lifetime: int | None = None,
) -> AppliedProposals:
    """Validate the list (section 12.2) and apply it to a copy of ``tree`` (section 12.3).

    ``committer`` is the committing member's leaf, or None for an external commit, whose joiner
    presents ``joiner_credential`` (the credential of its UpdatePath leaf). ``same_client`` says
    whether two credentials are the same client (default: only identical signature keys are; for
    an external commit's Remove, equal credentials).
    """
    external = committer is None
    adds: list[tuple[Add, Sender]] = []
    updates: list[tuple[Update, LeafIndex, ProposalRef | None]] = []
    removes: list[Remove] = []
    psks: list[PreSharedKeyID] = []
    gce: list[GroupContextExtensions] = []
    reinits: list[ReInit] = []
    external_inits: list[ExternalInit] = []
    touched: set[LeafIndex] = set()

    for item in proposals:
        proposal, sender = item.proposal, item.sender
        match proposal:
            case Add():
                adds.append((proposal, sender))
            case Update():
                if not isinstance(sender, SenderMember):
                    raise ValidationError("RFC 9420 §12.1.2: an Update is sent by a member")
                if sender.leaf_index == committer:
                    raise ValidationError("RFC 9420 §12.2: commit contains an Update from the committer")
                if sender.leaf_index in touched:
                    raise ValidationError("RFC 9420 §12.2: several Update/Remove proposals for one leaf",
                                          f"leaf {sender.leaf_index}")
                touched.add(sender.leaf_index)
                updates.append((proposal, sender.leaf_index, item.ref))
            case Remove():
                if proposal.removed == committer:
                    raise ValidationError("RFC 9420 §12.2: commit contains a Remove of the committer")
                if proposal.removed in touched:
                    raise ValidationError("RFC 9420 §12.2: several Update/Remove proposals for one leaf",
                                          f"leaf {proposal.removed}")
                touched.add(proposal.removed)
                removes.append(proposal)
            case PreSharedKey():
                if proposal.psk in psks:
                    raise ValidationError("RFC 9420 §12.2: two PreSharedKey proposals for one PSK")
                psks.append(proposal.psk)
            case GroupContextExtensions():
                gce.append(proposal)
            case ReInit():
                reinits.append(proposal)
            case ExternalInit():
                external_inits.append(proposal)

    if len(gce) > 1:
        raise ValidationError("RFC 9420 §12.2: more than one GroupContextExtensions proposal")
    if reinits and len(proposals) > 1:
        raise ValidationError("RFC 9420 §12.2: a ReInit must be the only proposal of its commit")
    if external:
        # "For an external Commit, the list is valid if it contains only ... Exactly one
        # ExternalInit, At most one Remove proposal, ... Zero or more PreSharedKey proposals"
        if len(external_inits) != 1:
            raise ValidationError("RFC 9420 §12.2: an external commit needs exactly one ExternalInit")
        if adds or updates or gce or reinits or len(removes) > 1:
            raise ValidationError("RFC 9420 §12.2: external commit may only hold ExternalInit, one Remove, PSKs")
        if any(item.ref is not None for item in proposals):
            raise ValidationError("RFC 9420 §12.4.3.2: an external commit includes no proposal by reference")
    elif external_inits:
        raise ValidationError("RFC 9420 §12.2: an ExternalInit outside an external commit")
    for psk in psks:
        check_psk_id(suite, psk, allowed_usages=psk_usages)
    for reinit in reinits:
        if reinit.version < group_context.version:
            raise ValidationError("RFC 9420 §12.1.5: ReInit to an older protocol version")

    staged = tree.copy()
    extensions = gce[0].extensions if gce else group_context.extensions
    context = group_context.evolve(extensions=extensions) if gce else group_context

    # Updates (section 12.1.2), validated against the new extensions.
    updated: list[tuple[LeafIndex, LeafNode, ProposalRef | None]] = []
    for update, leaf_index, ref in updates:
        if ref is None:
            staged.validate_incoming_leaf(update.leaf_node, source=LeafNodeSource.UPDATE, group_context=context,
                                          leaf_index=leaf_index, replacing=leaf_index, now=None,
                                          validate_credential=validate_credential)
        else:
            # A proposal by reference passed validate_proposal (signature, credential, source) when
            # it was received in this epoch; what depends on the rest of the commit is checked again.
            staged.check_leaf_node_fits(update.leaf_node, group_context_extensions=context.extensions,
                                        replacing=leaf_index)
        staged.update_leaf(leaf_index, update.leaf_node)
        updated.append((leaf_index, update.leaf_node, ref))

    # Removes (section 12.1.3).
    removed: list[tuple[LeafIndex, LeafNode]] = []
    for remove in removes:
        leaf = staged.leaf(remove.removed)
        if leaf is None:
            raise ValidationError("RFC 9420 §12.1.3: Remove names a blank leaf", f"leaf {remove.removed}")
        # Resync: "the credential in the LeafNode MUST present a set of identifiers that is
        # acceptable to the application for the removed participant."
        if external and (
            joiner_credential is None or not (same_client or same_identity)(leaf.credential, joiner_credential)
        ):
            raise ValidationError("RFC 9420 §12.2: external commit removes a different client")
        staged.remove_leaf(remove.removed)
        removed.append((remove.removed, leaf))

    # Adds (section 12.1.1), in list order.
    added: list[tuple[LeafIndex, ValidatedKeyPackage]] = []
    new_signature_keys: set[bytes] = set()
    for add, _sender in adds:
        validated = validate_key_package(add.key_package, suite, now=now, validate_credential=validate_credential,
                                         version=ProtocolVersion(group_context.version),
                                         max_lifetime=_lifetime_bound(max_lifetime))
        leaf = validated.leaf_node
        if leaf.signature_key in new_signature_keys:
            raise ValidationError("RFC 9420 §12.2: two Adds for the same client")
        new_signature_keys.add(leaf.signature_key)
        # "It contains an Add proposal with a KeyPackage that represents a client already in the
        # group according to the application (for example, identical signature keys)"
        if staged.leaf_index_by_signature_key(leaf.signature_key) is not None or (
            same_client is not None
            and any(same_client(member.credential, leaf.credential) for _, member in staged.members())
        ):
            raise ValidationError("RFC 9420 §12.2: Add of a client already in the group")
        staged.check_leaf_node_fits(leaf, group_context_extensions=extensions)
        added.append((staged.add_leaf(leaf), validated))

    if gce:
        # "invalid if it includes a required_capabilities extension and some members of the
        # group do not support some of the required capabilities (including those added in the
        # same Commit, and excluding those removed)"
        staged.check_members_support(extensions)

    path_required = not proposals or any(
        item.proposal.proposal_type in PATH_REQUIRED_PROPOSAL_TYPES for item in proposals
    )
    return AppliedProposals(
        tree=staged,
        extensions=extensions,
        added=tuple(added),
        updated=tuple(updated),
        removed=tuple(removed),
        psks=tuple(psks),
        external_init=external_inits[0] if external_inits else None,
        reinit=reinits[0] if reinits else None,
        path_required=path_required,
        proposals=tuple(proposals),
    )


UNBOUNDED_LIFETIME = 1 << 64
"""No maximum: the total lifetime of a uint64 range always fits."""


def _lifetime_bound(max_lifetime: int | None) -> int:
    return UNBOUNDED_LIFETIME if max_lifetime is None else max_lifetime


def same_identity(a: Credential, b: Credential) -> bool:
    """The default :data:`SameClient`: equal credentials (for basic credentials, equal identity)."""
    return a == b
