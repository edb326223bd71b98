"""The MLS delivery service (ARCHITECTURE.md section 4; docs/protocol.md, "Groups and delivery";
decision records 0800-0806).

For each group the server keeps a :class:`~enseal.mls.public_view.PublicGroupView` -- epoch,
ratchet tree, roster, pending proposals, no secrets -- and an ordered list of items: the
handshake log, the application-message history and Welcomes. Every request that changes a group
runs in one database transaction holding the group's row lock, so handshakes of one group are
processed one at a time on any number of nodes and the first valid commit of an epoch wins.
Deliveries go into the recipients' durable mailboxes in the same transaction; the fan-out only
wakes connected devices up afterwards.

Authorization: only a device in the roster whose user is on the group's access list may post;
a member's PublicMessage must come from that device's own leaf; an external commit's new leaf
must be the calling device, of a user on the access list. The server checks every new leaf as
the Authentication Service (:mod:`enseal.server.authentication_service`) and, as the group's
external sender, proposes Remove for revoked and departed devices; member commits must include
those proposals.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from enseal.errors import CommitConflictError
from enseal.mls.code_points import ContentType
from enseal.mls.credential import BasicCredential
from enseal.mls.extensions import ExternalSenders, find_extension
from enseal.mls.framing import SenderMember, SenderNewMemberCommit
from enseal.mls.leaf_node import LeafNode
from enseal.mls.proposals import Add
from enseal.mls.public_view import PublicCommit, PublicGroupView, PublicProposal
from enseal.policy import Encryption, decide_meeting_join
from enseal.server.authentication_service import (
    DeviceDirectory,
    credentials_of_message,
    device_id_of,
    identity_of,
)
from enseal.server.errors import Forbidden, InvalidGroupMessage
from enseal.server.fanout import MAILBOX_WAKEUP, Notice
from enseal.server.group_messages import (
    application_message,
    check_new_group_info,
    check_welcome,
    group_info,
    mls_refusals,
    public_message,
    ratchet_tree_of,
)
from enseal.server.parties import party_of
from enseal.server.principals import DevicePrincipal
from enseal.server.state import ServerState
from enseal.storage import (
    Conflict,
    DeviceRecord,
    GroupItemRecord,
    GroupMemberRecord,
    MlsGroupRecord,
    NotFound,
    Transaction,
    UserRecord,
)
from enseal.types import LeafIndex
from enseal.wire import UserAddress
from enseal.wire.groups import (
    MAX_GROUP_USERS,
    CreateGroupRequest,
    GroupBody,
    GroupMemberBody,
    HandshakeAccepted,
    HandshakeRequest,
    MessageAccepted,
    PostMessageRequest,
)

log = logging.getLogger("enseal.server.delivery")

MAX_PAST_EPOCHS: Final = 2
"""Application messages are accepted for the current epoch and this many before it (what
clients keep the keys of, ``enseal.mls.group_config.MAX_PAST_EPOCHS``)."""
MIN_GROUP_ID_BYTES: Final = 16
MAX_GROUP_ID_BYTES: Final = 32
SERVER_SENDER: Final = "server"
"""The ``sender`` of the server's own proposals in logs and mailboxes."""
ED25519_SUITES: Final = frozenset({1, 3})
"""Cipher suites whose signature scheme is Ed25519, the scheme of the server's external-sender key."""


@dataclass(slots=True)
class Deliveries:
    """Mailbox entries made in a transaction: the devices to wake once it commits."""

    devices: set[str] = field(default_factory=set)

    def add(self, assigned: Iterable[str]) -> None:
        self.devices.update(assigned)

    async def wake(self, state: ServerState) -> None:
        if self.devices:
            await state.fanout.publish(sorted(self.devices), Notice(type=MAILBOX_WAKEUP))


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupAccess:
    """Who may do what in a group, as loaded for one request."""

    group: MlsGroupRecord
    users: frozenset[int]
    members: tuple[GroupMemberRecord, ...]

    def device_leaves(self, device_id: str) -> list[int]:
        return [m.leaf_index for m in self.members if m.device_id == device_id]

    def is_member(self, principal: DevicePrincipal) -> bool:
        return principal.user.id in self.users and bool(self.device_leaves(principal.device.device_id))

    def may_see(self, principal: DevicePrincipal) -> bool:
        return principal.user.id in self.users or bool(self.device_leaves(principal.device.device_id))

    def require_member(self, principal: DevicePrincipal) -> None:
        if not self.is_member(principal):
            raise Forbidden("only a member device of the group, of a user on its access list, may do this")

    def recipients(self, *, excluding: str | None) -> list[str]:
        return sorted({m.device_id for m in self.members if m.device_id != excluding})


def _now_seconds(state: ServerState) -> int:
    return int(state.clock().timestamp())


async def load_access(tx: Transaction, group_id: str, *, for_update: bool = False) -> GroupAccess:
    group = await tx.mls_groups.get(group_id, for_update=for_update)
    return GroupAccess(
        group=group,
        users=frozenset(await tx.mls_groups.user_ids(group_id)),
        members=tuple(await tx.mls_groups.members(group_id)),
    )


async def visible_access(tx: Transaction, group_id: str, principal: DevicePrincipal) -> GroupAccess:
    """The group if the device may see it; 404 otherwise (its existence is not revealed)."""
    access = await load_access(tx, group_id)
    if not access.may_see(principal):
        raise NotFound("no such group", group_id)
    return access


async def group_body(tx: Transaction, access: GroupAccess) -> GroupBody:
    devices = await tx.devices.get_many(m.device_id for m in access.members)
    members = []
    for member in access.members:
        device = devices.get(member.device_id)
        if device is None:
            continue
        members.append(
            GroupMemberBody(
                leaf_index=member.leaf_index,
                user=device.user.address,
                device_id=device.device_id,
                credential_identity=identity_of(device),
            )
        )
    users = await tx.mls_groups.users(access.group.group_id)
    return GroupBody.model_validate(
        {
            "group_id": access.group.group_id,
            "kind": access.group.kind,
            "epoch": access.group.epoch,
            "created_at": access.group.created_at,
            "created_by": access.group.created_by,
            "members": members,
            "users": [user.address for user in users],
            "pending_removals": sorted(await tx.mls_groups.server_removals(access.group.group_id, access.group.epoch)),
        }
    )


async def resolve_users(tx: Transaction, addresses: Iterable[str]) -> list[UserRecord]:
    users = []
    for text in dict.fromkeys(addresses):
        address = UserAddress.parse(text)
        users.append(await tx.users.get(address.tenant, address.name))
    return users


async def require_meeting_join(tx: Transaction, kind: str, devices: Iterable[DeviceRecord]) -> None:
    """Meetings: E2EE must be available to every joiner (``enseal.policy.decide_meeting_join``)."""
    if kind != "meeting":
        return
    for device in devices:
        party = await party_of(tx, await tx.users.get_by_id(device.user.id), device_supports_e2ee=device.supports_e2ee)
        decide_meeting_join(meeting=Encryption.END_TO_END, participant=party).require()


def _roster(view: PublicGroupView, directory: DeviceDirectory) -> list[GroupMemberRecord]:
    roster = []
    for leaf, node in view.tree.members():
        device = directory.device(node.credential)
        roster.append(GroupMemberRecord(leaf_index=int(leaf), device_id=device.device_id, user_id=device.user.id))
    return roster


def _check_external_sender(state: ServerState, view: PublicGroupView) -> None:
    """RFC 9420 §12.1.8.1: the server proposes as an external sender only if the group lists it."""
    if view.group_context.cipher_suite not in ED25519_SUITES:
        raise InvalidGroupMessage(
            "Enseal: the server's external-sender key is Ed25519; use a cipher suite with Ed25519 signatures",
            f"suite {view.group_context.cipher_suite}",
        )
    with mls_refusals():
        senders = find_extension(view.group_context.extensions, ExternalSenders)
    server = state.external_sender
    expected = BasicCredential(identity=server.identity)
    if senders is None or not any(
        sender.signature_key == server.signing_key.public_key and sender.credential == expected
        for sender in senders.external_senders
    ):
        raise InvalidGroupMessage(
            "Enseal: the group's external_senders extension must list the server (GET /v1/server/info)",
            server.identity.decode(),
        )


# -- creating a group ------------------------------------------------------------------------------


def conversation_key(kind: str, users: Iterable[UserRecord]) -> str:
    """Names "the group of this kind with exactly these users" (``one_per_users``)."""
    text = kind + "\n" + "\n".join(sorted(user.address for user in users))
    return hashlib.sha256(text.encode()).hexdigest()


async def create_group(state: ServerState, principal: DevicePrincipal, body: CreateGroupRequest) -> GroupBody:
    info = group_info(body.group_info)
    tree = ratchet_tree_of(info)
    now = state.clock()
    async with state.store.transaction() as tx:
        directory = await DeviceDirectory.load(
            tx, [node.credential for node in tree.ratchet_tree if isinstance(node, LeafNode)]
        )
        with mls_refusals():
            view = PublicGroupView.from_group_info(body.group_info, validate_credential=directory.validate_credential)
        if not MIN_GROUP_ID_BYTES <= len(view.group_id) <= MAX_GROUP_ID_BYTES:
            raise InvalidGroupMessage(
                f"Enseal: a group_id is {MIN_GROUP_ID_BYTES}-{MAX_GROUP_ID_BYTES} random bytes",
                f"{len(view.group_id)} bytes",
            )
        _check_external_sender(state, view)
        with mls_refusals():
            roster = _roster(view, directory)
            signer = view.tree.member_leaf(info.signer)
        if device_id_of(signer.credential) != principal.device.device_id:
            raise Forbidden("the GroupInfo must be signed by the calling device's own leaf")
        users = await resolve_users(tx, [principal.user.address, *body.users])
        if len(users) > MAX_GROUP_USERS:
            raise InvalidGroupMessage(f"a group's access list holds at most {MAX_GROUP_USERS} users")
        user_ids = {user.id for user in users}
        outsiders = [m.leaf_index for m in roster if m.user_id not in user_ids]
        if outsiders:
            raise Forbidden("every member's user must be on the group's access list", f"leaves {outsiders}")
        await require_meeting_join(tx, body.kind, (directory.device(n.credential) for _, n in view.tree.members()))
        await tx.mls_groups.create(
            conversation_key=conversation_key(body.kind, users) if body.one_per_users else None,
            group_id=view.group_id.hex(),
            kind=body.kind,
            tenant_id=principal.user.tenant_id,
            created_by=identity_of(principal.device),
            epoch=view.epoch,
            view=view.to_bytes(),
            group_info=body.group_info,
            user_ids=user_ids,
            members=roster,
            now=now,
        )
        return await group_body(tx, await load_access(tx, view.group_id.hex()))


# -- handshakes ------------------------------------------------------------------------------------


def _accepted(item: GroupItemRecord, *, epoch: int, duplicate: bool = False) -> HandshakeAccepted:
    return HandshakeAccepted.model_validate(
        {
            "group_id": item.group_id,
            "type": item.kind,
            "group_seq": item.group_seq,
            "epoch": epoch,
            "duplicate": duplicate,
        }
    )


async def post_handshake(
    state: ServerState, principal: DevicePrincipal, group_id: str, body: HandshakeRequest
) -> HandshakeAccepted:
    message = public_message(body.message)
    content = message.content
    if content.group_id.hex() != group_id:
        raise InvalidGroupMessage("RFC 9420 §6: the message names another group", content.group_id.hex()[:64])
    is_commit = content.content_type is ContentType.COMMIT
    deliveries = Deliveries()
    async with state.store.transaction() as tx:
        access = await load_access(tx, group_id, for_update=True)
        if not access.may_see(principal):
            raise NotFound("no such group", group_id)
        group = access.group
        sender = content.sender
        if isinstance(sender, SenderMember):
            access.require_member(principal)
            if int(sender.leaf_index) not in access.device_leaves(principal.device.device_id):
                raise Forbidden("a member sends handshakes from its own leaf", f"leaf {sender.leaf_index}")
        elif isinstance(sender, SenderNewMemberCommit):
            if principal.user.id not in access.users:
                raise Forbidden("only devices of users on the group's access list may join it")
        else:
            raise Forbidden(
                "only the server proposes as an external sender; a new device joins by external commit",
                type(sender).__name__,
            )
        if content.epoch < group.epoch:
            if is_commit:
                won = await tx.mls_groups.commit_of_epoch(group_id, content.epoch)
                if won is not None and won.data == body.message:
                    return _accepted(won, epoch=group.epoch, duplicate=True)
            raise CommitConflictError(
                "another commit was accepted for this epoch first: process the log and try again",
                current_epoch=group.epoch,
                detail=f"message epoch {content.epoch}",
            )
        if content.epoch > group.epoch:
            raise InvalidGroupMessage(
                "RFC 9420 §6: the message is for a later epoch than the group's", f"{content.epoch} > {group.epoch}"
            )
        directory = await DeviceDirectory.load(tx, credentials_of_message(message))
        view = PublicGroupView.from_bytes(group.view, validate_credential=directory.validate_credential)
        with mls_refusals():
            result = view.process(body.message, now=_now_seconds(state))
        if isinstance(result, PublicProposal):
            accepted = await _accept_proposal(state, tx, access, view, result, directory, principal, body, deliveries)
        else:
            accepted = await _accept_commit(state, tx, access, view, result, directory, principal, body, deliveries)
    await deliveries.wake(state)
    return accepted


async def _accept_proposal(
    state: ServerState,
    tx: Transaction,
    access: GroupAccess,
    view: PublicGroupView,
    proposal: PublicProposal,
    directory: DeviceDirectory,
    principal: DevicePrincipal,
    body: HandshakeRequest,
    deliveries: Deliveries,
) -> HandshakeAccepted:
    if body.group_info is not None or body.welcome is not None:
        raise InvalidGroupMessage("Enseal: a GroupInfo or Welcome travels only with a commit")
    if isinstance(proposal.proposal, Add):
        joiner = directory.device(proposal.proposal.key_package.leaf_node.credential)
        await _require_admitted(tx, access, [joiner])
    now = state.clock()
    group = access.group
    item = await tx.mls_groups.append(
        group.group_id,
        kind="proposal",
        epoch=group.epoch,
        sender_device_id=principal.device.device_id,
        sender=identity_of(principal.device),
        data=body.message,
        now=now,
    )
    await tx.mls_groups.save_state(group.group_id, epoch=view.epoch, view=view.to_bytes(), group_info=None, now=now)
    deliveries.add(await tx.mailboxes.enqueue(access.recipients(excluding=principal.device.device_id), item.id))
    return _accepted(item, epoch=view.epoch)


async def _require_admitted(tx: Transaction, access: GroupAccess, joiners: Sequence[DeviceRecord]) -> None:
    outsiders = sorted({d.user.address for d in joiners if d.user.id not in access.users})
    if outsiders:
        raise Forbidden("new members must be devices of users on the group's access list", ", ".join(outsiders))
    await require_meeting_join(tx, access.group.kind, joiners)


async def _accept_commit(
    state: ServerState,
    tx: Transaction,
    access: GroupAccess,
    view: PublicGroupView,
    commit: PublicCommit,
    directory: DeviceDirectory,
    principal: DevicePrincipal,
    body: HandshakeRequest,
    deliveries: Deliveries,
) -> HandshakeAccepted:
    group = access.group
    staged = commit.staged
    joiners = [directory.device(kp.key_package.leaf_node.credential) for _, kp in staged.applied.added]
    if staged.external:
        assert staged.commit.path is not None  # an external commit always carries a path
        if device_id_of(staged.commit.path.leaf_node.credential) != principal.device.device_id:
            raise Forbidden("an external commit adds the calling device itself")
        joiners.append(directory.device(staged.commit.path.leaf_node.credential))
    else:
        pending = await tx.mls_groups.server_removals(group.group_id, group.epoch)
        missing = sorted(pending - {int(leaf) for leaf in commit.removed})
        if missing:
            raise Conflict(
                "the commit leaves out Remove proposals of the server: process the log and commit them",
                f"leaves {missing}",
            )
    await _require_admitted(tx, access, joiners)
    if body.group_info is None:
        raise InvalidGroupMessage("Enseal: a commit comes with the new epoch's GroupInfo (group_info)")
    with mls_refusals():
        check_new_group_info(body.group_info, commit)
    if commit.added:
        if body.welcome is None:
            raise InvalidGroupMessage("Enseal: a commit that adds members comes with their Welcome")
        with mls_refusals():
            check_welcome(body.welcome, commit)
    elif body.welcome is not None:
        raise InvalidGroupMessage("Enseal: a Welcome comes only with a commit that adds members")

    now = state.clock()
    from_epoch = group.epoch
    view.merge(commit)
    new_devices = await tx.devices.get_many(device_id_of(node.credential) or "" for _, node in view.tree.members())
    roster = [
        GroupMemberRecord(leaf_index=int(leaf), device_id=device.device_id, user_id=device.user.id)
        for leaf, node in view.tree.members()
        if (device := new_devices.get(device_id_of(node.credential) or "")) is not None
    ]
    item = await tx.mls_groups.append(
        group.group_id,
        kind="commit",
        epoch=from_epoch,
        commit_epoch=from_epoch,
        sender_device_id=principal.device.device_id,
        sender=identity_of(principal.device),
        data=body.message,
        now=now,
    )
    deliveries.add(await tx.mailboxes.enqueue(access.recipients(excluding=principal.device.device_id), item.id))
    recipients: list[str] = []
    if body.welcome is not None:
        recipients = sorted({d.device_id for d in joiners if not staged.external})
        welcome_item = await tx.mls_groups.append(
            group.group_id,
            kind="welcome",
            epoch=view.epoch,
            sender_device_id=principal.device.device_id,
            sender=identity_of(principal.device),
            data=body.welcome,
            now=now,
        )
        deliveries.add(await tx.mailboxes.enqueue(recipients, welcome_item.id))
    await tx.mls_groups.replace_members(group.group_id, roster)
    await tx.mls_groups.save_state(
        group.group_id, epoch=view.epoch, view=view.to_bytes(), group_info=body.group_info, now=now
    )
    new_access = GroupAccess(group=group, users=access.users, members=tuple(roster))
    await _propose_removals(state, tx, new_access, view, deliveries=deliveries)
    await tx.mls_groups.prune(group.group_id, epoch=view.epoch, now=now)
    accepted = _accepted(item, epoch=view.epoch)
    return accepted.model_copy(
        update={
            "added": [int(leaf) for leaf in commit.added] + ([int(staged.committer)] if staged.external else []),
            "removed": [int(leaf) for leaf in commit.removed],
            "welcome_recipients": recipients,
        }
    )


# -- the server as external sender -------------------------------------------------------------------


async def _propose_removals(
    state: ServerState,
    tx: Transaction,
    access: GroupAccess,
    view: PublicGroupView,
    *,
    deliveries: Deliveries,
    leaves: Iterable[int] = (),
) -> list[int]:
    """Propose Remove (RFC 9420 §12.1.8, the server as external sender) for every leaf of a revoked
    device, of a user off the access list, or in ``leaves``, unless already proposed this epoch.
    The view must be the group's current one; it is saved if anything was proposed."""
    group_id = access.group.group_id
    devices = await tx.devices.get_many(m.device_id for m in access.members)
    wanted = set(leaves) | {
        m.leaf_index
        for m in access.members
        if m.user_id not in access.users or (d := devices.get(m.device_id)) is None or not d.active
    }
    pending = await tx.mls_groups.server_removals(group_id, view.epoch)
    todo = sorted(wanted - pending)
    if not todo:
        return []
    now = state.clock()
    active = sorted({m.device_id for m in access.members if (d := devices.get(m.device_id)) is not None and d.active})
    for leaf in todo:
        data = view.propose_remove(LeafIndex(leaf), signer=state.external_sender.signing_key)
        item = await tx.mls_groups.append(
            group_id,
            kind="proposal",
            epoch=view.epoch,
            sender_device_id=None,
            sender=SERVER_SENDER,
            data=data,
            now=now,
            removes_leaf=leaf,
        )
        deliveries.add(await tx.mailboxes.enqueue(active, item.id))
    await tx.mls_groups.save_state(group_id, epoch=view.epoch, view=view.to_bytes(), group_info=None, now=now)
    log.info("proposed removal of leaves %s in group %s epoch %s", todo, group_id[:16], view.epoch)
    return todo


async def reconcile_group(state: ServerState, group_id: str, *, leaves: Iterable[int] = ()) -> list[int]:
    """Propose the removals a group needs now (its own transaction); returns the leaves proposed."""
    deliveries = Deliveries()
    async with state.store.transaction() as tx:
        access = await load_access(tx, group_id, for_update=True)
        view = PublicGroupView.from_bytes(access.group.view)
        proposed = await _propose_removals(state, tx, access, view, deliveries=deliveries, leaves=leaves)
    await deliveries.wake(state)
    return proposed


async def remove_device_everywhere(state: ServerState, device_id: str) -> None:
    """After a device was revoked: propose its removal in every group it is a member of."""
    async with state.store.transaction() as tx:
        groups = await tx.mls_groups.groups_of_device(device_id)
    for group_id in groups:
        try:
            await reconcile_group(state, group_id)
        except NotFound:
            continue


async def reconcile_revoked_members(state: ServerState) -> None:
    """Propose removals for revoked devices still in a roster (after a crash between a revocation
    and its proposals, or an epoch that ended without them)."""
    async with state.store.transaction() as tx:
        groups = await tx.mls_groups.groups_with_revoked_members()
    for group_id in groups:
        try:
            await reconcile_group(state, group_id)
        except NotFound:
            continue


# -- application messages ------------------------------------------------------------------------------


async def post_message(
    state: ServerState, principal: DevicePrincipal, group_id: str, body: PostMessageRequest
) -> MessageAccepted:
    message = application_message(body.message)
    if message.group_id.hex() != group_id:
        raise InvalidGroupMessage("RFC 9420 §6: the message names another group", message.group_id.hex()[:64])
    deliveries = Deliveries()
    device_id = principal.device.device_id
    async with state.store.transaction() as tx:
        access = await load_access(tx, group_id, for_update=True)
        if not access.may_see(principal):
            raise NotFound("no such group", group_id)
        access.require_member(principal)
        group = access.group
        earlier = await tx.mls_groups.message_by_client_id(group_id, device_id, body.client_message_id)
        if earlier is not None:
            if earlier.data != body.message:
                raise Conflict("this client_message_id was used for another message", body.client_message_id)
            return _message_accepted(earlier, recipients=0, duplicate=True)
        if message.epoch > group.epoch:
            raise InvalidGroupMessage(
                "RFC 9420 §6: the message is for a later epoch than the group's", f"{message.epoch} > {group.epoch}"
            )
        if message.epoch < group.epoch - MAX_PAST_EPOCHS:
            raise CommitConflictError(
                f"the message's epoch is more than {MAX_PAST_EPOCHS} epochs old: catch up and send again",
                current_epoch=group.epoch,
                detail=f"message epoch {message.epoch}",
            )
        now = state.clock()
        item = await tx.mls_groups.append(
            group_id,
            kind="application",
            epoch=message.epoch,
            sender_device_id=device_id,
            sender=identity_of(principal.device),
            client_message_id=body.client_message_id,
            data=body.message,
            now=now,
        )
        assigned = await tx.mailboxes.enqueue(access.recipients(excluding=device_id), item.id)
        deliveries.add(assigned)
        await tx.mls_groups.prune(group_id, epoch=group.epoch, now=now)
    await deliveries.wake(state)
    return _message_accepted(item, recipients=len(assigned), duplicate=False)


def _message_accepted(item: GroupItemRecord, *, recipients: int, duplicate: bool) -> MessageAccepted:
    return MessageAccepted(
        group_id=item.group_id,
        group_seq=item.group_seq,
        epoch=item.epoch,
        client_message_id=item.client_message_id or "",
        recipients=recipients,
        duplicate=duplicate,
    )
