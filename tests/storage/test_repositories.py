"""Repositories on SQLite and PostgreSQL: accounts, devices, sessions, key directory, policies
and the audit log, with the rules each repository enforces."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect

from enseal.policy import (
    CallsMode,
    EnhancedEncryptionPolicy,
    GroupTarget,
    MeetingsMode,
    PolicySource,
    TenantTarget,
    UserTarget,
    add_policy,
    assign_policy,
    resolve_effective_policy,
    unassign_policy,
)
from enseal.storage import AlreadyExists, Conflict, KeyPackageRecord, NotFound, Store
from enseal.storage.key_directory import MAX_ONE_TIME_PER_DEVICE_SUITE

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


async def _user(store: Store, name: str = "alice", tenant: str = "acme"):
    async with store.transaction() as tx:
        with contextlib.suppress(AlreadyExists):
            await tx.tenants.create(tenant_id=tenant, kind="commercial", e2ee="allowed", now=NOW)
    async with store.transaction() as tx:
        return await tx.users.create(
            tenant_id=tenant, name=name, tenant_admin=False, compliance_recording=False, now=NOW
        )


async def _device(store: Store, user, device_id: str = "a" * 32, key: bytes = b"k" * 32):
    async with store.transaction() as tx:
        return await tx.devices.create(
            device_id=device_id,
            user=user,
            name="laptop",
            cipher_suite=1,
            signature_key=key,
            supports_e2ee=True,
            now=NOW,
        )


async def test_migrations_create_every_table_and_are_idempotent(store: Store) -> None:
    await store.database.migrate()
    async with store.database.engine.connect() as connection:
        tables = set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
    assert {
        "tenants",
        "users",
        "groups",
        "group_members",
        "devices",
        "enrollment_codes",
        "auth_challenges",
        "device_sessions",
        "admin_keys",
        "bootstrap_tokens",
        "key_packages",
        "policies",
        "policy_assignments",
        "audit_log",
        "data_keys",
        "sealed_records",
        "alembic_version",
    } <= tables


async def test_tenants_users_and_groups(store: Store) -> None:
    alice = await _user(store, "alice")
    bob = await _user(store, "bob")
    async with store.transaction() as tx:
        assert (await tx.tenants.get("acme")).kind == "commercial"
        assert [u.name for u in await tx.users.list("acme")] == ["alice", "bob"]
        group = await tx.groups.create(tenant_id="acme", name="eng", now=NOW)
        group = await tx.groups.add_member(group, alice)
        group = await tx.groups.add_member(group, bob)
        group = await tx.groups.add_member(group, bob)  # idempotent
        assert group.members == ("alice", "bob")
        assert await tx.groups.names_of_user(alice) == {"eng"}
        group = await tx.groups.remove_member(group, alice)
        assert group.members == ("bob",)
        updated = await tx.users.update(bob, compliance_recording=True, e2ee_calls_opted_in=True)
        assert updated.compliance_recording and updated.e2ee_calls_opted_in and not updated.tenant_admin
        assert (await tx.tenants.set_e2ee("acme", "forbidden")).e2ee == "forbidden"
    with pytest.raises(AlreadyExists):
        await _user(store, "alice")
    async with store.transaction() as tx:
        with pytest.raises(NotFound):
            await tx.users.get("acme", "carol")
        with pytest.raises(NotFound):
            await tx.tenants.get("globex")
        with pytest.raises(AlreadyExists):
            await tx.groups.create(tenant_id="acme", name="eng", now=NOW)


async def test_a_failed_transaction_rolls_back(store: Store) -> None:
    with pytest.raises(NotFound):
        async with store.transaction() as tx:
            await tx.tenants.create(tenant_id="acme", kind="commercial", e2ee="allowed", now=NOW)
            await tx.users.get("acme", "nobody")
    async with store.transaction() as tx:
        with pytest.raises(NotFound):
            await tx.tenants.get("acme")


async def test_enrollment_codes_are_one_time_per_user_and_expire(store: Store) -> None:
    alice = await _user(store, "alice")
    bob = await _user(store, "bob")
    async with store.transaction() as tx:
        await tx.enrollments.add(user=alice, digest=b"1" * 32, now=NOW, expires_at=NOW + timedelta(days=1))
        await tx.enrollments.add(user=alice, digest=b"2" * 32, now=NOW, expires_at=NOW + timedelta(days=1))
    async with store.transaction() as tx:
        with pytest.raises(Conflict):  # another user's code
            await tx.enrollments.consume(user=bob, digest=b"1" * 32, device_id="d" * 32, now=NOW)
        with pytest.raises(Conflict):  # expired
            await tx.enrollments.consume(user=alice, digest=b"2" * 32, device_id="d" * 32, now=NOW + timedelta(days=2))
        await tx.enrollments.consume(user=alice, digest=b"1" * 32, device_id="d" * 32, now=NOW)
    async with store.transaction() as tx:
        with pytest.raises(Conflict):  # used
            await tx.enrollments.consume(user=alice, digest=b"1" * 32, device_id="e" * 32, now=NOW)


async def test_devices_sessions_and_revocation(store: Store) -> None:
    alice = await _user(store)
    device = await _device(store, alice)
    with pytest.raises(AlreadyExists):  # one signature key, one device
        await _device(store, alice, device_id="b" * 32)
    async with store.transaction() as tx:
        await tx.sessions.create(
            token_digest=b"t" * 32, device_id=device.device_id, now=NOW, expires_at=NOW + timedelta(minutes=15)
        )
        found = await tx.sessions.device_of(b"t" * 32, now=NOW + timedelta(minutes=14))
        assert found is not None and found[0].device_id == device.device_id
        assert found[1] == NOW + timedelta(minutes=15)
        assert await tx.sessions.device_of(b"t" * 32, now=NOW + timedelta(minutes=15)) is None
        assert await tx.sessions.device_of(b"x" * 32, now=NOW) is None
        assert await tx.devices.count_active(alice) == 1
    async with store.transaction() as tx:
        revoked = await tx.devices.revoke(device, now=NOW)
        assert revoked.revoked_at == NOW and not revoked.active
        assert await tx.sessions.device_of(b"t" * 32, now=NOW) is None
        assert await tx.devices.count_active(alice) == 0
        assert [d.device_id for d in await tx.devices.list_for_user(alice)] == [device.device_id]
        assert await tx.devices.list_for_user(alice, include_revoked=False) == []


async def test_challenges_are_answered_once_and_expire(store: Store) -> None:
    device = await _device(store, await _user(store))
    async with store.transaction() as tx:
        await tx.challenges.create(
            challenge_id="1" * 32,
            device_id=device.device_id,
            nonce=b"n" * 32,
            expires_at=NOW + timedelta(seconds=60),
            now=NOW,
        )
        await tx.challenges.create(
            challenge_id="2" * 32,
            device_id=device.device_id,
            nonce=b"m" * 32,
            expires_at=NOW + timedelta(seconds=60),
            now=NOW,
        )
    async with store.transaction() as tx:
        assert await tx.challenges.take("1" * 32, device_id="f" * 32, now=NOW) is None  # another device
        taken = await tx.challenges.take("1" * 32, device_id=device.device_id, now=NOW)
        assert taken is not None and taken.nonce == b"n" * 32
        assert await tx.challenges.take("1" * 32, device_id=device.device_id, now=NOW) is None
        assert await tx.challenges.take("2" * 32, device_id=device.device_id, now=NOW + timedelta(seconds=61)) is None


def _package(
    ref: bytes, *, last_resort: bool = False, not_after: datetime = NOW + timedelta(weeks=4), suite: int = 1
) -> KeyPackageRecord:
    return KeyPackageRecord(
        device_id="a" * 32, cipher_suite=suite, ref=ref, data=b"kp" + ref, not_after=not_after, last_resort=last_resort
    )


async def test_key_packages_one_time_then_last_resort(store: Store) -> None:
    await _device(store, await _user(store))
    async with store.transaction() as tx:
        await tx.key_packages.add(_package(b"r1"), now=NOW)
        await tx.key_packages.add(_package(b"r2"), now=NOW)
        await tx.key_packages.add(_package(b"old", not_after=NOW - timedelta(seconds=1)), now=NOW)
        await tx.key_packages.add(_package(b"lr1", last_resort=True), now=NOW)
        await tx.key_packages.add(_package(b"lr2", last_resort=True), now=NOW)  # replaces lr1
        await tx.key_packages.add(_package(b"s3", suite=3), now=NOW)
        with pytest.raises(AlreadyExists):
            await tx.key_packages.add(_package(b"r1"), now=NOW)
        stock = await tx.key_packages.stock("a" * 32, now=NOW)
        assert [(s.cipher_suite, s.one_time, s.last_resort) for s in stock] == [(1, 2, True), (3, 1, False)]
    async with store.transaction() as tx:
        claimed = [await tx.key_packages.claim("a" * 32, 1, now=NOW) for _ in range(4)]
    assert [c.ref if c else None for c in claimed] == [b"r1", b"r2", b"lr2", b"lr2"]
    assert [c.last_resort for c in claimed if c] == [False, False, True, True]
    async with store.transaction() as tx:
        assert await tx.key_packages.claim("a" * 32, 2, now=NOW) is None
        assert await tx.key_packages.claim("a" * 32, 1, now=NOW + timedelta(weeks=5)) is None  # all expired


async def test_key_packages_per_device_bound(store: Store) -> None:
    await _device(store, await _user(store))
    async with store.transaction() as tx:
        for i in range(MAX_ONE_TIME_PER_DEVICE_SUITE):
            await tx.key_packages.add(_package(i.to_bytes(4, "big")), now=NOW)
        with pytest.raises(Conflict):
            await tx.key_packages.add(_package(b"one more"), now=NOW)
        await tx.key_packages.add(_package(b"last resort is separate", last_resort=True), now=NOW)


async def test_policies_round_trip_through_the_policy_model(store: Store) -> None:
    alice = await _user(store)
    strict = EnhancedEncryptionPolicy(name="Strict", calls=CallsMode.USER_OVERRIDE, meetings=MeetingsMode.REQUIRED)
    loose = EnhancedEncryptionPolicy(name="Loose", calls=CallsMode.USER_OVERRIDE, meetings=MeetingsMode.USER_OVERRIDE)
    async with store.transaction() as tx:
        old = await tx.policies.load("acme")
        new = add_policy(add_policy(old, strict), loose)
        new = assign_policy(new, GroupTarget(group_id="eng"), "Strict")
        new = assign_policy(new, GroupTarget(group_id="ops"), "Loose", rank=1)
        new = assign_policy(new, TenantTarget(), "Loose")
        new = assign_policy(new, UserTarget(user_id="alice"), "Global")
        await tx.policies.save(old, new)
    async with store.transaction() as tx:
        loaded = await tx.policies.load("acme")
    assert set(loaded.policies) == {strict, loose}
    assert set(loaded.assignments) == set(new.assignments)
    assert {a.target: a.rank for a in loaded.assignments}[GroupTarget(group_id="eng")] == 2
    effective = resolve_effective_policy(loaded, user_id=alice.name, group_ids={"eng"})
    assert effective.source is PolicySource.USER and effective.policy.name == "Global"
    async with store.transaction() as tx:
        old = await tx.policies.load("acme")
        await tx.policies.save(
            old, unassign_policy(unassign_policy(old, UserTarget(user_id="alice")), GroupTarget(group_id="ops"))
        )
    async with store.transaction() as tx:
        loaded = await tx.policies.load("acme")
    effective = resolve_effective_policy(loaded, user_id="alice", group_ids={"eng", "ops"})
    assert effective.source is PolicySource.GROUP and effective.policy == strict
    assert {a.target: a.rank for a in loaded.assignments}[GroupTarget(group_id="eng")] == 1


async def test_audit_log_pages_newest_first_and_filters_by_tenant(store: Store) -> None:
    async with store.transaction() as tx:
        for i in range(5):
            await tx.audit.record(
                at=NOW, actor="op", action=f"a{i}", tenant_id="acme" if i % 2 else "gov", target=None, result="ok"
            )
    async with store.transaction() as tx:
        everything = await tx.audit.page(tenant_id=None, before=None, limit=3)
        assert [e.action for e in everything] == ["a4", "a3", "a2"]
        older = await tx.audit.page(tenant_id=None, before=everything[-1].id, limit=3)
        assert [e.action for e in older] == ["a1", "a0"]
        assert [e.action for e in await tx.audit.page(tenant_id="acme", before=None, limit=10)] == ["a3", "a1"]
