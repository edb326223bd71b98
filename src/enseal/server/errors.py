"""Errors the API raises and how every error becomes an HTTP response (docs/protocol.md,
"Errors"): a 4xx status and an :class:`~enseal.wire.ErrorBody` with a machine code and a human
reason. Anything unexpected is a 500 with code ``internal`` and is logged; the fuzz tests prove
no input reaches one.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from enseal.errors import (
    CommitConflictError,
    CryptoError,
    DecodeError,
    EnsealError,
    LocalProtocolError,
    RemoteProtocolError,
    ValidationError,
)
from enseal.policy import AssignmentNotFound, Explanation, PolicyDenied, PolicyInputError, UnknownPolicy
from enseal.storage import AlreadyExists, Conflict, NotFound, StorageUnavailable
from enseal.wire import ErrorBody, ErrorCode, ErrorDetail, PolicyReasonBody

log = logging.getLogger("enseal.server")

MAX_FIELD_ERRORS: Final = 20
"""Most offending fields listed in one invalid_request body."""


class Unauthenticated(RemoteProtocolError):
    """No credentials, or unknown, expired or revoked ones."""


class Forbidden(RemoteProtocolError):
    """The principal may not do this."""


class EnrollmentRefused(RemoteProtocolError):
    """The enrollment code does not enroll this device."""


class ChallengeRefused(RemoteProtocolError):
    """The sign-in challenge is unknown, expired, used, or its signature does not verify."""


class InvalidKeyPackage(RemoteProtocolError):
    """A published KeyPackage breaks a rule of RFC 9420 section 10.1 or of the key directory."""


class InvalidGroupMessage(RemoteProtocolError):
    """An MLS or signalling message does not decode or breaks a protocol rule (the reason names it)."""


class RateLimited(RemoteProtocolError):
    def __init__(self, reason: str, *, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(reason, f"retry after {retry_after} s")


def _body(status: int, detail: ErrorDetail, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        ErrorBody(error=detail).model_dump(mode="json", exclude_none=True), status_code=status, headers=headers
    )


def reason_bodies(explanations: tuple[Explanation, ...]) -> list[PolicyReasonBody]:
    """The wire form of a policy decision's explanations."""
    return [
        PolicyReasonBody(
            code=e.code,
            message=e.reason.message,
            side=None if e.side is None else e.side.value,
            user=e.user_id,
            detail=e.detail,
        )
        for e in explanations
    ]


_STATUS: Final[tuple[tuple[type[EnsealError], int, ErrorCode], ...]] = (
    # Most specific first.
    (Unauthenticated, 401, ErrorCode.UNAUTHENTICATED),
    (Forbidden, 403, ErrorCode.FORBIDDEN),
    (PolicyDenied, 403, ErrorCode.POLICY_DENIED),
    (EnrollmentRefused, 403, ErrorCode.ENROLLMENT_REFUSED),
    (ChallengeRefused, 401, ErrorCode.CHALLENGE_REFUSED),
    (UnknownPolicy, 404, ErrorCode.NOT_FOUND),
    (AssignmentNotFound, 404, ErrorCode.NOT_FOUND),
    (PolicyInputError, 400, ErrorCode.POLICY_RULE),
    (NotFound, 404, ErrorCode.NOT_FOUND),
    (AlreadyExists, 409, ErrorCode.ALREADY_EXISTS),
    (Conflict, 409, ErrorCode.CONFLICT),
    (CommitConflictError, 409, ErrorCode.COMMIT_CONFLICT),
    (RateLimited, 429, ErrorCode.RATE_LIMITED),
    (InvalidKeyPackage, 400, ErrorCode.INVALID_KEY_PACKAGE),
    (InvalidGroupMessage, 400, ErrorCode.INVALID_MESSAGE),
    (ValidationError, 422, ErrorCode.INVALID_REQUEST),
    (DecodeError, 400, ErrorCode.BAD_REQUEST),
    (RemoteProtocolError, 400, ErrorCode.BAD_REQUEST),
    (CryptoError, 400, ErrorCode.INVALID_SIGNATURE),
)


def classify(error: EnsealError) -> tuple[int, ErrorDetail]:
    """The HTTP status and error detail of an Enseal error (also used for WebSocket errors)."""
    if isinstance(error, StorageUnavailable | LocalProtocolError) or not isinstance(
        error, RemoteProtocolError | CryptoError
    ):
        log.error("internal error: %s", error, exc_info=error)
        if isinstance(error, StorageUnavailable):
            return 503, ErrorDetail(code=ErrorCode.INTERNAL, reason="the store is unavailable; retry later")
        return 500, ErrorDetail(code=ErrorCode.INTERNAL, reason="internal server error")
    for kind, status, code in _STATUS:
        if isinstance(error, kind):
            extra: dict[str, Any] = {}
            if isinstance(error, PolicyDenied):
                extra["reasons"] = reason_bodies(error.explanations)
            if isinstance(error, CommitConflictError):
                extra["current_epoch"] = error.current_epoch
            if isinstance(error, RateLimited):
                extra["retry_after"] = error.retry_after
            reason = error.reason if isinstance(error, RemoteProtocolError) else str(error)
            detail = error.detail if isinstance(error, RemoteProtocolError) else None
            return status, ErrorDetail(code=code, reason=reason, detail=detail, **extra)
    raise AssertionError("unreachable: RemoteProtocolError and CryptoError are listed")  # pragma: no cover


def error_response(error: EnsealError) -> JSONResponse:
    status, detail = classify(error)
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(error, RateLimited):
        headers["Retry-After"] = str(error.retry_after)
    return _body(status, detail, headers or None)


def _field_name(location: Any) -> str:
    return ".".join(str(part) for part in location)[:200]


async def _on_enseal_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, EnsealError)
    return error_response(error)


async def _on_validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = list(error.errors())[:MAX_FIELD_ERRORS]
    fields = [_field_name(problem.get("loc", ())) for problem in problems]
    messages = "; ".join(
        f"{name}: {str(problem.get('msg', ''))[:200]}" for name, problem in zip(fields, problems, strict=True)
    )
    return _body(
        422,
        ErrorDetail(
            code=ErrorCode.INVALID_REQUEST, reason="the request does not validate", detail=messages, fields=fields
        ),
    )


async def _on_http_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    code = {
        404: ErrorCode.NOT_FOUND,
        413: ErrorCode.BODY_TOO_LARGE,
    }.get(error.status_code, ErrorCode.BAD_REQUEST)
    return _body(
        error.status_code,
        ErrorDetail(code=code, reason=str(error.detail)[:300]),
        dict(error.headers) if error.headers else None,
    )


async def _on_unexpected(_request: Request, error: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=error)
    return _body(500, ErrorDetail(code=ErrorCode.INTERNAL, reason="internal server error"))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(EnsealError, _on_enseal_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)
