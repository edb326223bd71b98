"""Key directory (docs/protocol.md, "Key directory"; RFC 9420 section 10, RFC 9750 section
5.3.4): devices publish KeyPackages; anyone signed in claims one per active device of a user.
One-time packages are handed out once; the last-resort package when none is left."""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, status

from enseal.server.fanout import Notice
from enseal.server.key_packages import accept_key_package
from enseal.server.principals import Device, State
from enseal.server.rate_limit import Limit
from enseal.wire import EventType, UserAddress, device_identity
from enseal.wire.key_packages import (
    ClaimedKeyPackage,
    ClaimedKeyPackages,
    ClaimKeyPackagesRequest,
    KeyPackageCount,
    KeyPackageCounts,
    PublishedKeyPackages,
    PublishKeyPackagesRequest,
)

router = APIRouter(prefix="/v1", tags=["key directory"])

REFILL_MARK: Final = 10
"""A device is told (key_packages.low) when its one-time packages for a suite fall below this."""


@router.post("/key-packages", status_code=status.HTTP_201_CREATED, response_model=PublishedKeyPackages)
async def publish(body: PublishKeyPackagesRequest, principal: Device, state: State) -> PublishedKeyPackages:
    """Publish KeyPackages of this device; all are validated before any is stored."""
    device = principal.device
    state.rate_limiter.check(Limit.KEY_PACKAGE_PUBLISH, device.device_id)
    now = state.clock()
    accepted = [accept_key_package(message, device=device, now=now) for message in body.key_packages]
    async with state.store.transaction() as tx:
        for package in accepted:
            await tx.key_packages.add(package.record(device_id=device.device_id, last_resort=body.last_resort), now=now)
    return PublishedKeyPackages(accepted=len(accepted), refs=[package.ref.hex() for package in accepted])


@router.get("/key-packages", response_model=KeyPackageCounts)
async def count(principal: Device, state: State) -> KeyPackageCounts:
    """How many unexpired packages this device has, per cipher suite."""
    async with state.store.transaction() as tx:
        stock = await tx.key_packages.stock(principal.device.device_id, now=state.clock())
    return KeyPackageCounts(
        counts=[
            KeyPackageCount(cipher_suite=s.cipher_suite, one_time=s.one_time, last_resort=s.last_resort) for s in stock
        ]
    )


@router.post("/key-packages/claim", response_model=ClaimedKeyPackages)
async def claim(body: ClaimKeyPackagesRequest, principal: Device, state: State) -> ClaimedKeyPackages:
    """Take one KeyPackage of the given suite for every active device of ``user``."""
    state.rate_limiter.check(Limit.KEY_PACKAGE_CLAIM, principal.device.device_id)
    address = UserAddress.parse(body.user)
    now = state.clock()
    claimed: list[ClaimedKeyPackage] = []
    missing: list[str] = []
    running_low: list[tuple[str, int]] = []
    async with state.store.transaction() as tx:
        user = await tx.users.get(address.tenant, address.name)
        for device in await tx.devices.list_for_user(user, include_revoked=False):
            package = await tx.key_packages.claim(device.device_id, body.cipher_suite, now=now)
            if package is None:
                missing.append(device.device_id)
                continue
            claimed.append(
                ClaimedKeyPackage(
                    device_id=device.device_id,
                    credential_identity=device_identity(address, device.device_id).decode(),
                    key_package=package.data,
                    last_resort=package.last_resort,
                    not_after=package.not_after,
                )
            )
            stock = {s.cipher_suite: s.one_time for s in await tx.key_packages.stock(device.device_id, now=now)}
            if stock.get(body.cipher_suite, 0) < REFILL_MARK:
                running_low.append((device.device_id, stock.get(body.cipher_suite, 0)))
    for device_id, left in running_low:
        await state.fanout.publish(
            [device_id],
            Notice(type=EventType.KEY_PACKAGES_LOW.value, data={"cipher_suite": body.cipher_suite, "one_time": left}),
        )
    return ClaimedKeyPackages(user=str(address), key_packages=claimed, devices_without_package=missing)
