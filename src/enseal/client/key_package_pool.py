"""This device's KeyPackages (RFC 9420 section 10) and their private keys, kept in the profile
until a Welcome uses them; publication to the server's key directory (docs/protocol.md, "Key
directory").

One-time packages are deleted once a Welcome consumed them (RFC 9420 section 16.8: "KeyPackages
are intended to be used only once"); the last-resort package is kept and may be used again.
"""

from __future__ import annotations

import base64
from typing import Any, Final

from enseal.client.device import DeviceIdentity
from enseal.client.errors import ProfileError
from enseal.client.profile_store import ProfileStore
from enseal.client.server_api import ServerApi
from enseal.crypto import HpkePrivateKey, RandomSource
from enseal.mls.framing import MLSMessage
from enseal.mls.key_package import KeyPackage
from enseal.mls.key_package_bundle import KeyPackageBundle
from enseal.mls.welcome import Welcome
from enseal.mls.wire import deserialize, serialize
from enseal.wire.key_packages import KeyPackageCounts, PublishedKeyPackages, PublishKeyPackagesRequest

POOL_RECORD: Final = "key_packages"
ONE_TIME_TARGET: Final = 20
"""One-time KeyPackages a device keeps published."""
REFILL_BELOW: Final = 5
"""Publish more when the server holds fewer than this many one-time packages of ours."""
MAX_KEPT_BUNDLES: Final = 200
"""Unused private bundles kept in the profile; the oldest are forgotten beyond this (the server
holds at most 500 per device, and a forgotten bundle only makes its Welcome unreadable)."""


def _encode_bundle(bundle: KeyPackageBundle, *, last_resort: bool) -> dict[str, Any]:
    return {
        "key_package": base64.b64encode(serialize(bundle.key_package)).decode(),
        "init_key": base64.b64encode(bundle.init_key.private_bytes().reveal()).decode(),
        "leaf_key": base64.b64encode(bundle.leaf_key.private_bytes().reveal()).decode(),
        "last_resort": last_resort,
    }


def _decode_bundle(identity: DeviceIdentity, entry: dict[str, Any]) -> KeyPackageBundle:
    suite = identity.suite
    key_package = deserialize(KeyPackage, base64.b64decode(entry["key_package"]))
    return KeyPackageBundle(
        key_package=key_package,
        ref=key_package.ref(suite),
        init_key=HpkePrivateKey.from_bytes(suite.kem, base64.b64decode(entry["init_key"])),
        leaf_key=HpkePrivateKey.from_bytes(suite.kem, base64.b64decode(entry["leaf_key"])),
        signer=identity.signing_key,
    )


class KeyPackagePool:
    """The bundles of one device in its profile."""

    def __init__(self, store: ProfileStore, identity: DeviceIdentity) -> None:
        self._store = store
        self.identity = identity

    def _entries(self) -> dict[str, dict[str, Any]]:
        entries = self._store.get_json(POOL_RECORD)
        return {} if entries is None else dict(entries)

    def create(self, count: int, *, now: int, rng: RandomSource, last_resort: bool = False) -> list[KeyPackageBundle]:
        """``count`` new bundles, saved in the profile (the caller publishes them)."""
        identity = self.identity
        bundles = [
            KeyPackageBundle.create(identity.suite, identity.signing_key, identity.credential, rng=rng, now=now)
            for _ in range(count)
        ]
        with self._store.transaction():
            entries = self._entries()
            if last_resort:
                entries = {ref: e for ref, e in entries.items() if not e["last_resort"]}
            for bundle in bundles:
                entries[bundle.ref.hex()] = _encode_bundle(bundle, last_resort=last_resort)
            one_time = [ref for ref, e in entries.items() if not e["last_resort"]]
            for ref in one_time[: max(0, len(one_time) - MAX_KEPT_BUNDLES)]:
                del entries[ref]
            self._store.put_json(POOL_RECORD, entries)
        return bundles

    def for_welcome(self, welcome: Welcome) -> KeyPackageBundle:
        """The bundle a Welcome was made for; :class:`ProfileError` if this device has none."""
        entries = self._entries()
        for secrets in welcome.secrets:
            entry = entries.get(bytes(secrets.new_member).hex())
            if entry is not None:
                return _decode_bundle(self.identity, entry)
        raise ProfileError("a Welcome for a KeyPackage this device no longer holds (it cannot join that group)")

    def for_key_package(self, key_package: bytes) -> KeyPackageBundle:
        """The bundle of one of this device's serialized KeyPackages (as MLSMessage or bare)."""
        message = deserialize(MLSMessage, key_package)
        body = message.body
        if not isinstance(body, KeyPackage):
            raise ProfileError("not a KeyPackage")
        entry = self._entries().get(body.ref(self.identity.suite).hex())
        if entry is None:
            raise ProfileError("a KeyPackage this device does not hold")
        return _decode_bundle(self.identity, entry)

    def consumed(self, bundle: KeyPackageBundle) -> None:
        """Forget a one-time bundle once its Welcome was processed (the last resort stays)."""
        entries = self._entries()
        entry = entries.get(bundle.ref.hex())
        if entry is not None and not entry["last_resort"]:
            del entries[bundle.ref.hex()]
            self._store.put_json(POOL_RECORD, entries)


def as_message(bundle: KeyPackageBundle) -> bytes:
    """The KeyPackage as the MLSMessage the key directory takes."""
    return serialize(MLSMessage(body=bundle.key_package))


async def publish(api: ServerApi, bundles: list[KeyPackageBundle], *, last_resort: bool = False) -> int:
    request = PublishKeyPackagesRequest(key_packages=[as_message(b) for b in bundles], last_resort=last_resort)
    published = await api.call("POST", "/v1/key-packages", PublishedKeyPackages, body=request)
    return published.accepted


async def replenish(api: ServerApi, pool: KeyPackagePool, *, now: int, rng: RandomSource) -> int:
    """Top the server's one-time packages up to :data:`ONE_TIME_TARGET` and make sure a
    last-resort package is there; returns how many were published."""
    counts = await api.call("GET", "/v1/key-packages", KeyPackageCounts)
    suite = pool.identity.suite.id
    mine = next((c for c in counts.counts if c.cipher_suite == suite), None)
    published = 0
    one_time = 0 if mine is None else mine.one_time
    if one_time < REFILL_BELOW or mine is None:
        published += await publish(api, pool.create(ONE_TIME_TARGET - one_time, now=now, rng=rng))
    if mine is None or not mine.last_resort:
        published += await publish(api, pool.create(1, now=now, rng=rng, last_resort=True), last_resort=True)
    return published
