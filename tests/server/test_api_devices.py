"""Device enrollment, sign-in, tokens and revocation in-process: the server binds
(user, device_id, signature key) and only that key signs the device in."""

from __future__ import annotations

from datetime import timedelta

import pytest

from enseal.wire.binary import encode_b64url

from .actors import DeviceActor, error_code, expect
from .conftest import Api

pytestmark = pytest.mark.anyio


async def test_register_sign_in_and_me(api: Api) -> None:
    device = await api.device("alice@acme")
    me = expect(await api.client.get("/v1/me", headers=device.headers), 200)
    assert me == {
        "kind": "device",
        "key_id": None,
        "tenant": "acme",
        "user": "alice@acme",
        "device_id": device.device_id,
    }
    listed = expect(await api.client.get("/v1/devices", headers=device.headers), 200)["devices"]
    assert [d["device_id"] for d in listed] == [device.device_id]
    assert listed[0]["credential_identity"] == f"alice@acme/{device.device_id}"
    assert listed[0]["signature_key"] == encode_b64url(device.signing_key.public_key)


async def test_an_enrollment_code_enrolls_one_device_of_its_user(api: Api) -> None:
    code = await api.user("alice@acme")
    await api.user("bob@acme")
    first = DeviceActor.new("alice@acme")
    await first.register(api.client, code)
    second = DeviceActor.new("alice@acme")
    assert error_code(await api.client.post("/v1/devices", json=second.registration(code)), 403) == "enrollment_refused"
    bob = DeviceActor.new("bob@acme")
    assert error_code(await api.client.post("/v1/devices", json=bob.registration(code)), 403) == "enrollment_refused"
    nobody = DeviceActor.new("nobody@acme")
    assert error_code(await api.client.post("/v1/devices", json=nobody.registration(code)), 403) == "enrollment_refused"
    # A new code from the admin enrolls the second device; typed in lower case without dashes.
    again = await api.admin("POST", "/v1/tenants/acme/users/alice/enrollment-codes", 201)
    await second.register(api.client, again["enrollment_code"].replace("-", "").lower())


async def test_enrollment_codes_expire(api: Api) -> None:
    code = await api.user("alice@acme")
    api.clock.advance(api.state.enrollment_code_lifetime + timedelta(seconds=1))
    device = DeviceActor.new("alice@acme")
    assert error_code(await api.client.post("/v1/devices", json=device.registration(code)), 403) == "enrollment_refused"


async def test_registration_needs_proof_of_the_key(api: Api) -> None:
    code = await api.user("alice@acme")
    device = DeviceActor.new("alice@acme")
    forged = device.registration(code, proof_for="mallory@acme")
    assert error_code(await api.client.post("/v1/devices", json=forged), 400) == "invalid_signature"
    unsupported = {**device.registration(code), "cipher_suite": 0x0A0A}
    assert error_code(await api.client.post("/v1/devices", json=unsupported), 422) == "invalid_request"
    await device.register(api.client, code)  # the code was not burnt by the refusals
    twin = DeviceActor.new("alice@acme")
    twin.signing_key = device.signing_key
    second = await api.admin("POST", "/v1/tenants/acme/users/alice/enrollment-codes", 201)
    assert (
        error_code(await api.client.post("/v1/devices", json=twin.registration(second["enrollment_code"])), 409)
        == "already_exists"
    )


async def test_sign_in_refusals(api: Api) -> None:
    device = await api.device("alice@acme")
    challenge = expect(await api.client.post("/v1/auth/challenge", json={"device_id": device.device_id}), 200)
    other_key = device.suite.generate_signature_key(device.rng)
    wrong_key = device.answer(api.state.server_id, challenge, key=other_key)
    assert error_code(await api.client.post("/v1/auth/token", json=wrong_key), 401) == "challenge_refused"
    # A challenge is answered once, even after a failed answer.
    good = device.answer(api.state.server_id, challenge)
    assert error_code(await api.client.post("/v1/auth/token", json=good), 401) == "challenge_refused"
    # An answer for another server does not sign in here.
    challenge = expect(await api.client.post("/v1/auth/challenge", json={"device_id": device.device_id}), 200)
    elsewhere = device.answer("another-server", challenge)
    assert error_code(await api.client.post("/v1/auth/token", json=elsewhere), 401) == "challenge_refused"
    # Challenges expire.
    challenge = expect(await api.client.post("/v1/auth/challenge", json={"device_id": device.device_id}), 200)
    api.clock.advance(timedelta(seconds=61))
    late = device.answer(api.state.server_id, challenge)
    assert error_code(await api.client.post("/v1/auth/token", json=late), 401) == "challenge_refused"
    unknown = {"device_id": "0" * 32}
    assert error_code(await api.client.post("/v1/auth/challenge", json=unknown), 401) == "challenge_refused"


async def test_access_tokens_expire(api: Api) -> None:
    device = await api.device("alice@acme")
    api.clock.advance(api.state.access_token_lifetime - timedelta(seconds=1))
    expect(await api.client.get("/v1/me", headers=device.headers), 200)
    api.clock.advance(timedelta(seconds=1))
    assert error_code(await api.client.get("/v1/me", headers=device.headers), 401) == "unauthenticated"
    await device.sign_in(api.client, api.state.server_id)
    expect(await api.client.get("/v1/me", headers=device.headers), 200)


async def test_revoked_devices_lose_their_tokens_at_once_and_cannot_sign_in(api: Api) -> None:
    phone = await api.device("alice@acme")
    code = await api.admin("POST", "/v1/tenants/acme/users/alice/enrollment-codes", 201)
    laptop = await api.device("alice@acme", code=code["enrollment_code"])
    await api.device("bob@acme")
    revoked = expect(await api.client.delete(f"/v1/devices/{phone.device_id}", headers=laptop.headers), 200)
    assert revoked["revoked_at"] is not None
    assert error_code(await api.client.get("/v1/me", headers=phone.headers), 401) == "unauthenticated"
    assert (
        error_code(await api.client.post("/v1/auth/challenge", json={"device_id": phone.device_id}), 401)
        == "challenge_refused"
    )
    # Nobody revokes another user's device through the device API.
    bob_devices = await api.admin("GET", "/v1/tenants/acme/users/bob/devices")
    bob_id = bob_devices["devices"][0]["device_id"]
    assert error_code(await api.client.delete(f"/v1/devices/{bob_id}", headers=laptop.headers), 404) == "not_found"
    # An admin revokes any device of their tenant.
    await api.admin("DELETE", f"/v1/tenants/acme/users/alice/devices/{laptop.device_id}")
    assert error_code(await api.client.get("/v1/me", headers=laptop.headers), 401) == "unauthenticated"
    actions = [(e["action"], e["result"]) for e in (await api.admin("GET", "/v1/audit?tenant=acme"))["entries"]]
    assert actions.count(("device.revoke", "ok")) == 2 and ("device.revoke", "refused:not_found") in actions
    assert actions.count(("device.register", "ok")) == 3
