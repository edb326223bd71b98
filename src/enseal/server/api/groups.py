"""The MLS delivery service's API (docs/protocol.md, "Groups and delivery"): groups, handshakes,
GroupInfo for external joins, the handshake log, application messages and their history. The
rules are :mod:`enseal.server.delivery`'s."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from enseal.server import delivery
from enseal.server.delivery import load_access, visible_access
from enseal.server.errors import Forbidden, InvalidGroupMessage
from enseal.server.fanout import Notice
from enseal.server.principals import Device, State
from enseal.storage import NotFound
from enseal.storage.delivery import MAX_LOG_EPOCHS
from enseal.wire import EventType
from enseal.wire.groups import (
    GROUP_ID_PATTERN,
    MAX_GROUP_USERS,
    MAX_PAGE_ITEMS,
    CreateGroupRequest,
    GroupBody,
    GroupHistory,
    GroupInfoBody,
    GroupList,
    GroupLog,
    GroupSummary,
    HandshakeAccepted,
    HandshakeRequest,
    HistoryEntry,
    LeaveAccepted,
    LogEntryBody,
    MessageAccepted,
    PostMessageRequest,
    UpdateGroupUsersRequest,
)

router = APIRouter(prefix="/v1", tags=["groups"])

GroupIdPath = Annotated[str, Path(pattern=GROUP_ID_PATTERN, max_length=64, description="hex of the MLS group_id")]
SeqQuery = Annotated[int, Query(ge=0, le=2**62)]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_ITEMS)]


@router.post("/groups", status_code=status.HTTP_201_CREATED, response_model=GroupBody)
async def create_group(body: CreateGroupRequest, principal: Device, state: State) -> GroupBody:
    """Register an MLS group; the server follows it from the given GroupInfo on."""
    return await delivery.create_group(state, principal, body)


@router.get("/groups", response_model=GroupList)
async def list_groups(principal: Device, state: State) -> GroupList:
    """Groups this device is a member of, and groups whose access list holds its user."""
    async with state.store.transaction() as tx:
        member_of = set(await tx.mls_groups.groups_of_device(principal.device.device_id))
        listed = set(await tx.mls_groups.groups_of_user(principal.user.id))
        groups = await tx.mls_groups.get_many(member_of | listed)
    return GroupList(
        groups=[
            GroupSummary.model_validate(
                {"group_id": g.group_id, "kind": g.kind, "epoch": g.epoch, "member": g.group_id in member_of}
            )
            for g in groups
        ]
    )


@router.get("/groups/{group_id}", response_model=GroupBody)
async def get_group(group_id: GroupIdPath, principal: Device, state: State) -> GroupBody:
    async with state.store.transaction() as tx:
        return await delivery.group_body(tx, await visible_access(tx, group_id, principal))


@router.patch("/groups/{group_id}/users", response_model=GroupBody)
async def update_group_users(
    group_id: GroupIdPath, body: UpdateGroupUsersRequest, principal: Device, state: State
) -> GroupBody:
    """Add users to or remove them from the access list (a member device). The server proposes
    Remove for every device of a removed user."""
    async with state.store.transaction() as tx:
        access = await load_access(tx, group_id, for_update=True)
        if not access.may_see(principal):
            raise NotFound("no such group", group_id)
        access.require_member(principal)
        added = await delivery.resolve_users(tx, body.add)
        removed = await delivery.resolve_users(tx, body.remove)
        await tx.mls_groups.add_users(group_id, (u.id for u in added))
        await tx.mls_groups.remove_users(group_id, (u.id for u in removed))
        if added or removed:
            await tx.mls_groups.forget_conversation_key(group_id)
        if len(await tx.mls_groups.user_ids(group_id)) > MAX_GROUP_USERS:
            raise InvalidGroupMessage(f"a group's access list holds at most {MAX_GROUP_USERS} users")
        recipients = access.recipients(excluding=None)
    await delivery.reconcile_group(state, group_id)
    await state.fanout.publish(
        recipients,
        Notice(
            type=EventType.GROUP_USERS_CHANGED.value,
            data={"group_id": group_id, "added": [u.address for u in added], "removed": [u.address for u in removed]},
        ),
    )
    async with state.store.transaction() as tx:
        return await delivery.group_body(tx, await load_access(tx, group_id))


@router.post(
    "/groups/{group_id}/handshake",
    status_code=status.HTTP_201_CREATED,
    response_model=HandshakeAccepted,
    responses={200: {"model": HandshakeAccepted, "description": "the same commit was accepted before"}},
)
async def post_handshake(
    group_id: GroupIdPath, body: HandshakeRequest, principal: Device, state: State, response: Response
) -> HandshakeAccepted:
    """A proposal or commit for the current epoch; the first valid commit of an epoch wins."""
    accepted = await delivery.post_handshake(state, principal, group_id, body)
    if accepted.duplicate:
        response.status_code = status.HTTP_200_OK
    return accepted


@router.get("/groups/{group_id}/group-info", response_model=GroupInfoBody)
async def get_group_info(group_id: GroupIdPath, principal: Device, state: State) -> GroupInfoBody:
    """The latest GroupInfo, for an external join by a device of a user on the access list."""
    async with state.store.transaction() as tx:
        access = await visible_access(tx, group_id, principal)
        if principal.user.id not in access.users:
            raise Forbidden("only devices of users on the group's access list may join it")
        await delivery.require_meeting_join(tx, access.group.kind, [principal.device])
    group = access.group
    return GroupInfoBody.model_validate(
        {"group_id": group.group_id, "kind": group.kind, "epoch": group.epoch, "group_info": group.group_info}
    )


@router.get("/groups/{group_id}/log", response_model=GroupLog)
async def get_log(
    group_id: GroupIdPath,
    principal: Device,
    state: State,
    since_epoch: SeqQuery = 0,
    after: SeqQuery = 0,
    limit: Limit = 100,
) -> GroupLog:
    """Handshakes sent in ``since_epoch`` or later (after ``group_seq`` ``after``), in log order."""
    async with state.store.transaction() as tx:
        access = await visible_access(tx, group_id, principal)
        entries = await tx.mls_groups.log(group_id, since_epoch=since_epoch, after=after, limit=limit + 1)
        oldest = await tx.mls_groups.oldest_log_epoch(group_id)
    group = access.group
    return GroupLog(
        group_id=group_id,
        epoch=group.epoch,
        oldest_epoch=oldest if oldest is not None else max(0, group.epoch - MAX_LOG_EPOCHS),
        entries=[
            LogEntryBody.model_validate(
                {
                    "group_seq": e.group_seq,
                    "epoch": e.epoch,
                    "type": e.kind,
                    "sender": e.sender,
                    "message": e.data,
                    "at": e.created_at,
                }
            )
            for e in entries[:limit]
        ],
        more=len(entries) > limit,
    )


@router.post(
    "/groups/{group_id}/messages",
    status_code=status.HTTP_201_CREATED,
    response_model=MessageAccepted,
    responses={200: {"model": MessageAccepted, "description": "a duplicate of an earlier post"}},
)
async def post_message(
    group_id: GroupIdPath, body: PostMessageRequest, principal: Device, state: State, response: Response
) -> MessageAccepted:
    """An application message (PrivateMessage) for every other member device; idempotent."""
    accepted = await delivery.post_message(state, principal, group_id, body)
    if accepted.duplicate:
        response.status_code = status.HTTP_200_OK
    return accepted


@router.get("/groups/{group_id}/messages", response_model=GroupHistory)
async def get_history(
    group_id: GroupIdPath, principal: Device, state: State, after: SeqQuery = 0, limit: Limit = 100
) -> GroupHistory:
    """The group's ciphertext history, oldest first (member devices)."""
    async with state.store.transaction() as tx:
        access = await visible_access(tx, group_id, principal)
        access.require_member(principal)
        items = await tx.mls_groups.history(group_id, after=after, limit=limit + 1)
    return GroupHistory(
        group_id=group_id,
        entries=[
            HistoryEntry(
                group_seq=i.group_seq,
                epoch=i.epoch,
                sender=i.sender,
                client_message_id=i.client_message_id or "",
                message=i.data,
                at=i.created_at,
            )
            for i in items[:limit]
        ],
        more=len(items) > limit,
    )


@router.post("/groups/{group_id}/leave", response_model=LeaveAccepted)
async def leave(group_id: GroupIdPath, principal: Device, state: State) -> LeaveAccepted:
    """The server proposes Remove for this device's leaf; a member commits it."""
    async with state.store.transaction() as tx:
        access = await visible_access(tx, group_id, principal)
        leaves = access.device_leaves(principal.device.device_id)
        if not leaves:
            raise Forbidden("this device is not a member of the group")
    await delivery.reconcile_group(state, group_id, leaves=leaves)
    async with state.store.transaction() as tx:
        group = await tx.mls_groups.get(group_id)
        pending = await tx.mls_groups.server_removals(group_id, group.epoch)
    return LeaveAccepted(group_id=group_id, epoch=group.epoch, pending_removals=sorted(pending))
