"""Group information for joiners (RFC 9420 section 12.4.3): ``GroupInfo`` and ``GroupInfoTBS``.

"New members also MUST verify the signature using the public key taken from the leaf node of
the ratchet tree with leaf index signer": :meth:`GroupInfo.verify_signature`. Unknown extensions
in ``GroupInfo.extensions`` are carried ("MUST be ignored").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Self

from enseal.codec import Reader, Writer
from enseal.crypto import CipherSuite, SignaturePrivateKey
from enseal.errors import CryptoError, SignatureError
from enseal.mls.extensions import Extension, read_extensions, write_extensions
from enseal.mls.group_context import GroupContext
from enseal.types import LeafIndex

GROUP_INFO_TBS_LABEL: Final = b"GroupInfoTBS"


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupInfo:
    """``GroupInfo``. Decoding does not check the signature."""

    group_context: GroupContext
    extensions: tuple[Extension, ...] = ()
    confirmation_tag: bytes
    signer: LeafIndex
    signature: bytes

    def _encode_tbs(self, w: Writer) -> None:
        self.group_context.encode(w)
        write_extensions(w, self.extensions)
        w.opaque(self.confirmation_tag)
        w.u32(self.signer)

    def encode(self, w: Writer) -> None:
        self._encode_tbs(w)
        w.opaque(self.signature)

    @classmethod
    def decode(cls, r: Reader) -> Self:
        return cls(
            group_context=GroupContext.decode(r),
            extensions=read_extensions(r),
            confirmation_tag=r.opaque(),
            signer=LeafIndex(r.u32()),
            signature=r.opaque(),
        )

    def tbs(self) -> bytes:
        """The encoded ``GroupInfoTBS`` (every field but the signature)."""
        w = Writer()
        self._encode_tbs(w)
        return w.getvalue()

    def verify_signature(self, suite: CipherSuite, signer_signature_key: bytes) -> None:
        """Raise :class:`SignatureError` unless signed by ``signer_signature_key`` (the
        signature key of leaf ``signer`` in the group's ratchet tree)."""
        try:
            suite.verify_with_label(signer_signature_key, GROUP_INFO_TBS_LABEL, self.tbs(), self.signature)
        except (SignatureError, CryptoError) as exc:
            raise SignatureError("RFC 9420 §12.4.3: GroupInfo signature invalid") from exc

    @classmethod
    def sign(
        cls,
        suite: CipherSuite,
        signing_key: SignaturePrivateKey,
        *,
        group_context: GroupContext,
        extensions: Sequence[Extension] = (),
        confirmation_tag: bytes,
        signer: LeafIndex,
    ) -> GroupInfo:
        unsigned = cls(group_context=group_context, extensions=tuple(extensions),
                       confirmation_tag=confirmation_tag, signer=signer, signature=b"")
        signature = suite.sign_with_label(signing_key, GROUP_INFO_TBS_LABEL, unsigned.tbs())
        return cls(group_context=group_context, extensions=unsigned.extensions,
                   confirmation_tag=confirmation_tag, signer=signer, signature=signature)
