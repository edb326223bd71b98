"""Strict JSON encoding of the call signalling messages of :mod:`enseal.signalling.messages`.

Each message is one JSON object: ``{"v": 1, "type": "call.invite", "call_id": ..., ...}``.
Decoding is strict, as for every input from a peer (ARCHITECTURE.md section 5): at most
:data:`MAX_MESSAGE_BYTES`, UTF-8, one object, no duplicate keys, exactly the fields of the
type (unknown fields are refused, optional ones may be absent or ``null``), integers that are
integers (``true`` is not 1, no floats, no NaN), strings matching their patterns, binary fields
in canonical padded base64 within their bounds, enum values known. Every failure raises
:class:`~enseal.signalling.errors.MalformedSignallingMessage` naming the field.

:func:`message_to_json` / :func:`message_from_json` work on the parsed object, so the server
can embed a message in its WebSocket event envelope; :func:`encode_message` /
:func:`decode_message` work on bytes.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any, Final, TypeVar

from enseal.errors import LocalProtocolError
from enseal.signalling.call_state import EndReason
from enseal.signalling.candidates import MAX_CANDIDATES, Candidate, Endpoint
from enseal.signalling.connectivity_check import CALL_SECRET_SIZE
from enseal.signalling.errors import MalformedSignallingMessage
from enseal.signalling.messages import (
    MAX_CODECS,
    MAX_KEY_PACKAGE_SIZE,
    MAX_WELCOME_SIZE,
    MEDIA_KEY_SIZES,
    SIGNALLING_VERSION,
    CallAccept,
    CallCandidates,
    CallConnected,
    CallEncryption,
    CallEnd,
    CallInvite,
    CallMediaKey,
    CallMessage,
    CallRinging,
    CallWelcome,
    MediaOffer,
)

MAX_MESSAGE_BYTES: Final = 96 * 1024
"""Largest encoded message (a Welcome of MAX_WELCOME_SIZE in base64 and its envelope fit)."""

MAX_STRING_LENGTH: Final = 128
"""Longest plain string field (ids, addresses, codec names, enum values)."""

MESSAGE_TYPES: Final[dict[type[Any], str]] = {
    CallInvite: "call.invite",
    CallRinging: "call.ringing",
    CallAccept: "call.accept",
    CallWelcome: "call.welcome",
    CallMediaKey: "call.media_key",
    CallCandidates: "call.candidates",
    CallConnected: "call.connected",
    CallEnd: "call.end",
}
"""The ``type`` of each message."""

Json = dict[str, Any]
_E = TypeVar("_E", CallEncryption, EndReason)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _media(offer: MediaOffer) -> Json:
    return {"audio": list(offer.audio_codecs), "video": list(offer.video_codecs)}


def _candidate(candidate: Candidate) -> Json:
    return {
        "address": candidate.endpoint.address,
        "port": candidate.endpoint.port,
        "priority": candidate.priority,
    }


def message_to_json(message: CallMessage) -> Json:
    """The JSON object of ``message``."""
    out: Json = {"v": SIGNALLING_VERSION, "type": MESSAGE_TYPES[type(message)], "call_id": message.call_id}
    match message:
        case CallInvite():
            out |= {
                "callee": message.callee,
                "media": _media(message.media),
                "e2ee_capable": message.e2ee_capable,
                "call_secret": _b64(message.call_secret),
                "encryption": None if message.encryption is None else message.encryption.value,
            }
        case CallRinging():
            out["encryption"] = message.encryption.value
        case CallAccept():
            out["media"] = _media(message.media)
            out["key_package"] = None if message.key_package is None else _b64(message.key_package)
        case CallWelcome():
            out["welcome"] = _b64(message.welcome)
        case CallMediaKey():
            out["media_key"] = _b64(message.media_key)
        case CallCandidates():
            out["candidates"] = [_candidate(c) for c in message.candidates]
        case CallConnected():
            pass
        case CallEnd():
            out["reason"] = message.reason.value
    return out


def encode_message(message: CallMessage) -> bytes:
    """Compact UTF-8 JSON of ``message`` (keys sorted, so equal messages give equal bytes)."""
    return json.dumps(message_to_json(message), sort_keys=True, separators=(",", ":")).encode("utf-8")


# -- decoding ---------------------------------------------------------------------------------


def _bad(reason: str, detail: str | None = None) -> MalformedSignallingMessage:
    return MalformedSignallingMessage(reason, detail)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> Json:
    obj: Json = {}
    for key, value in pairs:
        if key in obj:
            raise _bad("signalling message repeats a key", key[:MAX_STRING_LENGTH])
        obj[key] = value
    return obj


def _no_float(text: str) -> Any:
    raise _bad("signalling messages carry no fractional numbers", text[:32])


def _no_constant(text: str) -> Any:
    raise _bad("signalling messages carry no NaN or Infinity", text)


def decode_message(data: bytes | str) -> CallMessage:
    """Strictly decode one message from its JSON text."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > MAX_MESSAGE_BYTES:
        raise _bad("signalling message too large", f"{len(raw)} bytes, at most {MAX_MESSAGE_BYTES}")
    try:
        text = raw.decode("utf-8")
        obj = json.loads(text, object_pairs_hook=_no_duplicates, parse_float=_no_float, parse_constant=_no_constant)
    except UnicodeDecodeError as exc:
        raise _bad("signalling message is not UTF-8") from exc
    except (ValueError, RecursionError) as exc:
        raise _bad("signalling message is not JSON", str(exc)[:120]) from exc
    return message_from_json(obj)


def _fields(obj: Json, required: frozenset[str], optional: frozenset[str] = frozenset()) -> None:
    keys = set(obj)
    missing = required - keys
    unknown = keys - required - optional
    if missing:
        raise _bad("signalling message lacks a field", ", ".join(sorted(missing)))
    if unknown:
        raise _bad("signalling message has an unknown field", ", ".join(sorted(k[:32] for k in unknown))[:200])


def _string(obj: Json, key: str) -> str:
    value = obj[key]
    if not isinstance(value, str):
        raise _bad(f"{key} must be a string")
    if len(value) > MAX_STRING_LENGTH:
        raise _bad(f"{key} is longer than {MAX_STRING_LENGTH} characters")
    return value


def _bool(obj: Json, key: str) -> bool:
    value = obj[key]
    if not isinstance(value, bool):
        raise _bad(f"{key} must be true or false")
    return value


def _integer(value: Any, key: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _bad(f"{key} must be an integer")
    return value


def _binary(obj: Json, key: str, max_size: int) -> bytes:
    value = obj[key]
    if not isinstance(value, str) or len(value) > 4 * (max_size // 3 + 1):
        raise _bad(f"{key} must be base64 of at most {max_size} bytes")
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _bad(f"{key} is not valid base64") from exc
    if _b64(decoded) != value:
        raise _bad(f"{key} is not canonical base64")
    return decoded


def _enum(obj: Json, key: str, enum_type: type[_E]) -> _E:
    value = _string(obj, key)
    try:
        return enum_type(value)
    except ValueError as exc:
        raise _bad(f"unknown {key}", value) from exc


def _list(value: Any, key: str, bound: int) -> list[Any]:
    if not isinstance(value, list):
        raise _bad(f"{key} must be a list")
    if len(value) > bound:
        raise _bad(f"{key} lists more than {bound} items")
    return value


def _object(value: Any, key: str) -> Json:
    if not isinstance(value, dict):
        raise _bad(f"{key} must be an object")
    return value


def _media_offer(obj: Json) -> MediaOffer:
    media = _object(obj["media"], "media")
    _fields(media, frozenset({"audio", "video"}))
    codecs = []
    for kind in ("audio", "video"):
        names = _list(media[kind], f"media.{kind}", MAX_CODECS)
        if not all(isinstance(name, str) and len(name) <= MAX_STRING_LENGTH for name in names):
            raise _bad(f"media.{kind} must list codec names")
        codecs.append(tuple(names))
    return MediaOffer(audio_codecs=codecs[0], video_codecs=codecs[1])


def _candidates(obj: Json) -> tuple[Candidate, ...]:
    out = []
    for item in _list(obj["candidates"], "candidates", MAX_CANDIDATES):
        entry = _object(item, "candidate")
        _fields(entry, frozenset({"address", "port", "priority"}))
        endpoint = Endpoint(address=_string(entry, "address"), port=_integer(entry["port"], "port"))
        out.append(Candidate(endpoint=endpoint, priority=_integer(entry["priority"], "priority")))
    return tuple(out)


def _invite(call_id: str, obj: Json) -> CallInvite:
    _fields(obj, frozenset({"callee", "media", "e2ee_capable", "call_secret"}), frozenset({"encryption"}))
    encryption = obj.get("encryption")
    return CallInvite(
        call_id=call_id,
        callee=_string(obj, "callee"),
        media=_media_offer(obj),
        e2ee_capable=_bool(obj, "e2ee_capable"),
        call_secret=_binary(obj, "call_secret", CALL_SECRET_SIZE),
        encryption=None if encryption is None else _enum(obj, "encryption", CallEncryption),
    )


def _ringing(call_id: str, obj: Json) -> CallRinging:
    _fields(obj, frozenset({"encryption"}))
    return CallRinging(call_id=call_id, encryption=_enum(obj, "encryption", CallEncryption))


def _accept(call_id: str, obj: Json) -> CallAccept:
    _fields(obj, frozenset({"media"}), frozenset({"key_package"}))
    key_package = None if obj.get("key_package") is None else _binary(obj, "key_package", MAX_KEY_PACKAGE_SIZE)
    return CallAccept(call_id=call_id, media=_media_offer(obj), key_package=key_package)


def _welcome(call_id: str, obj: Json) -> CallWelcome:
    _fields(obj, frozenset({"welcome"}))
    return CallWelcome(call_id=call_id, welcome=_binary(obj, "welcome", MAX_WELCOME_SIZE))


def _media_key(call_id: str, obj: Json) -> CallMediaKey:
    _fields(obj, frozenset({"media_key"}))
    return CallMediaKey(call_id=call_id, media_key=_binary(obj, "media_key", max(MEDIA_KEY_SIZES)))


def _candidates_message(call_id: str, obj: Json) -> CallCandidates:
    _fields(obj, frozenset({"candidates"}))
    return CallCandidates(call_id=call_id, candidates=_candidates(obj))


def _connected(call_id: str, obj: Json) -> CallConnected:
    _fields(obj, frozenset())
    return CallConnected(call_id=call_id)


def _end(call_id: str, obj: Json) -> CallEnd:
    _fields(obj, frozenset({"reason"}))
    return CallEnd(call_id=call_id, reason=_enum(obj, "reason", EndReason))


_DECODERS: Final[dict[str, Callable[[str, Json], CallMessage]]] = {
    "call.invite": _invite,
    "call.ringing": _ringing,
    "call.accept": _accept,
    "call.welcome": _welcome,
    "call.media_key": _media_key,
    "call.candidates": _candidates_message,
    "call.connected": _connected,
    "call.end": _end,
}
_HEADER: Final = frozenset({"v", "type", "call_id"})


def message_from_json(obj: object) -> CallMessage:
    """Strictly decode one message from its parsed JSON object."""
    if not isinstance(obj, dict):
        raise _bad("a signalling message is a JSON object")
    if not set(obj) >= _HEADER:
        raise _bad("signalling message lacks a field", ", ".join(sorted(_HEADER - set(obj))))
    if _integer(obj["v"], "v") != SIGNALLING_VERSION:
        raise _bad("unknown signalling version", str(obj["v"])[:20])
    decoder = _DECODERS.get(_string(obj, "type"))
    if decoder is None:
        raise _bad("unknown signalling message type", obj["type"])
    call_id = _string(obj, "call_id")
    try:
        return decoder(call_id, {k: v for k, v in obj.items() if k not in _HEADER})
    except LocalProtocolError as exc:
        # A field decoded but its value breaks a rule of the message type (pattern, bound, ...).
        raise _bad("signalling message field out of bounds", str(exc)[:200]) from exc
