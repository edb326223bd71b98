"""MLS cipher suites (RFC 9420 section 17.1) and the labelled operations of section 5.

One :class:`CipherSuite` object per code point binds the KEM, KDF, AEAD, hash and signature
scheme, and offers every operation the protocol needs: Hash, MAC, KDF, AEAD, signatures, HPKE,
DeriveKeyPair and the labelled forms ExpandWithLabel, DeriveSecret, DeriveTreeSecret,
SignWithLabel/VerifyWithLabel, EncryptWithLabel/DecryptWithLabel and RefHash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from enseal.codec import encode_varint
from enseal.crypto.aead import AeadAlgorithm
from enseal.crypto.hashing import HashAlgorithm
from enseal.crypto.hpke import HpkeContext, HpkeSuite
from enseal.crypto.kem import DhKem, HpkePrivateKey
from enseal.crypto.randomness import RandomSource
from enseal.crypto.signature import SignaturePrivateKey, SignatureScheme
from enseal.errors import ValidationError

LABEL_PREFIX: Final = b"MLS 1.0 "


def _opaque(data: bytes) -> bytes:
    return encode_varint(len(data)) + data


@dataclass(frozen=True, slots=True, eq=False)
class CipherSuite:
    """An MLS cipher suite. Compare suites by ``id``."""

    id: int
    name: str
    kem: DhKem
    hash: HashAlgorithm
    aead: AeadAlgorithm
    signature: SignatureScheme
    hpke: HpkeSuite = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "hpke", HpkeSuite(self.kem, self.hash, self.aead))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CipherSuite) and other.id == self.id

    def __hash__(self) -> int:
        return self.id

    def __repr__(self) -> str:
        return f"CipherSuite(0x{self.id:04x} {self.name})"

    # -- sizes --------------------------------------------------------------------------------

    @property
    def hash_size(self) -> int:
        """Nh: the KDF / hash output size."""
        return self.hash.size

    @property
    def key_size(self) -> int:
        """Nk: the AEAD key size."""
        return self.aead.key_size

    @property
    def nonce_size(self) -> int:
        """Nn: the AEAD nonce size."""
        return self.aead.nonce_size

    # -- primitives ---------------------------------------------------------------------------

    def digest(self, data: bytes) -> bytes:
        return self.hash.digest(data)

    def mac(self, key: bytes, data: bytes) -> bytes:
        return self.hash.hmac(key, data)

    def extract(self, salt: bytes, ikm: bytes) -> bytes:
        return self.hash.extract(salt, ikm)

    def expand(self, prk: bytes, info: bytes, length: int) -> bytes:
        return self.hash.expand(prk, info, length)

    def seal(self, key: bytes, nonce: bytes, aad: bytes, plaintext: bytes) -> bytes:
        return self.aead.seal(key, nonce, aad, plaintext)

    def open(self, key: bytes, nonce: bytes, aad: bytes, ciphertext: bytes) -> bytes:
        return self.aead.open(key, nonce, aad, ciphertext)

    def derive_key_pair(self, ikm: bytes) -> HpkePrivateKey:
        return self.kem.derive_key_pair(ikm)

    def generate_hpke_key(self, random_bytes: RandomSource) -> HpkePrivateKey:
        return self.kem.generate_key_pair(random_bytes)

    def generate_signature_key(self, random_bytes: RandomSource) -> SignaturePrivateKey:
        return self.signature.generate(random_bytes)

    def signature_key(self, raw: bytes) -> SignaturePrivateKey:
        return SignaturePrivateKey.from_bytes(self.signature, raw)

    def hpke_key(self, raw: bytes) -> HpkePrivateKey:
        return HpkePrivateKey.from_bytes(self.kem, raw)

    def hpke_setup_sender(
        self, public_key: bytes, info: bytes, random_bytes: RandomSource
    ) -> tuple[bytes, HpkeContext]:
        return self.hpke.setup_base_s(public_key, info, random_bytes)

    def hpke_setup_receiver(self, enc: bytes, private_key: HpkePrivateKey, info: bytes) -> HpkeContext:
        return self.hpke.setup_base_r(enc, private_key, info)

    # -- labelled operations (RFC 9420 sections 5.1-5.2, 8) ------------------------------------

    def expand_with_label(self, secret: bytes, label: bytes, context: bytes, length: int) -> bytes:
        """ExpandWithLabel: KDF.Expand(Secret, KDFLabel{length, "MLS 1.0 " + Label, Context})."""
        kdf_label = length.to_bytes(2, "big") + _opaque(LABEL_PREFIX + label) + _opaque(context)
        return self.hash.expand(secret, kdf_label, length)

    def derive_secret(self, secret: bytes, label: bytes) -> bytes:
        """DeriveSecret(Secret, Label) = ExpandWithLabel(Secret, Label, "", Nh)."""
        return self.expand_with_label(secret, label, b"", self.hash.size)

    def derive_tree_secret(self, secret: bytes, label: bytes, generation: int, length: int) -> bytes:
        """DeriveTreeSecret: ExpandWithLabel with the generation as a uint32 context (§9)."""
        return self.expand_with_label(secret, label, generation.to_bytes(4, "big"), length)

    def ref_hash(self, label: bytes, value: bytes) -> bytes:
        """RefHash(label, value) = Hash(RefHashInput{label, value}) (section 5.2)."""
        return self.hash.digest(_opaque(label) + _opaque(value))

    @staticmethod
    def sign_content(label: bytes, content: bytes) -> bytes:
        """The SignContent struct that is actually signed (section 5.1.2)."""
        return _opaque(LABEL_PREFIX + label) + _opaque(content)

    def sign_with_label(self, key: SignaturePrivateKey, label: bytes, content: bytes) -> bytes:
        return key.sign(self.sign_content(label, content))

    def verify_with_label(self, public_key: bytes, label: bytes, content: bytes, signature: bytes) -> None:
        """Raise :class:`~enseal.errors.SignatureError` unless the signature is valid."""
        self.signature.verify(public_key, self.sign_content(label, content), signature)

    def encrypt_with_label(
        self, public_key: bytes, label: bytes, context: bytes, plaintext: bytes, random_bytes: RandomSource
    ) -> tuple[bytes, bytes]:
        """EncryptWithLabel: SealBase(pk, EncryptContext{label, context}, "", pt) -> (kem_output, ct)."""
        info = _opaque(LABEL_PREFIX + label) + _opaque(context)
        return self.hpke.seal(public_key, info, b"", plaintext, random_bytes)

    def decrypt_with_label(
        self, private_key: HpkePrivateKey, label: bytes, context: bytes, kem_output: bytes, ciphertext: bytes
    ) -> bytes:
        info = _opaque(LABEL_PREFIX + label) + _opaque(context)
        return self.hpke.open(kem_output, private_key, info, b"", ciphertext)


_SUITES: Final[dict[int, CipherSuite]] = {
    s.id: s
    for s in (
        CipherSuite(0x0001, "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519",
                    DhKem.X25519, HashAlgorithm.SHA256, AeadAlgorithm.AES_128_GCM, SignatureScheme.ED25519),
        CipherSuite(0x0002, "MLS_128_DHKEMP256_AES128GCM_SHA256_P256",
                    DhKem.P256, HashAlgorithm.SHA256, AeadAlgorithm.AES_128_GCM,
                    SignatureScheme.ECDSA_P256_SHA256),
        CipherSuite(0x0003, "MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519",
                    DhKem.X25519, HashAlgorithm.SHA256, AeadAlgorithm.CHACHA20_POLY1305,
                    SignatureScheme.ED25519),
        CipherSuite(0x0004, "MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448",
                    DhKem.X448, HashAlgorithm.SHA512, AeadAlgorithm.AES_256_GCM, SignatureScheme.ED448),
        CipherSuite(0x0005, "MLS_256_DHKEMP521_AES256GCM_SHA512_P521",
                    DhKem.P521, HashAlgorithm.SHA512, AeadAlgorithm.AES_256_GCM,
                    SignatureScheme.ECDSA_P521_SHA512),
        CipherSuite(0x0006, "MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448",
                    DhKem.X448, HashAlgorithm.SHA512, AeadAlgorithm.CHACHA20_POLY1305,
                    SignatureScheme.ED448),
        CipherSuite(0x0007, "MLS_256_DHKEMP384_AES256GCM_SHA384_P384",
                    DhKem.P384, HashAlgorithm.SHA384, AeadAlgorithm.AES_256_GCM,
                    SignatureScheme.ECDSA_P384_SHA384),
    )
}

SUPPORTED_SUITES: Final = tuple(sorted(_SUITES))
DEFAULT_SUITE_ID: Final = 0x0001


class UnsupportedCipherSuite(ValidationError):
    """A cipher suite code point Enseal does not implement."""


def cipher_suite(suite_id: int) -> CipherSuite:
    """The suite for ``suite_id``; :class:`UnsupportedCipherSuite` for anything else."""
    try:
        return _SUITES[suite_id]
    except KeyError:
        raise UnsupportedCipherSuite("unsupported cipher suite", f"0x{suite_id:04x}") from None
