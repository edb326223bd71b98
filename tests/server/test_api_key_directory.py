"""Key directory in-process: real KeyPackages (enseal.mls) validated against the authenticated
device, claimed one per device, one-time then last-resort, rate limited."""

from __future__ import annotations

from datetime import timedelta

import pytest

from enseal.mls.leaf_node import KEY_PACKAGE_LIFETIME
from enseal.server.rate_limit import Limit
from enseal.wire.binary import decode_b64url, encode_b64url

from .actors import error_code, expect
from .conftest import Api

pytestmark = pytest.mark.anyio


def _flip_last_byte(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 1])


def _publish(packages: list[bytes], last_resort: bool = False) -> dict[str, object]:
    return {"key_packages": [encode_b64url(p) for p in packages], "last_resort": last_resort}


async def test_publish_then_claim_one_per_device(api: Api) -> None:
    phone = await api.device("bob@acme")
    code = await api.admin("POST", "/v1/tenants/acme/users/bob/enrollment-codes", 201)
    laptop = await api.device("bob@acme", code=code["enrollment_code"])
    alice = await api.device("alice@acme")
    phone_packages = [phone.key_package(api.clock.now) for _ in range(2)]
    published = expect(
        await api.client.post("/v1/key-packages", headers=phone.headers, json=_publish(phone_packages)), 201
    )
    assert published["accepted"] == 2 and len(set(published["refs"])) == 2
    expect(
        await api.client.post(
            "/v1/key-packages",
            headers=phone.headers,
            json=_publish([phone.key_package(api.clock.now)], last_resort=True),
        ),
        201,
    )
    counts = expect(await api.client.get("/v1/key-packages", headers=phone.headers), 200)["counts"]
    assert counts == [{"cipher_suite": 1, "one_time": 2, "last_resort": True}]

    claims = []
    for _ in range(4):
        claims.append(
            expect(
                await api.client.post("/v1/key-packages/claim", headers=alice.headers, json={"user": "bob@acme"}), 200
            )
        )
    first = claims[0]
    assert first["devices_without_package"] == [laptop.device_id]
    assert [(p["device_id"], p["last_resort"]) for p in first["key_packages"]] == [(phone.device_id, False)]
    assert decode_b64url(first["key_packages"][0]["key_package"]) == phone_packages[0]  # byte for byte
    assert first["key_packages"][0]["credential_identity"] == f"bob@acme/{phone.device_id}"
    handed = [decode_b64url(c["key_packages"][0]["key_package"]) for c in claims]
    assert handed[:2] == phone_packages  # one-time packages, each once
    assert handed[2] == handed[3] and handed[2] not in phone_packages  # then the last-resort one, kept
    assert [c["key_packages"][0]["last_resort"] for c in claims] == [False, False, True, True]
    assert (
        error_code(
            await api.client.post("/v1/key-packages/claim", headers=alice.headers, json={"user": "nobody@acme"}), 404
        )
        == "not_found"
    )


@pytest.mark.parametrize(
    ("case", "rule"),
    [
        ("other device's identity", "credential identity is not the publishing device"),
        ("other signature key", "signature key is not the device's registered identity key"),
        ("lifetime over 12 weeks", "lifetime longer than the maximum"),
        ("expired", "current time not within"),
        ("not yet valid", "current time not within"),
        ("capabilities without its suite", "capabilities do not list the KeyPackage's cipher suite"),
        ("not an MLSMessage", "wire_format mls_key_package"),
        ("bad signature", "signature invalid"),
        ("trailing bytes", ""),
        ("garbage", ""),
    ],
)
async def test_invalid_key_packages_are_refused_with_the_rule(api: Api, case: str, rule: str) -> None:
    alice = await api.device("alice@acme")
    bob = await api.device("bob@acme")
    now = api.clock.now
    package = {
        "other device's identity": lambda: alice.key_package(now, identity=bob.identity),
        "other signature key": lambda: alice.key_package(now, signing_key=bob.signing_key),
        "lifetime over 12 weeks": lambda: alice.key_package(
            now, lifetime=(timedelta(hours=-1), timedelta(seconds=KEY_PACKAGE_LIFETIME) - timedelta(minutes=59))
        ),
        "expired": lambda: alice.key_package(now, lifetime=(timedelta(weeks=-2), timedelta(seconds=-1))),
        "not yet valid": lambda: alice.key_package(now, lifetime=(timedelta(hours=1), timedelta(weeks=2))),
        "capabilities without its suite": lambda: alice.key_package(now, cipher_suites=[2]),
        "not an MLSMessage": lambda: alice.key_package(now, header=b"\x00\x01\x00\x01"),
        "bad signature": lambda: _flip_last_byte(alice.key_package(now)),
        "trailing bytes": lambda: alice.key_package(now) + b"\x00",
        "garbage": lambda: b"\x00\x01\x00\x05\xff\xff",
    }[case]()
    response = await api.client.post("/v1/key-packages", headers=alice.headers, json=_publish([package]))
    assert error_code(response, 400) == "invalid_key_package"
    assert rule in response.json()["error"]["reason"] + (response.json()["error"].get("detail") or "")
    # Nothing of a refused batch is stored.
    batch = _publish([alice.key_package(now), package])
    assert (
        error_code(await api.client.post("/v1/key-packages", headers=alice.headers, json=batch), 400)
        == "invalid_key_package"
    )
    assert expect(await api.client.get("/v1/key-packages", headers=alice.headers), 200)["counts"] == []


async def test_a_revoked_device_has_no_packages_to_claim(api: Api) -> None:
    bob = await api.device("bob@acme")
    alice = await api.device("alice@acme")
    expect(
        await api.client.post("/v1/key-packages", headers=bob.headers, json=_publish([bob.key_package(api.clock.now)])),
        201,
    )
    await api.admin("DELETE", f"/v1/tenants/acme/users/bob/devices/{bob.device_id}")
    claimed = expect(
        await api.client.post("/v1/key-packages/claim", headers=alice.headers, json={"user": "bob@acme"}), 200
    )
    assert claimed["key_packages"] == [] and claimed["devices_without_package"] == []


async def test_claims_are_rate_limited_per_device(api: Api) -> None:
    alice = await api.device("alice@acme")
    await api.user("bob@acme")
    statuses = []
    for _ in range(Limit.KEY_PACKAGE_CLAIM.value.burst + 1):
        response = await api.client.post("/v1/key-packages/claim", headers=alice.headers, json={"user": "bob@acme"})
        statuses.append(response.status_code)
    assert statuses[:-1] == [200] * Limit.KEY_PACKAGE_CLAIM.value.burst
    assert error_code(response, 429) == "rate_limited"
    assert int(response.headers["retry-after"]) >= 1
    carol = await api.device("carol@acme")  # another device has its own budget
    expect(await api.client.post("/v1/key-packages/claim", headers=carol.headers, json={"user": "bob@acme"}), 200)
