"""Creating this client's KeyPackages (RFC 9420 section 10) together with their private keys.

A :class:`KeyPackageBundle` is what a client keeps after publishing a KeyPackage: the package
and the private init and leaf keys that a Welcome or a later join will need. Lifetimes last
:data:`~enseal.mls.group_config.KEY_PACKAGE_LIFETIME` (12 weeks), starting
:data:`~enseal.mls.group_config.CLOCK_SKEW` before ``now``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from enseal.crypto import CipherSuite, HpkePrivateKey, RandomSource, SignaturePrivateKey
from enseal.mls.code_points import CredentialType, LeafNodeSource, ProtocolVersion
from enseal.mls.credential import Credential
from enseal.mls.extensions import Extension
from enseal.mls.group_config import CLOCK_SKEW, KEY_PACKAGE_LIFETIME
from enseal.mls.key_package import KeyPackage, KeyPackageRef
from enseal.mls.leaf_node import Capabilities, LeafNode, Lifetime


def default_capabilities(suite: CipherSuite) -> Capabilities:
    """What Enseal supports: MLS 1.0, the group's cipher suite, basic and X.509 credentials
    (default proposal and extension types are never listed, section 7.2)."""
    return Capabilities(
        versions=(ProtocolVersion.MLS10,),
        cipher_suites=(suite.id,),
        extensions=(),
        proposals=(),
        credentials=(CredentialType.BASIC, CredentialType.X509),
    )


def default_lifetime(now: int) -> Lifetime:
    return Lifetime(not_before=max(0, now - CLOCK_SKEW), not_after=now - CLOCK_SKEW + KEY_PACKAGE_LIFETIME)


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class KeyPackageBundle:
    """A KeyPackage with its private init and leaf keys and the signing key it was made with."""

    key_package: KeyPackage
    ref: KeyPackageRef
    init_key: HpkePrivateKey
    leaf_key: HpkePrivateKey
    signer: SignaturePrivateKey

    def __repr__(self) -> str:
        return f"KeyPackageBundle(ref={self.ref.hex()[:16]}..., <private keys hidden>)"

    @classmethod
    def create(
        cls,
        suite: CipherSuite,
        signer: SignaturePrivateKey,
        credential: Credential,
        *,
        rng: RandomSource,
        now: int,
        capabilities: Capabilities | None = None,
        lifetime: Lifetime | None = None,
        leaf_extensions: Sequence[Extension] = (),
        extensions: Sequence[Extension] = (),
    ) -> KeyPackageBundle:
        init_key = suite.generate_hpke_key(rng)
        leaf_key = suite.generate_hpke_key(rng)
        leaf = LeafNode.sign(
            suite,
            signer,
            encryption_key=leaf_key.public_key,
            credential=credential,
            capabilities=capabilities or default_capabilities(suite),
            leaf_node_source=LeafNodeSource.KEY_PACKAGE,
            lifetime=lifetime or default_lifetime(now),
            extensions=leaf_extensions,
        )
        key_package = KeyPackage.sign(suite, signer, init_key=init_key.public_key, leaf_node=leaf,
                                      extensions=extensions)
        return cls(key_package=key_package, ref=key_package.ref(suite), init_key=init_key, leaf_key=leaf_key,
                   signer=signer)
