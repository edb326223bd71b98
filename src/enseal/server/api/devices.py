"""Device enrollment, sign-in and management (docs/protocol.md, "Devices and sign-in";
decision record 0504). The server is the Authentication Service: registration binds
``(user, device_id, signature key)``, and only that key can sign the device in."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from fastapi import APIRouter, status

from enseal.crypto import cipher_suite
from enseal.crypto.tokens import new_bearer_token, normalise_enrollment_code, token_digest
from enseal.errors import CryptoError
from enseal.server.api.admin import ENROLLMENT_CODE_KIND
from enseal.server.api.bodies import device_body
from enseal.server.api.paths import DevicePath, UserAddressPath
from enseal.server.audit_trail import audited
from enseal.server.errors import ChallengeRefused, EnrollmentRefused
from enseal.server.fanout import Notice
from enseal.server.principals import ACCESS_TOKEN_KIND, ACCESS_TOKEN_PREFIX, Device, State
from enseal.server.rate_limit import Limit
from enseal.server.revocation import after_revocation
from enseal.storage import Conflict, NotFound
from enseal.storage.devices import MAX_DEVICES_PER_USER
from enseal.wire import (
    AUTHENTICATION_LABEL,
    REGISTRATION_LABEL,
    EventType,
    UserAddress,
    authentication_content,
    registration_content,
)
from enseal.wire.admin import WhoAmI
from enseal.wire.devices import (
    ChallengeIssued,
    ChallengeRequest,
    DeviceBody,
    DeviceList,
    RegisterDeviceRequest,
    TokenIssued,
    TokenRequest,
)

router = APIRouter(prefix="/v1", tags=["devices"])

CHALLENGE_LIFETIME: Final = timedelta(seconds=60)
"""How long a device has to answer a sign-in challenge."""
NONCE_SIZE: Final = 32


@router.post("/devices", status_code=status.HTTP_201_CREATED, response_model=DeviceBody)
async def register_device(body: RegisterDeviceRequest, state: State) -> DeviceBody:
    """Enroll a device with the user's one-time enrollment code and its identity key."""
    address = UserAddress.parse(body.user)
    state.rate_limiter.check(Limit.ENROLLMENT, str(address))
    suite = cipher_suite(body.cipher_suite)
    try:
        suite.signature.check_public_key(body.signature_key)
        suite.verify_with_label(
            body.signature_key,
            REGISTRATION_LABEL,
            registration_content(user=str(address), cipher_suite=suite.id, signature_key=body.signature_key),
            body.proof,
        )
    except CryptoError as exc:
        raise CryptoError("the proof of possession does not verify with the signature key") from exc
    device_id = state.new_id()
    async with audited(
        state, actor="enrollment code", action="device.register", tenant=address.tenant, target=f"{address}/{device_id}"
    ) as tx:
        try:
            user = await tx.users.get(address.tenant, address.name)
            if await tx.devices.count_active(user) >= MAX_DEVICES_PER_USER:
                raise EnrollmentRefused(f"a user has at most {MAX_DEVICES_PER_USER} active devices")
            await tx.enrollments.consume(
                user=user,
                digest=token_digest(ENROLLMENT_CODE_KIND, normalise_enrollment_code(body.enrollment_code)),
                device_id=device_id,
                now=state.clock(),
            )
        except (NotFound, Conflict) as exc:
            raise EnrollmentRefused("the enrollment code is unknown, used, expired or for another user") from exc
        others = [d.device_id for d in await tx.devices.list_for_user(user, include_revoked=False)]
        device = await tx.devices.create(
            device_id=device_id,
            user=user,
            name=body.name,
            cipher_suite=suite.id,
            signature_key=body.signature_key,
            supports_e2ee=body.supports_e2ee,
            now=state.clock(),
        )
    await state.fanout.publish(others, Notice(type=EventType.DEVICE_ADDED.value, data={"device_id": device_id}))
    return device_body(device)


@router.post("/auth/challenge", response_model=ChallengeIssued)
async def create_challenge(body: ChallengeRequest, state: State) -> ChallengeIssued:
    """A fresh nonce for the device to sign (step 1 of sign-in)."""
    state.rate_limiter.check(Limit.SIGN_IN, body.device_id)
    now = state.clock()
    challenge_id = state.new_id()
    nonce = state.random_bytes(NONCE_SIZE)
    async with state.store.transaction() as tx:
        try:
            device = await tx.devices.get(body.device_id)
        except NotFound as exc:
            raise ChallengeRefused("unknown or revoked device") from exc
        if not device.active:
            raise ChallengeRefused("unknown or revoked device")
        await tx.challenges.create(
            challenge_id=challenge_id,
            device_id=device.device_id,
            nonce=nonce,
            expires_at=now + CHALLENGE_LIFETIME,
            now=now,
        )
    return ChallengeIssued(challenge_id=challenge_id, nonce=nonce, expires_at=now + CHALLENGE_LIFETIME)


@router.post("/auth/token", response_model=TokenIssued)
async def create_token(body: TokenRequest, state: State) -> TokenIssued:
    """Exchange a signed challenge for a short-lived access token (step 2 of sign-in)."""
    state.rate_limiter.check(Limit.SIGN_IN, body.device_id)
    now = state.clock()
    # The challenge is used up in a transaction of its own, so that a wrong answer burns it too.
    async with state.store.transaction() as tx:
        challenge = await tx.challenges.take(body.challenge_id, device_id=body.device_id, now=now)
        device = None if challenge is None else await tx.devices.get(body.device_id)
    if challenge is None or device is None or not device.active:
        raise ChallengeRefused("the challenge is unknown, expired or already answered, or the device is revoked")
    content = authentication_content(
        server_id=state.server_id,
        device_id=device.device_id,
        challenge_id=challenge.challenge_id,
        nonce=challenge.nonce,
    )
    try:
        cipher_suite(device.cipher_suite).verify_with_label(
            device.signature_key, AUTHENTICATION_LABEL, content, body.signature
        )
    except CryptoError as exc:
        raise ChallengeRefused("the signature does not verify with the device's identity key") from exc
    token = new_bearer_token(ACCESS_TOKEN_PREFIX, state.random_bytes)
    expires_at = now + state.access_token_lifetime
    async with state.store.transaction() as tx:
        await tx.sessions.create(
            token_digest=token_digest(ACCESS_TOKEN_KIND, token.text()),
            device_id=device.device_id,
            now=now,
            expires_at=expires_at,
        )
    return TokenIssued(access_token=token.text(), expires_at=expires_at, device_id=device.device_id)


@router.get("/me", response_model=WhoAmI)
async def me(principal: Device) -> WhoAmI:
    return WhoAmI(
        kind="device",
        tenant=principal.user.tenant_id,
        user=principal.user.address,
        device_id=principal.device.device_id,
    )


@router.get("/devices", response_model=DeviceList)
async def list_my_devices(principal: Device, state: State) -> DeviceList:
    """The devices of the signed-in user, revoked ones included."""
    async with state.store.transaction() as tx:
        return DeviceList(devices=[device_body(d) for d in await tx.devices.list_for_user(principal.user)])


@router.get("/users/{address}/devices", response_model=DeviceList)
async def list_user_devices(address: UserAddressPath, principal: Device, state: State) -> DeviceList:
    """Another user's devices and their identity keys (revoked ones too), for the client's own
    Authentication Service checks and safety numbers; any signed-in device may ask."""
    del principal
    parsed = UserAddress.parse(address)
    async with state.store.transaction() as tx:
        user = await tx.users.get(parsed.tenant, parsed.name)
        return DeviceList(devices=[device_body(d) for d in await tx.devices.list_for_user(user)])


@router.delete("/devices/{device_id}", response_model=DeviceBody)
async def revoke_my_device(device_id: DevicePath, principal: Device, state: State) -> DeviceBody:
    """Revoke one of the user's own devices (this one included): its tokens stop working at once."""
    user = principal.user
    async with audited(
        state,
        actor=principal.describe(),
        action="device.revoke",
        tenant=user.tenant_id,
        target=f"{user.address}/{device_id}",
    ) as tx:
        device = await tx.devices.get(device_id)
        if device.user.id != user.id:
            raise NotFound("no such device of this user", device_id)
        revoked = await tx.devices.revoke(device, now=state.clock())
    await state.fanout.publish([device_id], Notice(type=EventType.DEVICE_REVOKED.value, closes=True))
    await after_revocation(state, device_id)
    return device_body(revoked)
