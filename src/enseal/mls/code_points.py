"""Code points of RFC 9420: the protocol's enums (sections 6, 7, 8.4, 12) and the IANA registries
of section 17 (wire formats, extension, proposal and credential types).

Enums whose unknown values make a structure undecodable (wire format, content type, sender type,
proposal type, credential type, node type, ...) are strict: decoding an unknown value is a
:class:`~enseal.errors.DecodeError` (see :func:`enseal.mls.wire.read_enum`). Extension types and
the lists in ``Capabilities`` and ``RequiredCapabilities`` are carried as plain ints, because the
RFC requires unknown (and GREASE) values there to be ignored and to round-trip (section 13.4).
"""

from __future__ import annotations

from enum import IntEnum
from typing import Final


class ProtocolVersion(IntEnum):
    """``ProtocolVersion`` (section 6); ``reserved(0)`` is never valid."""

    MLS10 = 1


class WireFormat(IntEnum):
    """The "MLS Wire Formats" registry (section 17.2)."""

    PUBLIC_MESSAGE = 0x0001
    PRIVATE_MESSAGE = 0x0002
    WELCOME = 0x0003
    GROUP_INFO = 0x0004
    KEY_PACKAGE = 0x0005


class ContentType(IntEnum):
    """``ContentType`` of FramedContent (section 6)."""

    APPLICATION = 1
    PROPOSAL = 2
    COMMIT = 3


class SenderType(IntEnum):
    """``SenderType`` (section 6)."""

    MEMBER = 1
    EXTERNAL = 2
    NEW_MEMBER_PROPOSAL = 3
    NEW_MEMBER_COMMIT = 4


class ProposalType(IntEnum):
    """The "MLS Proposal Types" registry (section 17.4)."""

    ADD = 0x0001
    UPDATE = 0x0002
    REMOVE = 0x0003
    PSK = 0x0004
    REINIT = 0x0005
    EXTERNAL_INIT = 0x0006
    GROUP_CONTEXT_EXTENSIONS = 0x0007


class CredentialType(IntEnum):
    """The "MLS Credential Types" registry (section 17.5)."""

    BASIC = 0x0001
    X509 = 0x0002


class ExtensionType(IntEnum):
    """The "MLS Extension Types" registry (section 17.3). Extension fields hold plain ints;
    these are the types this implementation understands."""

    APPLICATION_ID = 0x0001
    RATCHET_TREE = 0x0002
    REQUIRED_CAPABILITIES = 0x0003
    EXTERNAL_PUB = 0x0004
    EXTERNAL_SENDERS = 0x0005


class LeafNodeSource(IntEnum):
    """``LeafNodeSource`` (section 7.2)."""

    KEY_PACKAGE = 1
    UPDATE = 2
    COMMIT = 3


class NodeType(IntEnum):
    """``NodeType`` of ``Node`` and ``TreeHashInput`` (sections 7.8, 12.4.3.3)."""

    LEAF = 1
    PARENT = 2


class PSKType(IntEnum):
    """``PSKType`` (section 8.4)."""

    EXTERNAL = 1
    RESUMPTION = 2


class ResumptionPSKUsage(IntEnum):
    """``ResumptionPSKUsage`` (section 8.4)."""

    APPLICATION = 1
    REINIT = 2
    BRANCH = 3


class ProposalOrRefType(IntEnum):
    """``ProposalOrRefType`` (section 12.4)."""

    PROPOSAL = 1
    REFERENCE = 2


GREASE_VALUES: Final = frozenset(0x0A0A + 0x1010 * i for i in range(15))
"""Section 13.5: 0x0A0A, 0x1A1A, ..., 0xEAEA, reserved in every registry for GREASE."""

DEFAULT_PROPOSAL_TYPES: Final = frozenset(int(t) for t in ProposalType)
"""Section 7.2: proposal types every client implements; they "MUST NOT be listed" in capabilities."""

DEFAULT_EXTENSION_TYPES: Final = frozenset(int(t) for t in ExtensionType)
"""Section 7.2: extension types every client implements; they "MUST NOT be listed" in capabilities."""

EXTERNAL_SENDER_PROPOSAL_TYPES: Final = frozenset(
    {
        ProposalType.ADD,
        ProposalType.REMOVE,
        ProposalType.PSK,
        ProposalType.REINIT,
        ProposalType.GROUP_CONTEXT_EXTENSIONS,
    }
)
"""Section 12.1.8: the proposal types an ``external`` sender may send (the "Ext" column)."""

PATH_REQUIRED_PROPOSAL_TYPES: Final = frozenset(
    {
        ProposalType.UPDATE,
        ProposalType.REMOVE,
        ProposalType.EXTERNAL_INIT,
        ProposalType.GROUP_CONTEXT_EXTENSIONS,
    }
)
"""Section 12.4: proposal types whose Commit must carry an UpdatePath (the "Path" column)."""
