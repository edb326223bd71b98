"""Named bounds of the enhanced-encryption policy model (ARCHITECTURE.md section 5: every list
that admin input can grow has a named bound). Decision record 0201 explains the values.
"""

from __future__ import annotations

from typing import Final

MAX_POLICY_NAME_LENGTH: Final = 64
"""Longest policy name, in characters."""

MAX_DESCRIPTION_LENGTH: Final = 1024
"""Longest policy description, in characters."""

MAX_IDENTIFIER_LENGTH: Final = 256
"""Longest tenant, user or group identifier, in characters."""

MAX_POLICIES_PER_TENANT: Final = 256
"""Most enhanced-encryption policies one tenant may define (the built-in 'Global' not counted)."""

MAX_GROUP_ASSIGNMENTS: Final = 256
"""Most group assignments one tenant may make; ranks run from 1 to this."""
