"""Persisting a member's group state as versioned bytes, and restoring it to an identical group.

The encoding holds secrets (keys, ratchets, the signing key): the caller stores it encrypted
(Enseal's client keeps it in its encrypted profile). It is a :class:`~enseal.crypto.Secret`.

Format version 1 (TLS presentation language)::

    u8 version
    u32 own_leaf; u8 status; u16 signature scheme; opaque signer<V>
    GroupContext; optional<Node> ratchet_tree<V>; opaque confirmation_tag<V>
    opaque epoch_secrets[9]<V>  (sender data, encryption, exporter, external, confirm,
                                 membership, resumption, authentication, init)
    opaque tree_private_keys<V>; SecretTree
    opaque cached_proposal<V><V>          (AuthenticatedContent encodings, in arrival order)
    { opaque ref<V>; opaque leaf_priv<V> } own_update_keys<V>
    { GroupContext; ratchet_tree; opaque tag<V>; opaque sender_data<V>; SecretTree } past<V>
    { u64 epoch; opaque psk<V> } resumption_psks<V>
    optional<Proposal> reinit

A commit of one's own that was still pending is not stored: after a restart the client commits
again (the delivery service never saw it, or already refused it).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from typing import TYPE_CHECKING, Final

from enseal.codec import Reader, Writer
from enseal.crypto import CipherSuite, HpkePrivateKey, Secret, SignaturePrivateKey, SignatureScheme, cipher_suite
from enseal.errors import DecodeError
from enseal.mls import key_schedule as ks
from enseal.mls.group_config import GroupConfig
from enseal.mls.group_context import GroupContext
from enseal.mls.group_state import EpochState, GroupStatus, PastEpoch
from enseal.mls.proposals import Proposal, ProposalRef, ReInit
from enseal.mls.public_epoch import PublicEpoch
from enseal.mls.public_view import PROPOSAL_REF_LABEL, cached_proposal
from enseal.mls.ratchet_tree import RatchetTree
from enseal.mls.secret_tree import SecretTree
from enseal.mls.tree_nodes import RatchetTreeExtension
from enseal.mls.tree_private_keys import TreePrivateKeys
from enseal.types import LeafIndex

if TYPE_CHECKING:
    from enseal.mls.group import Group

FORMAT_VERSION: Final = 1
_SECRET_NAMES: Final = (
    "sender_data_secret", "encryption_secret", "exporter_secret", "external_secret", "confirmation_key",
    "membership_key", "resumption_psk", "epoch_authenticator", "init_secret",
)
_SCHEMES: Final = {scheme.code: scheme for scheme in SignatureScheme}


def _write_public(w: Writer, public: PublicEpoch) -> None:
    public.group_context.encode(w)
    public.tree.to_extension().encode(w)
    w.opaque(public.confirmation_tag)


def _read_public(r: Reader) -> PublicEpoch:
    context = GroupContext.decode(r)
    nodes = RatchetTreeExtension.decode(r).ratchet_tree
    tag = r.opaque()
    suite = cipher_suite(context.cipher_suite)
    return PublicEpoch.of(suite, context, RatchetTree.from_trusted_nodes(suite, nodes), tag)


def _write_update_key(w: Writer, item: tuple[ProposalRef, HpkePrivateKey]) -> None:
    w.opaque(item[0])
    w.opaque(item[1].private_bytes().reveal())


def _write_resumption(w: Writer, item: tuple[int, ks.ResumptionPsk]) -> None:
    w.u64(item[0])
    w.opaque(item[1].reveal())


def _write_proposal(w: Writer, proposal: Proposal) -> None:
    proposal.encode(w)


def group_to_bytes(group: Group) -> Secret:
    state = group._state
    w = Writer()
    w.u8(FORMAT_VERSION)
    w.u32(group.own_leaf)
    w.u8(list(type(group.status)).index(group.status))
    signer = group._signer
    w.u16(signer.scheme.code)
    w.opaque(signer.private_bytes().reveal())
    _write_public(w, state.public)
    for name in _SECRET_NAMES:
        w.opaque(getattr(state.secrets, name).reveal())
    w.opaque(state.private_keys.to_bytes().reveal())
    group._secret_tree.encode(w)
    w.vector([c.authenticated_content for c in group._cache.values()], Writer.opaque)
    w.vector(group._own_update_keys.items(), _write_update_key)

    def write_past(ww: Writer, past: PastEpoch) -> None:
        _write_public(ww, past.public)
        ww.opaque(past.sender_data_secret.reveal())
        past.secret_tree.encode(ww)

    w.vector(group._past, write_past)
    w.vector(group._resumption.items(), _write_resumption)
    w.optional(group.reinit, _write_proposal)
    return Secret(w.getvalue())


def group_from_bytes(cls: type[Group], data: Secret | bytes, config: GroupConfig) -> Group:
    raw = data.reveal() if isinstance(data, Secret) else bytes(data)
    r = Reader(raw)
    if r.u8() != FORMAT_VERSION:
        raise DecodeError("unknown group state format version")
    own_leaf = LeafIndex(r.u32())
    statuses = list(GroupStatus)
    status_index = r.u8()
    if status_index >= len(statuses):
        raise DecodeError("unknown group status in stored state")
    scheme = _SCHEMES.get(r.u16())
    if scheme is None:
        raise DecodeError("unknown signature scheme in stored state")
    signer = SignaturePrivateKey.from_bytes(scheme, r.opaque())
    public = _read_public(r)
    suite: CipherSuite = public.suite
    secrets = ks.EpochSecrets(
        suite=suite,
        sender_data_secret=ks.SenderDataSecret(r.opaque()),
        encryption_secret=ks.EncryptionSecret(r.opaque()),
        exporter_secret=ks.ExporterSecret(r.opaque()),
        external_secret=ks.ExternalSecret(r.opaque()),
        confirmation_key=ks.ConfirmationKey(r.opaque()),
        membership_key=ks.MembershipKey(r.opaque()),
        resumption_psk=ks.ResumptionPsk(r.opaque()),
        epoch_authenticator=ks.EpochAuthenticator(r.opaque()),
        init_secret=ks.InitSecret(r.opaque()),
    )
    private_keys = TreePrivateKeys.from_bytes(r.opaque())
    secret_tree = SecretTree.decode(suite, r)
    cached = r.vector(Reader.opaque)
    updates = r.vector(lambda rr: (rr.opaque(), rr.opaque()))

    def read_past(rr: Reader) -> PastEpoch:
        past_public = _read_public(rr)
        sender_data = ks.SenderDataSecret(rr.opaque())
        return PastEpoch(public=past_public, sender_data_secret=sender_data,
                          secret_tree=SecretTree.decode(past_public.suite, rr))

    past = r.vector(read_past)
    resumption = r.vector(lambda rr: (rr.u64(), rr.opaque()))
    reinit = r.optional(Proposal.decode)
    r.finish()

    state = EpochState(public=public, secrets=secrets, private_keys=private_keys)
    group = cls(state=state, own_leaf=own_leaf, signer=signer, config=config, status=statuses[status_index])
    group._secret_tree = secret_tree
    for encoded in cached:
        item = cached_proposal(suite.ref_hash(PROPOSAL_REF_LABEL, encoded), encoded)
        group._cache[item.ref] = item
    for ref, key in updates:
        group._own_update_keys[ProposalRef(ref)] = suite.hpke_key(key)
    group._past = deque(past, maxlen=max(0, config.max_past_epochs))
    group._resumption = OrderedDict((epoch, ks.ResumptionPsk(psk)) for epoch, psk in resumption)
    if reinit is not None and not isinstance(reinit, ReInit):
        raise DecodeError("stored reinit is not a ReInit proposal")
    group._reinit = reinit
    return group
