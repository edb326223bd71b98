"""The error body of every refused HTTP request and WebSocket message (docs/protocol.md,
"Errors").

A refusal is a 4xx status with ``{"error": {"code", "reason", "detail", ...}}``: ``code`` is a
stable machine-readable :class:`ErrorCode`, ``reason`` the rule that was broken in words,
``detail`` the specific value. Policy refusals also list the policy ``reasons``; a commit
conflict carries ``current_epoch``.
"""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict, Field


class ErrorCode(Enum):
    """Stable error codes. New codes may be added within API version 1; none is ever reused."""

    INVALID_REQUEST = "invalid_request"
    """The body, a path or a query parameter does not validate (HTTP 422)."""
    BODY_TOO_LARGE = "body_too_large"
    UNAUTHENTICATED = "unauthenticated"
    """No credentials, or unknown, expired or revoked ones (HTTP 401)."""
    FORBIDDEN = "forbidden"
    """Authenticated, but this principal may not do this (HTTP 403)."""
    POLICY_DENIED = "policy_denied"
    """Refused by enhanced-encryption policy; ``reasons`` says why (HTTP 403)."""
    NOT_FOUND = "not_found"
    ALREADY_EXISTS = "already_exists"
    CONFLICT = "conflict"
    COMMIT_CONFLICT = "commit_conflict"
    """Another commit for this epoch won; ``current_epoch`` says which epoch is current (HTTP 409)."""
    POLICY_RULE = "policy_rule"
    """An admin action breaks a rule of the policy model (HTTP 400)."""
    INVALID_KEY_PACKAGE = "invalid_key_package"
    INVALID_SIGNATURE = "invalid_signature"
    INVALID_MESSAGE = "invalid_message"
    """An MLS or signalling message does not decode or breaks a protocol rule; ``reason`` names
    the rule (HTTP 400)."""
    ENROLLMENT_REFUSED = "enrollment_refused"
    CHALLENGE_REFUSED = "challenge_refused"
    RATE_LIMITED = "rate_limited"
    """Too many requests; ``retry_after`` seconds (HTTP 429)."""
    BAD_REQUEST = "bad_request"
    INTERNAL = "internal"
    """A bug on the server (HTTP 500); the fuzz tests prove none is reachable."""


class PolicyReasonBody(BaseModel):
    """One reason of a policy decision (see enseal.policy.Reason for the codes)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    message: str
    side: str | None = None
    user: str | None = None
    detail: str | None = None


class ErrorDetail(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: ErrorCode
    reason: str
    detail: str | None = None
    fields: list[str] | None = Field(default=None, description="offending fields, for invalid_request")
    reasons: list[PolicyReasonBody] | None = Field(default=None, description="for policy_denied")
    current_epoch: int | None = Field(default=None, description="for commit_conflict")
    retry_after: int | None = Field(default=None, description="seconds, for rate_limited")


class ErrorBody(BaseModel):
    """``{"error": {...}}``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    error: ErrorDetail
