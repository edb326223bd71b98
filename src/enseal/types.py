"""Distinct integer and byte types shared by every layer (ARCHITECTURE.md section 3, L0).

``NewType`` gives the type checker distinct names for values that are plain ints or bytes at
run time, so a node index cannot be passed where a leaf index is expected.
"""

from __future__ import annotations

from typing import NewType

LeafIndex = NewType("LeafIndex", int)
"""Index of a leaf in a ratchet tree, counting leaves only (RFC 9420 section 4.1)."""

NodeIndex = NewType("NodeIndex", int)
"""Index of a node in the array representation of a tree (RFC 9420 appendix C)."""

Epoch = NewType("Epoch", int)
"""An MLS epoch number (uint64)."""

Generation = NewType("Generation", int)
"""A position in a secret-tree hash ratchet (uint32, RFC 9420 section 9)."""

CipherSuiteId = NewType("CipherSuiteId", int)
"""An MLS cipher suite code point (RFC 9420 section 17.1)."""

GroupId = NewType("GroupId", bytes)
"""An MLS group identifier."""

SFrameKeyId = NewType("SFrameKeyId", int)
"""An SFrame KID (RFC 9605 section 4.3)."""

UINT8_MAX = 0xFF
UINT16_MAX = 0xFFFF
UINT32_MAX = 0xFFFF_FFFF
UINT64_MAX = 0xFFFF_FFFF_FFFF_FFFF
