"""Test actors for the server API: a clock the test moves, devices with real identity keys that
register, sign in and build real KeyPackages (enseal.mls), over any httpx client."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from enseal.crypto import CipherSuite, SignaturePrivateKey, cipher_suite
from enseal.mls.code_points import LeafNodeSource
from enseal.mls.credential import BasicCredential
from enseal.mls.key_package import KeyPackage
from enseal.mls.leaf_node import Capabilities, LeafNode, Lifetime
from enseal.mls.wire import serialize
from enseal.wire import AUTHENTICATION_LABEL, REGISTRATION_LABEL, authentication_content, registration_content
from enseal.wire.binary import decode_b64url, encode_b64url

MLS_KEY_PACKAGE_HEADER = b"\x00\x01\x00\x05"
"""MLSMessage: version mls10, wire_format mls_key_package."""


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def expect(response: httpx.Response, status: int) -> Any:
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
    )
    return None if status == 204 else response.json()


def error_code(response: httpx.Response, status: int) -> str:
    body = expect(response, status)
    assert set(body) == {"error"} and {"code", "reason"} <= set(body["error"]), body
    return str(body["error"]["code"])


@dataclass
class DeviceActor:
    address: str
    suite: CipherSuite
    signing_key: SignaturePrivateKey
    rng: Any
    device_id: str = ""
    token: str = ""

    @classmethod
    def new(cls, address: str, *, suite_id: int = 1, seed: int | None = None) -> DeviceActor:
        """A device with a fresh identity key (from ``seed``, or unpredictable when None)."""
        rng = random.Random(seed).randbytes
        suite = cipher_suite(suite_id)
        return cls(address=address, suite=suite, signing_key=suite.generate_signature_key(rng), rng=rng)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def identity(self) -> bytes:
        return f"{self.address}/{self.device_id}".encode()

    def registration(self, code: str, *, supports_e2ee: bool = True, proof_for: str | None = None) -> dict[str, Any]:
        public = self.signing_key.public_key
        content = registration_content(user=proof_for or self.address, cipher_suite=self.suite.id, signature_key=public)
        proof = self.suite.sign_with_label(self.signing_key, REGISTRATION_LABEL, content)
        return {
            "user": self.address,
            "enrollment_code": code,
            "cipher_suite": self.suite.id,
            "signature_key": encode_b64url(public),
            "proof": encode_b64url(proof),
            "name": "test device",
            "supports_e2ee": supports_e2ee,
        }

    async def register(self, client: httpx.AsyncClient, code: str, *, supports_e2ee: bool = True) -> None:
        body = expect(await client.post("/v1/devices", json=self.registration(code, supports_e2ee=supports_e2ee)), 201)
        self.device_id = body["device_id"]
        assert body["credential_identity"] == self.identity.decode()

    def answer(
        self, server_id: str, challenge: dict[str, Any], *, key: SignaturePrivateKey | None = None
    ) -> dict[str, Any]:
        content = authentication_content(
            server_id=server_id,
            device_id=self.device_id,
            challenge_id=challenge["challenge_id"],
            nonce=decode_b64url(challenge["nonce"]),
        )
        signature = self.suite.sign_with_label(key or self.signing_key, AUTHENTICATION_LABEL, content)
        return {
            "device_id": self.device_id,
            "challenge_id": challenge["challenge_id"],
            "signature": encode_b64url(signature),
        }

    async def sign_in(self, client: httpx.AsyncClient, server_id: str) -> None:
        challenge = expect(await client.post("/v1/auth/challenge", json={"device_id": self.device_id}), 200)
        issued = expect(await client.post("/v1/auth/token", json=self.answer(server_id, challenge)), 200)
        self.token = issued["access_token"]

    def key_package(
        self,
        now: datetime,
        *,
        lifetime: tuple[timedelta, timedelta] = (timedelta(hours=-1), timedelta(weeks=4)),
        identity: bytes | None = None,
        signing_key: SignaturePrivateKey | None = None,
        cipher_suites: Sequence[int] | None = None,
        header: bytes = MLS_KEY_PACKAGE_HEADER,
    ) -> bytes:
        """A real, signed KeyPackage of this device as an MLSMessage (each field overridable)."""
        key = signing_key or self.signing_key
        start = int((now + lifetime[0]).timestamp())
        end = int((now + lifetime[1]).timestamp())
        leaf = LeafNode.sign(
            self.suite,
            key,
            encryption_key=self.suite.generate_hpke_key(self.rng).public_key,
            credential=BasicCredential(identity=identity if identity is not None else self.identity),
            capabilities=Capabilities(
                versions=(1,), cipher_suites=tuple(cipher_suites or (self.suite.id,)), credentials=(1,)
            ),
            leaf_node_source=LeafNodeSource.KEY_PACKAGE,
            lifetime=Lifetime(not_before=start, not_after=end),
        )
        package = KeyPackage.sign(
            self.suite, key, init_key=self.suite.generate_hpke_key(self.rng).public_key, leaf_node=leaf
        )
        return header + serialize(package)
