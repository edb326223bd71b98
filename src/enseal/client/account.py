"""A signed-in device with its open profile: the object the CLI and the session start from.

* :meth:`Account.register` -- a new profile: enroll the device with the user's one-time code,
  copy the server's CA into the profile, sign in, publish KeyPackages.
* :meth:`Account.open` -- an existing profile (passphrase), ready to sign in on first request.
* Settings and policy (``/v1/me/policy``, ``/v1/me/settings``), the directory of other users'
  devices (the client's Authentication Service check), claiming KeyPackages, safety numbers.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from enseal.client.device import DEVICE_RECORD, DeviceIdentity, enroll, sign_in
from enseal.client.device_directory import DeviceDirectory
from enseal.client.errors import ProfileError, ServerRefused, UnknownDevice, UntrustedDevice
from enseal.client.key_package_pool import KeyPackagePool, replenish
from enseal.client.profile_store import ProfileStore
from enseal.client.server_api import ServerApi
from enseal.crypto import RandomSource, system_random
from enseal.errors import EnsealError
from enseal.mls.credential import BasicCredential, Credential
from enseal.mls.framing import MLSMessage
from enseal.mls.key_package import KeyPackage, validate_key_package
from enseal.mls.wire import deserialize
from enseal.verification import SecurityCode, UserIdentity, safety_number, safety_number_qr_payload
from enseal.wire import UserAddress
from enseal.wire.devices import DeviceList
from enseal.wire.key_packages import ClaimedKeyPackage, ClaimedKeyPackages, ClaimKeyPackagesRequest
from enseal.wire.policy import MyPolicy, MySettings


class Account:
    """One device's profile, identity and server connection."""

    def __init__(self, store: ProfileStore, identity: DeviceIdentity, *, rng: RandomSource = system_random) -> None:
        self.store = store
        self.identity = identity
        self.rng = rng
        self.api = ServerApi(identity.server_url, store.ca_path, authenticate=self._authenticate)
        self.directory = DeviceDirectory(store)
        self.key_packages = KeyPackagePool(store, identity)

    async def _authenticate(self, api: ServerApi) -> tuple[str, datetime]:
        return await sign_in(api, self.identity)

    @property
    def address(self) -> str:
        return self.identity.address

    # -- lifecycle -----------------------------------------------------------------------------

    @classmethod
    async def register(
        cls,
        directory: Path,
        passphrase: str,
        *,
        server_url: str,
        ca_certificate: Path,
        user: str,
        enrollment_code: str,
        device_name: str = "enseal cli",
        rng: RandomSource = system_random,
    ) -> Account:
        """Create a profile in ``directory`` and enroll this device (removes the profile again if
        enrollment fails, so the command can simply be run again)."""
        address = UserAddress.parse(user)
        created = not directory.exists()
        store = ProfileStore.create(directory, passphrase, random_bytes=rng)
        try:
            try:
                store.save_ca(ca_certificate.read_bytes())
            except OSError as exc:
                raise ProfileError(f"cannot read the CA certificate {ca_certificate}: {exc.strerror}") from exc
            async with ServerApi(server_url, store.ca_path) as api:
                identity = await enroll(api, user=address, enrollment_code=enrollment_code, name=device_name, rng=rng)
            store.put_json(DEVICE_RECORD, identity.to_record())
        except BaseException:
            store.close()
            if created:
                shutil.rmtree(directory, ignore_errors=True)
            else:
                for name in ("profile.json", "profile.db", "profile.db-wal", "profile.db-shm", "ca.pem", "lock"):
                    (directory / name).unlink(missing_ok=True)
            raise
        account = cls(store, identity, rng=rng)
        try:
            await account.refresh_own_devices()
            await account.replenish_key_packages()
        except BaseException:
            await account.close()
            raise
        return account

    @classmethod
    def open(cls, directory: Path, passphrase: str, *, rng: RandomSource = system_random) -> Account:
        store = ProfileStore.open(directory, passphrase, random_bytes=rng)
        try:
            record = store.get_json(DEVICE_RECORD)
            if record is None:
                raise ProfileError(f"the profile {directory} has no registered device: run 'enseal register'")
            return cls(store, DeviceIdentity.from_record(record), rng=rng)
        except BaseException:
            store.close()
            raise

    async def close(self) -> None:
        await self.api.aclose()
        self.store.close()

    async def __aenter__(self) -> Account:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- key packages ----------------------------------------------------------------------------

    async def replenish_key_packages(self) -> int:
        return await replenish(self.api, self.key_packages, now=int(time.time()), rng=self.rng)

    # -- settings and policy ----------------------------------------------------------------------

    async def my_policy(self) -> MyPolicy:
        return await self.api.call("GET", "/v1/me/policy", MyPolicy)

    async def set_e2ee_calls(self, enabled: bool) -> MyPolicy:
        """Turn the user's "end-to-end encrypted calls" setting on or off (403 policy_denied
        with the reasons when policy does not offer it)."""
        return await self.api.call("PUT", "/v1/me/settings", MyPolicy, body=MySettings(e2ee_calls=enabled))

    # -- the directory ----------------------------------------------------------------------------

    async def refresh_own_devices(self) -> list[str]:
        """Pin this user's devices as the server lists them; the ids that were new."""
        listed = await self.api.call("GET", "/v1/devices", DeviceList)
        return self.directory.learn_all(
            self.address, [(d.device_id, d.signature_key, d.revoked_at is not None) for d in listed.devices]
        )

    async def refresh_user_devices(self, user: str) -> list[str]:
        """Learn ``user``'s devices from the server's device list for other users; if the server
        has none (docs/client-needs.md item 1), from the KeyPackages a claim returns."""
        if user == self.address:
            return await self.refresh_own_devices()
        try:
            listed = await self.api.call("GET", f"/v1/users/{user}/devices", DeviceList)
        except ServerRefused as exc:
            if exc.status not in (404, 405):
                raise
            return [c.device_id for c in (await self.claim_key_packages(user)) if c.device_id]
        return self.directory.learn_all(
            user, [(d.device_id, d.signature_key, d.revoked_at is not None) for d in listed.devices]
        )

    async def claim_key_packages(self, user: str) -> list[ClaimedKeyPackage]:
        """One KeyPackage of each active device of ``user`` (for this device's suite), each checked
        (RFC 9420 section 10.1) and its device key pinned; packages of this device are skipped."""
        claimed = await self.api.call(
            "POST",
            "/v1/key-packages/claim",
            ClaimedKeyPackages,
            body=ClaimKeyPackagesRequest(user=user, cipher_suite=self.identity.suite.id),
        )
        accepted = []
        now = int(time.time())
        for item in claimed.key_packages:
            if item.device_id == self.identity.device_id:
                continue
            self.check_key_package(item.key_package, user=user, device_id=item.device_id, now=now)
            accepted.append(item)
        return accepted

    def check_key_package(self, data: bytes, *, user: str, device_id: str, now: int) -> KeyPackage:
        """Decode and validate a claimed KeyPackage of ``user``'s device ``device_id``; pins the
        device's key (or refuses a substituted one)."""
        try:
            body = deserialize(MLSMessage, data).body
        except EnsealError as exc:
            raise UntrustedDevice("the directory returned a malformed KeyPackage", str(exc)) from exc
        if not isinstance(body, KeyPackage) or not isinstance(body.leaf_node.credential, BasicCredential):
            raise UntrustedDevice("the directory returned something else than a device's KeyPackage", device_id)
        identity = f"{user}/{device_id}".encode()
        if body.leaf_node.credential.identity != identity:
            raise UntrustedDevice("a KeyPackage for another device than the directory said", device_id)

        def first_sight_or_pinned(credential: Credential, signature_key: bytes) -> None:
            # first sight: the server's directory is trusted once, then pinned (record 0902)
            with contextlib.suppress(UnknownDevice):
                self.directory.check(credential, signature_key)

        validate_key_package(body, self.identity.suite, now=now, validate_credential=first_sight_or_pinned)
        self.directory.learn(user, device_id, body.leaf_node.signature_key)
        return body

    # -- verification ---------------------------------------------------------------------------

    async def safety_number(self, user: str) -> tuple[SecurityCode, bytes, Sequence[str]]:
        """The safety number of this user and ``user`` (60 digits), its QR payload, and the
        devices of ``user`` it covers."""
        await self.refresh_own_devices()
        if not self.directory.knows(user):
            await self.refresh_user_devices(user)
        mine = UserIdentity(user_id=self.address, identity_key=self.directory.identity_key(self.address))
        theirs = UserIdentity(user_id=user, identity_key=self.directory.identity_key(user))
        devices = [d.device_id for d in self.directory.devices(user)]
        return safety_number(mine, theirs), safety_number_qr_payload(mine, theirs), devices

    def __repr__(self) -> str:
        return f"Account({self.identity.identity.decode()})"
