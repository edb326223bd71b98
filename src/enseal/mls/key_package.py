"""Key packages (RFC 9420 section 10): ``KeyPackage``, ``KeyPackageTBS``, ``KeyPackageRef``
(section 5.2) and KeyPackage validation (section 10.1), whose result is the distinct type
:class:`ValidatedKeyPackage`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, NewType, Self

from enseal.codec import Reader, Writer
from enseal.crypto import CipherSuite, SignaturePrivateKey, cipher_suite
from enseal.errors import CryptoError, LocalProtocolError, SignatureError, ValidationError
from enseal.mls.code_points import LeafNodeSource, ProtocolVersion
from enseal.mls.credential import CredentialValidator
from enseal.mls.extensions import Extension, read_extensions, write_extensions
from enseal.mls.leaf_node import MAX_LEAF_NODE_LIFETIME, LeafNode, validate_leaf_node
from enseal.mls.wire import read_enum, serialize
from enseal.types import CipherSuiteId

KEY_PACKAGE_TBS_LABEL: Final = b"KeyPackageTBS"
KEY_PACKAGE_REF_LABEL: Final = b"MLS 1.0 KeyPackage Reference"

KeyPackageRef = NewType("KeyPackageRef", bytes)
"""``KeyPackageRef``: RefHash("MLS 1.0 KeyPackage Reference", encoded KeyPackage)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyPackage:
    """``KeyPackage``. Decoding does not check the signature: validate first
    (:func:`validate_key_package`)."""

    version: ProtocolVersion = ProtocolVersion.MLS10
    cipher_suite: CipherSuiteId
    init_key: bytes
    leaf_node: LeafNode
    extensions: tuple[Extension, ...] = ()
    signature: bytes

    def _encode_tbs(self, w: Writer) -> None:
        w.u16(self.version)
        w.u16(self.cipher_suite)
        w.opaque(self.init_key)
        self.leaf_node.encode(w)
        write_extensions(w, self.extensions)

    def encode(self, w: Writer) -> None:
        self._encode_tbs(w)
        w.opaque(self.signature)

    @classmethod
    def decode(cls, r: Reader) -> Self:
        return cls(
            version=read_enum(r, ProtocolVersion, 2),
            cipher_suite=CipherSuiteId(r.u16()),
            init_key=r.opaque(),
            leaf_node=LeafNode.decode(r),
            extensions=read_extensions(r),
            signature=r.opaque(),
        )

    def tbs(self) -> bytes:
        """The encoded ``KeyPackageTBS`` (every field but the signature)."""
        w = Writer()
        self._encode_tbs(w)
        return w.getvalue()

    def ref(self, suite: CipherSuite) -> KeyPackageRef:
        """MakeKeyPackageRef, with the hash of this KeyPackage's own cipher suite."""
        if suite.id != self.cipher_suite:
            raise LocalProtocolError("KeyPackageRef uses the KeyPackage's own cipher suite")
        return KeyPackageRef(suite.ref_hash(KEY_PACKAGE_REF_LABEL, serialize(self)))

    def verify_signature(self, suite: CipherSuite) -> None:
        """Raise :class:`SignatureError` unless the KeyPackage signature verifies with
        ``leaf_node.signature_key``."""
        try:
            suite.verify_with_label(
                self.leaf_node.signature_key, KEY_PACKAGE_TBS_LABEL, self.tbs(), self.signature
            )
        except (SignatureError, CryptoError) as exc:
            raise SignatureError("RFC 9420 §10.1: KeyPackage signature invalid") from exc

    @classmethod
    def sign(
        cls,
        suite: CipherSuite,
        signing_key: SignaturePrivateKey,
        *,
        init_key: bytes,
        leaf_node: LeafNode,
        extensions: Sequence[Extension] = (),
    ) -> KeyPackage:
        """A KeyPackage for ``suite`` signed with ``signing_key`` (the leaf's signature key)."""
        if signing_key.public_key != leaf_node.signature_key:
            raise LocalProtocolError("the KeyPackage is signed with its leaf node's signature key")
        unsigned = cls(cipher_suite=CipherSuiteId(suite.id), init_key=init_key, leaf_node=leaf_node,
                       extensions=tuple(extensions), signature=b"")
        signature = suite.sign_with_label(signing_key, KEY_PACKAGE_TBS_LABEL, unsigned.tbs())
        return cls(cipher_suite=CipherSuiteId(suite.id), init_key=init_key, leaf_node=leaf_node,
                   extensions=unsigned.extensions, signature=signature)


_VALIDATED: Final = object()


@dataclass(frozen=True, slots=True, kw_only=True)
class ValidatedKeyPackage:
    """A KeyPackage that passed section 10.1 for a group's cipher suite at a given time.

    Only :func:`validate_key_package` creates one.
    """

    key_package: KeyPackage
    ref: KeyPackageRef
    _token: object = field(repr=False, compare=False)

    def __post_init__(self) -> None:
        if self._token is not _VALIDATED:
            raise LocalProtocolError("only validate_key_package creates a ValidatedKeyPackage")

    @property
    def leaf_node(self) -> LeafNode:
        return self.key_package.leaf_node


def validate_key_package(
    key_package: KeyPackage,
    suite: CipherSuite | int,
    *,
    now: int,
    validate_credential: CredentialValidator,
    version: ProtocolVersion = ProtocolVersion.MLS10,
    max_lifetime: int = MAX_LEAF_NODE_LIFETIME,
) -> ValidatedKeyPackage:
    """KeyPackage validation (section 10.1) against the group's ``suite`` and ``version``.

    ``now`` is seconds since the Unix epoch. The checks that need the group's tree (unique keys,
    capabilities against the group) are :meth:`RatchetTree.check_leaf_node_fits`.
    Raises :class:`ValidationError` naming the rule, or :class:`SignatureError`.
    """
    suite_id = suite.id if isinstance(suite, CipherSuite) else suite
    # "Verify that the cipher suite and protocol version of the KeyPackage match those in the
    # GroupContext."
    if key_package.cipher_suite != suite_id:
        raise ValidationError(
            "RFC 9420 §10.1: KeyPackage cipher suite differs from the group's",
            f"{key_package.cipher_suite:#06x} != {suite_id:#06x}",
        )
    if key_package.version is not version:
        raise ValidationError("RFC 9420 §10.1: KeyPackage protocol version differs from the group's")
    suite_impl = suite if isinstance(suite, CipherSuite) else cipher_suite(suite_id)
    # "The value for init_key MUST be a public key for the asymmetric encryption scheme defined
    # by cipher_suite"
    try:
        suite_impl.kem.check_public_key(key_package.init_key)
    except CryptoError as exc:
        raise ValidationError("RFC 9420 §10: KeyPackage init_key is not a key of the cipher suite") from exc
    # "Verify that the value of leaf_node.encryption_key is different from the value of the
    # init_key field."
    if key_package.leaf_node.encryption_key == key_package.init_key:
        raise ValidationError("RFC 9420 §10.1: KeyPackage init_key equals leaf encryption_key")
    # "Verify that the leaf_node of the KeyPackage is valid for a KeyPackage according to
    # Section 7.3."
    validate_leaf_node(
        key_package.leaf_node,
        suite_impl,
        source=LeafNodeSource.KEY_PACKAGE,
        group_id=None,
        leaf_index=None,
        now=now,
        validate_credential=validate_credential,
        max_lifetime=max_lifetime,
    )
    # "Verify that the signature on the KeyPackage is valid using the public key in
    # leaf_node.credential." (A KeyPackage with an invalid signature "MUST be considered
    # malformed".)
    key_package.verify_signature(suite_impl)
    return ValidatedKeyPackage(key_package=key_package, ref=key_package.ref(suite_impl), _token=_VALIDATED)
