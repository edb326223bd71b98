"""The delivery service's repositories on SQLite and PostgreSQL: group items in order, one commit
per epoch, idempotent client message ids, retention, mailboxes (order, acknowledgement, the
overflow bound) and call rows."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

import pytest

from enseal.storage import AlreadyExists, Conflict, GroupMemberRecord, NotFound, Store
from enseal.storage import delivery as delivery_module
from enseal.storage import mailboxes as mailbox_module

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
GROUP = "ab" * 16


async def _setup(store: Store) -> tuple[int, list[str]]:
    """A tenant, a user with three devices and a group with two of them; (user id, device ids)."""
    async with store.transaction() as tx:
        with contextlib.suppress(AlreadyExists):
            await tx.tenants.create(tenant_id="acme", kind="commercial", e2ee="allowed", now=NOW)
        user = await tx.users.create(
            tenant_id="acme", name="alice", tenant_admin=False, compliance_recording=False, now=NOW
        )
        devices = []
        for n in range(3):
            device = await tx.devices.create(
                device_id=f"{n:032x}",
                user=user,
                name="d",
                cipher_suite=1,
                signature_key=bytes([n]) * 32,
                supports_e2ee=True,
                now=NOW,
            )
            devices.append(device.device_id)
        await tx.mls_groups.create(
            group_id=GROUP,
            kind="chat",
            tenant_id="acme",
            created_by="alice@acme/0",
            epoch=0,
            view=b"v",
            group_info=b"gi",
            user_ids=[user.id],
            members=[GroupMemberRecord(leaf_index=i, device_id=devices[i], user_id=user.id) for i in range(2)],
            now=NOW,
        )
    return user.id, devices


async def test_items_are_numbered_in_order_and_one_commit_wins_an_epoch(store: Store) -> None:
    _, devices = await _setup(store)
    async with store.transaction() as tx:
        await tx.mls_groups.get(GROUP, for_update=True)
        first = await tx.mls_groups.append(
            GROUP, kind="proposal", epoch=0, sender_device_id=devices[0], sender="a", data=b"p", now=NOW
        )
        commit = await tx.mls_groups.append(
            GROUP, kind="commit", epoch=0, commit_epoch=0, sender_device_id=devices[0], sender="a", data=b"c", now=NOW
        )
    assert (first.group_seq, commit.group_seq) == (1, 2)
    with pytest.raises(Conflict):
        async with store.transaction() as tx:
            await tx.mls_groups.append(
                GROUP,
                kind="commit",
                epoch=0,
                commit_epoch=0,
                sender_device_id=devices[1],
                sender="b",
                data=b"x",
                now=NOW,
            )
    async with store.transaction() as tx:
        assert (await tx.mls_groups.commit_of_epoch(GROUP, 0)) == commit
        assert [i.data for i in await tx.mls_groups.log(GROUP, since_epoch=0, after=0, limit=10)] == [b"p", b"c"]
        assert await tx.mls_groups.groups_of_device(devices[1]) == [GROUP]
        assert await tx.mls_groups.groups_of_device(devices[2]) == []


async def test_client_message_ids_are_unique_per_sending_device(store: Store) -> None:
    _, devices = await _setup(store)
    async with store.transaction() as tx:
        item = await tx.mls_groups.append(
            GROUP,
            kind="application",
            epoch=0,
            sender_device_id=devices[0],
            sender="a",
            client_message_id="m1",
            data=b"x",
            now=NOW,
        )
        await tx.mls_groups.append(
            GROUP,
            kind="application",
            epoch=0,
            sender_device_id=devices[1],
            sender="b",
            client_message_id="m1",
            data=b"y",
            now=NOW,
        )
        assert await tx.mls_groups.message_by_client_id(GROUP, devices[0], "m1") == item
    with pytest.raises(Conflict):
        async with store.transaction() as tx:
            await tx.mls_groups.append(
                GROUP,
                kind="application",
                epoch=0,
                sender_device_id=devices[0],
                sender="a",
                client_message_id="m1",
                data=b"z",
                now=NOW,
            )


async def test_retention_keeps_the_newest_history_and_recent_epochs(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, devices = await _setup(store)
    monkeypatch.setattr(delivery_module, "MAX_HISTORY_MESSAGES", 3)
    monkeypatch.setattr(delivery_module, "MAX_LOG_EPOCHS", 2)
    async with store.transaction() as tx:
        old = await tx.mls_groups.append(
            GROUP,
            kind="application",
            epoch=0,
            sender_device_id=devices[0],
            sender="a",
            data=b"old",
            now=NOW - delivery_module.HISTORY_RETENTION - timedelta(days=1),
        )
        queued = await tx.mailboxes.enqueue([devices[1]], old.id)
        for n in range(5):
            await tx.mls_groups.append(
                GROUP, kind="application", epoch=0, sender_device_id=devices[0], sender="a", data=bytes([n]), now=NOW
            )
        for epoch in range(5):
            await tx.mls_groups.append(
                GROUP,
                kind="commit",
                epoch=epoch,
                commit_epoch=epoch,
                sender_device_id=devices[0],
                sender="a",
                data=b"c",
                now=NOW,
            )
        await tx.mls_groups.prune(GROUP, epoch=5, now=NOW)
        history = await tx.mls_groups.history(GROUP, after=0, limit=100)
        assert [i.data for i in history] == [bytes([2]), bytes([3]), bytes([4])]
        assert [i.epoch for i in await tx.mls_groups.log(GROUP, since_epoch=0, after=0, limit=100)] == [3, 4]
        assert await tx.mls_groups.oldest_log_epoch(GROUP) == 3
        # The pruned message's mailbox entry went with it.
        assert await tx.mailboxes.entries(devices[1], after=0, limit=10) == []
        assert queued == {devices[1]: 1}


async def test_mailboxes_number_acknowledge_and_bound_entries(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    _, devices = await _setup(store)
    async with store.transaction() as tx:
        items = [
            await tx.mls_groups.append(
                GROUP, kind="application", epoch=0, sender_device_id=devices[0], sender="a", data=bytes([n]), now=NOW
            )
            for n in range(6)
        ]
        for seq, item in enumerate(items[:3], start=1):
            queued = await tx.mailboxes.enqueue([devices[2], devices[1], "f" * 32], item.id)
            assert queued == {devices[1]: seq, devices[2]: seq}  # a device without a mailbox is skipped
    async with store.transaction() as tx:
        entries = await tx.mailboxes.entries(devices[1], after=0, limit=10)
        assert [(e.seq, e.item.data, e.group_kind) for e in entries] == [
            (1, b"\x00", "chat"),
            (2, b"\x01", "chat"),
            (3, b"\x02", "chat"),
        ]
        state = await tx.mailboxes.acknowledge(devices[1], 2)
        assert (state.acked_seq, state.last_seq) == (2, 3)
        assert (await tx.mailboxes.acknowledge(devices[1], 99)).acked_seq == 3  # capped at the last entry
        assert (await tx.mailboxes.acknowledge(devices[1], 1)).acked_seq == 3  # never goes back
        assert await tx.mailboxes.entries(devices[1], after=0, limit=10) == []
    monkeypatch.setattr(mailbox_module, "MAX_MAILBOX_ENTRIES", 2)
    async with store.transaction() as tx:
        for item in items[3:]:
            await tx.mailboxes.enqueue([devices[2]], item.id)
        state = await tx.mailboxes.state(devices[2])
        assert (state.last_seq, state.acked_seq, state.dropped_upto) == (6, 0, 4)
        assert [e.seq for e in await tx.mailboxes.entries(devices[2], after=0, limit=10)] == [5, 6]
    async with store.transaction() as tx:
        await tx.devices.revoke(await tx.devices.get(devices[2]), now=NOW)
        assert await tx.mailboxes.entries(devices[2], after=0, limit=10) == []
        assert await tx.mailboxes.enqueue([devices[1], devices[2]], items[0].id) == {devices[1]: 4}
    with pytest.raises(NotFound):
        async with store.transaction() as tx:
            await tx.mailboxes.state("e" * 32)


async def test_calls_rows_track_state_and_busy_lines(store: Store) -> None:
    user_id, devices = await _setup(store)
    async with store.transaction() as tx:
        alice = await tx.users.get_by_id(user_id)
        bob = await tx.users.create(
            tenant_id="acme", name="bob", tenant_admin=False, compliance_recording=False, now=NOW
        )
        await tx.calls.lock_users([alice.id, bob.id])
        call = await tx.calls.create(
            call_id="c" * 22,
            caller=alice,
            caller_device_id=devices[0],
            callee=bob,
            state="outgoing ringing",
            encryption="standard",
            reasons="[]",
            rung_devices=[devices[2]],
            deadline=NOW + timedelta(seconds=45),
            end_reason=None,
            now=NOW,
        )
        assert call.side_of(devices[0]) == "caller" and call.side_of(devices[2]) is None
        assert await tx.calls.occupying([bob.id], now=NOW) == [call.call_id]
        assert await tx.calls.occupying([bob.id], now=NOW + timedelta(minutes=1)) == []
        assert await tx.calls.due(NOW) == [] and await tx.calls.due(NOW + timedelta(minutes=1)) == [call.call_id]
        assert await tx.calls.of_device(devices[2]) == [call.call_id]
        ended = await tx.calls.update(call.call_id, now=NOW, state="ended", end_reason="timed_out")
        assert ended.deadline is None and ended.ended_at == NOW and await tx.calls.occupying([bob.id], now=NOW) == []
        assert await tx.calls.prune_ended(NOW + timedelta(days=8)) == 1
        with pytest.raises(NotFound):
            await tx.calls.get(call.call_id)
