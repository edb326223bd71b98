"""Leaf nodes (RFC 9420 section 7.2): ``Capabilities``, ``Lifetime``, ``LeafNode`` with its three
sources, the to-be-signed ``LeafNodeTBS``, and the checks of leaf node validation (section 7.3)
that need nothing but the leaf itself. The checks that need the group (uniqueness of keys,
credential types in use, required capabilities) are :meth:`RatchetTree.check_leaf_node_fits`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, Self

from enseal.codec import Reader, Writer
from enseal.crypto import CipherSuite, SignaturePrivateKey
from enseal.errors import CryptoError, LocalProtocolError, SignatureError, ValidationError
from enseal.mls.code_points import DEFAULT_EXTENSION_TYPES, LeafNodeSource
from enseal.mls.credential import Credential, CredentialValidator
from enseal.mls.extensions import Extension, read_extensions, write_extensions
from enseal.mls.wire import read_enum, read_u16_list, write_u16_list
from enseal.types import LeafIndex

LEAF_NODE_TBS_LABEL: Final = b"LeafNodeTBS"

KEY_PACKAGE_LIFETIME: Final = 12 * 7 * 24 * 3600
"""Enseal's KeyPackages live at most 12 weeks (ARCHITECTURE.md section 2)."""

LIFETIME_CLOCK_SKEW: Final = 24 * 3600
"""Slack for creators that back-date ``not_before`` against clock skew (commonly one hour)."""

MAX_LEAF_NODE_LIFETIME: Final = KEY_PACKAGE_LIFETIME + LIFETIME_CLOCK_SKEW
"""Section 7.2: "Applications MUST define a maximum total lifetime that is acceptable for a
LeafNode, and reject any LeafNode where the total lifetime is longer than this duration"."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Capabilities:
    """``Capabilities``: every list keeps unknown and GREASE values (section 13.5)."""

    versions: tuple[int, ...]
    cipher_suites: tuple[int, ...]
    extensions: tuple[int, ...] = ()
    proposals: tuple[int, ...] = ()
    credentials: tuple[int, ...]

    def encode(self, w: Writer) -> None:
        write_u16_list(w, self.versions)
        write_u16_list(w, self.cipher_suites)
        write_u16_list(w, self.extensions)
        write_u16_list(w, self.proposals)
        write_u16_list(w, self.credentials)

    @classmethod
    def decode(cls, r: Reader) -> Self:
        return cls(
            versions=read_u16_list(r),
            cipher_suites=read_u16_list(r),
            extensions=read_u16_list(r),
            proposals=read_u16_list(r),
            credentials=read_u16_list(r),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Lifetime:
    """``Lifetime``: seconds since the Unix epoch, both bounds inclusive."""

    not_before: int
    not_after: int

    def encode(self, w: Writer) -> None:
        w.u64(self.not_before)
        w.u64(self.not_after)

    @classmethod
    def decode(cls, r: Reader) -> Self:
        return cls(not_before=r.u64(), not_after=r.u64())


@dataclass(frozen=True, slots=True, kw_only=True)
class LeafNode:
    """``LeafNode``. ``lifetime`` is present iff the source is ``key_package`` and
    ``parent_hash`` iff it is ``commit``; the constructor enforces both."""

    encryption_key: bytes
    signature_key: bytes
    credential: Credential
    capabilities: Capabilities
    leaf_node_source: LeafNodeSource
    lifetime: Lifetime | None = None
    parent_hash: bytes | None = None
    extensions: tuple[Extension, ...] = ()
    signature: bytes
    _encoding: list[bytes] = field(default_factory=list, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if (self.lifetime is not None) != (self.leaf_node_source is LeafNodeSource.KEY_PACKAGE):
            raise LocalProtocolError("LeafNode: lifetime is present iff leaf_node_source is key_package")
        if (self.parent_hash is not None) != (self.leaf_node_source is LeafNodeSource.COMMIT):
            raise LocalProtocolError("LeafNode: parent_hash is present iff leaf_node_source is commit")

    # -- encoding ---------------------------------------------------------------------------------

    def _encode_content(self, w: Writer) -> None:
        """The fields common to LeafNode and LeafNodeTBS."""
        w.opaque(self.encryption_key)
        w.opaque(self.signature_key)
        self.credential.encode(w)
        self.capabilities.encode(w)
        w.u8(self.leaf_node_source)
        if self.lifetime is not None:
            self.lifetime.encode(w)
        elif self.parent_hash is not None:
            w.opaque(self.parent_hash)
        write_extensions(w, self.extensions)

    def encode(self, w: Writer) -> None:
        # The encoding is cached: leaves are hashed and re-encoded often (tree hashes, trees).
        if not self._encoding:
            inner = Writer()
            self._encode_content(inner)
            inner.opaque(self.signature)
            self._encoding.append(inner.getvalue())
        w.fixed(self._encoding[0])

    @classmethod
    def decode(cls, r: Reader) -> Self:
        start = r.pos
        encryption_key = r.opaque()
        signature_key = r.opaque()
        credential = Credential.decode(r)
        capabilities = Capabilities.decode(r)
        source = read_enum(r, LeafNodeSource, 1)
        lifetime = Lifetime.decode(r) if source is LeafNodeSource.KEY_PACKAGE else None
        parent_hash = r.opaque() if source is LeafNodeSource.COMMIT else None
        extensions = read_extensions(r)
        signature = r.opaque()
        node = cls(
            encryption_key=encryption_key,
            signature_key=signature_key,
            credential=credential,
            capabilities=capabilities,
            leaf_node_source=source,
            lifetime=lifetime,
            parent_hash=parent_hash,
            extensions=extensions,
            signature=signature,
        )
        node._encoding.append(r.slice(start, r.pos))
        return node

    # -- signature (section 7.2) ------------------------------------------------------------------

    def tbs(self, *, group_id: bytes | None, leaf_index: LeafIndex | None) -> bytes:
        """The encoded ``LeafNodeTBS``. ``group_id`` and ``leaf_index`` are the signature context
        of the ``update`` and ``commit`` sources (required there, ignored for ``key_package``)."""
        w = Writer()
        self._encode_content(w)
        _write_tbs_context(w, self.leaf_node_source, group_id, leaf_index)
        return w.getvalue()

    def verify_signature(
        self, suite: CipherSuite, *, group_id: bytes | None, leaf_index: LeafIndex | None
    ) -> None:
        """Raise :class:`SignatureError` unless ``signature`` is valid under ``signature_key``."""
        tbs = self.tbs(group_id=group_id, leaf_index=leaf_index)
        try:
            suite.verify_with_label(self.signature_key, LEAF_NODE_TBS_LABEL, tbs, self.signature)
        except (SignatureError, CryptoError) as exc:
            raise SignatureError("RFC 9420 §7.3: leaf node signature invalid") from exc

    @classmethod
    def sign(
        cls,
        suite: CipherSuite,
        signing_key: SignaturePrivateKey,
        *,
        encryption_key: bytes,
        credential: Credential,
        capabilities: Capabilities,
        leaf_node_source: LeafNodeSource,
        lifetime: Lifetime | None = None,
        parent_hash: bytes | None = None,
        extensions: Sequence[Extension] = (),
        group_id: bytes | None = None,
        leaf_index: LeafIndex | None = None,
    ) -> LeafNode:
        """A new LeafNode whose ``signature_key`` is ``signing_key``'s, signed over LeafNodeTBS."""
        unsigned = cls(
            encryption_key=encryption_key,
            signature_key=signing_key.public_key,
            credential=credential,
            capabilities=capabilities,
            leaf_node_source=leaf_node_source,
            lifetime=lifetime,
            parent_hash=parent_hash,
            extensions=tuple(extensions),
            signature=b"",
        )
        tbs = unsigned.tbs(group_id=group_id, leaf_index=leaf_index)
        signature = suite.sign_with_label(signing_key, LEAF_NODE_TBS_LABEL, tbs)
        return cls(
            encryption_key=unsigned.encryption_key,
            signature_key=unsigned.signature_key,
            credential=credential,
            capabilities=capabilities,
            leaf_node_source=leaf_node_source,
            lifetime=lifetime,
            parent_hash=parent_hash,
            extensions=unsigned.extensions,
            signature=signature,
        )


def _write_tbs_context(
    w: Writer, source: LeafNodeSource, group_id: bytes | None, leaf_index: LeafIndex | None
) -> None:
    if source is LeafNodeSource.KEY_PACKAGE:
        return  # created before the client knew the group: no context
    if group_id is None or leaf_index is None:
        raise LocalProtocolError(f"LeafNodeTBS of a {source.name.lower()} leaf needs group_id and leaf_index")
    w.opaque(group_id)
    w.u32(leaf_index)


# -- validation of the leaf on its own (section 7.3) ----------------------------------------------


def validate_leaf_node(
    leaf: LeafNode,
    suite: CipherSuite,
    *,
    source: LeafNodeSource | None,
    group_id: bytes | None,
    leaf_index: LeafIndex | None,
    now: int | None,
    validate_credential: CredentialValidator,
    max_lifetime: int = MAX_LEAF_NODE_LIFETIME,
) -> None:
    """The checks of section 7.3 that depend only on the leaf.

    ``source`` is the source the context requires (None inside a ratchet tree, where any is
    allowed). ``group_id``/``leaf_index`` are the signature context of the ``update`` and
    ``commit`` sources (ignored for ``key_package``). ``now`` (seconds since the Unix epoch)
    enables the lifetime checks.
    Raises :class:`ValidationError` naming the rule, or :class:`SignatureError`.
    """
    # "If the LeafNode appears in a KeyPackage / an Update / the UpdatePath of a Commit, verify
    # that leaf_node_source is set to key_package / update / commit."
    if source is not None and leaf.leaf_node_source is not source:
        raise ValidationError(
            f"RFC 9420 §7.3: leaf_node_source must be {source.name.lower()}",
            f"got {leaf.leaf_node_source.name.lower()}",
        )
    check_leaf_keys(leaf, suite)
    check_leaf_capabilities(leaf)
    if now is not None and leaf.lifetime is not None:
        check_lifetime(leaf.lifetime, now, max_lifetime)
    # "Verify that the credential in the LeafNode is valid, as described in Section 5.3.1."
    validate_credential(leaf.credential, leaf.signature_key)
    # "Verify that the signature on the LeafNode is valid using signature_key."
    leaf.verify_signature(suite, group_id=group_id, leaf_index=leaf_index)


def check_leaf_keys(leaf: LeafNode, suite: CipherSuite) -> None:
    """The leaf node "MUST be valid for the cipher suite, including both the encryption_key and
    signature_key fields" (section 10)."""
    try:
        suite.kem.check_public_key(leaf.encryption_key)
    except CryptoError as exc:
        raise ValidationError("RFC 9420 §10: leaf encryption_key is not a key of the cipher suite", str(exc)) from exc
    try:
        suite.signature.check_public_key(leaf.signature_key)
    except CryptoError as exc:
        # Section 5.1.1: an ECDSA key "is represented as an encoded UncompressedPointRepresentation".
        raise ValidationError("RFC 9420 §10: leaf signature_key is not a key of the cipher suite", str(exc)) from exc


def check_leaf_capabilities(leaf: LeafNode) -> None:
    """Extensions and credential type of the leaf are listed in its own capabilities."""
    # "the credential type used in the LeafNode MUST be included in the credentials field of
    # the capabilities field"
    if leaf.credential.credential_type not in leaf.capabilities.credentials:
        raise ValidationError("RFC 9420 §7.2: leaf credential type not in its capabilities")
    # "Verify that the extensions in the LeafNode are supported by checking that the ID for each
    # extension in the extensions field is listed in the capabilities.extensions field" (only
    # non-default types are listed: section 7.2).
    supported = leaf.capabilities.extensions
    for ext in leaf.extensions:
        if ext.extension_type not in DEFAULT_EXTENSION_TYPES and ext.extension_type not in supported:
            raise ValidationError(
                "RFC 9420 §7.3: leaf extension not listed in its capabilities",
                f"type {ext.extension_type:#06x}",
            )


def check_lifetime(lifetime: Lifetime, now: int, max_lifetime: int = MAX_LEAF_NODE_LIFETIME) -> None:
    """The current time is within the lifetime, which is not longer than the maximum."""
    if not lifetime.not_before <= now <= lifetime.not_after:
        raise ValidationError(
            "RFC 9420 §7.3: current time not within the leaf node lifetime",
            f"now={now}, lifetime=[{lifetime.not_before}, {lifetime.not_after}]",
        )
    # "reject any LeafNode where the total lifetime is longer than this duration"
    if lifetime.not_after - lifetime.not_before > max_lifetime:
        raise ValidationError(
            "RFC 9420 §7.2: leaf node lifetime longer than the maximum",
            f"{lifetime.not_after - lifetime.not_before} s > {max_lifetime} s",
        )
