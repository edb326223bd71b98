"""Reading MLS messages at the delivery service's boundary (RFC 9420 sections 6, 12.4.3): decode
what a device posts, check its wire format, and turn every refusal of the MLS core into an
:class:`~enseal.server.errors.InvalidGroupMessage` that names the rule, so bad input is a 4xx
with a reason and never a 500. Signature failures stay :class:`~enseal.errors.CryptoError`
(``invalid_signature``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from enseal.errors import DecodeError, LocalProtocolError, ValidationError
from enseal.mls.code_points import ContentType
from enseal.mls.extensions import find_extension
from enseal.mls.framing import MLSMessage, PrivateMessage, PublicMessage
from enseal.mls.group_info import GroupInfo
from enseal.mls.key_package import KeyPackageRef
from enseal.mls.public_view import PublicCommit
from enseal.mls.tree_nodes import RatchetTreeExtension
from enseal.mls.welcome import Welcome
from enseal.mls.wire import deserialize, serialize
from enseal.server.errors import InvalidGroupMessage

log = logging.getLogger("enseal.server.delivery")


@contextmanager
def mls_refusals() -> Iterator[None]:
    """Map what the MLS core refuses to :class:`InvalidGroupMessage` with the core's reason."""
    try:
        yield
    except (DecodeError, ValidationError) as exc:
        raise InvalidGroupMessage(exc.reason, exc.detail) from exc
    except LocalProtocolError as exc:
        # Decoding builds frozen structures whose constructors refuse impossible combinations
        # (e.g. a sender type with content it may not send): malformed input, not misuse.
        log.info("MLS input refused by a structure check: %s", type(exc).__name__)
        raise InvalidGroupMessage("RFC 9420: malformed message", str(exc)[:200]) from exc


def decode_message(data: bytes) -> MLSMessage:
    with mls_refusals():
        return deserialize(MLSMessage, data)


def public_message(data: bytes) -> PublicMessage:
    """A handshake: an MLSMessage carrying a PublicMessage with a proposal or a commit."""
    body = decode_message(data).body
    if isinstance(body, PrivateMessage):
        raise InvalidGroupMessage("Enseal: handshake messages are PublicMessages the service can verify")
    if not isinstance(body, PublicMessage):
        raise InvalidGroupMessage("RFC 9420 §6: expected a PublicMessage", type(body).__name__)
    if body.content.content_type not in (ContentType.PROPOSAL, ContentType.COMMIT):
        raise InvalidGroupMessage("Enseal: application data travels as PrivateMessage to /messages")
    return body


def application_message(data: bytes) -> PrivateMessage:
    """An MLSMessage carrying a PrivateMessage of application data."""
    body = decode_message(data).body
    if not isinstance(body, PrivateMessage):
        raise InvalidGroupMessage("RFC 9420 §6: application messages are PrivateMessages", type(body).__name__)
    if body.content_type is not ContentType.APPLICATION:
        raise InvalidGroupMessage("Enseal: handshakes are PublicMessages posted to /handshake")
    return body


def group_info(data: bytes) -> GroupInfo:
    body = decode_message(data).body
    if not isinstance(body, GroupInfo):
        raise InvalidGroupMessage("RFC 9420 §12.4.3: expected an MLSMessage carrying a GroupInfo", type(body).__name__)
    return body


def ratchet_tree_of(info: GroupInfo) -> RatchetTreeExtension:
    with mls_refusals():
        tree = find_extension(info.extensions, RatchetTreeExtension)
    if tree is None:
        raise InvalidGroupMessage("Enseal: the GroupInfo must carry the ratchet_tree extension (RFC 9420 §12.4.3.3)")
    return tree


def welcome(data: bytes) -> Welcome:
    body = decode_message(data).body
    if not isinstance(body, Welcome):
        raise InvalidGroupMessage("RFC 9420 §12.4.3.1: expected an MLSMessage carrying a Welcome", type(body).__name__)
    return body


def check_new_group_info(data: bytes, commit: PublicCommit) -> None:
    """The GroupInfo sent with a commit must be the new epoch's, exactly as the service computed
    it: same GroupContext (epoch, tree hash, transcript hash, extensions) and confirmation tag,
    the committer as signer (signature verified), and the new ratchet tree."""
    info = group_info(data)
    staged = commit.staged
    if info.group_context.to_bytes() != staged.group_context.to_bytes():
        raise InvalidGroupMessage("RFC 9420 §12.4.3: the GroupInfo's GroupContext is not the new epoch's")
    if info.confirmation_tag != staged.confirmation_tag:
        raise InvalidGroupMessage("RFC 9420 §12.4.3: the GroupInfo's confirmation tag is not the commit's")
    if info.signer != staged.committer:
        raise InvalidGroupMessage("Enseal: the committer signs the new epoch's GroupInfo", f"signer {info.signer}")
    if serialize(ratchet_tree_of(info)) != serialize(staged.tree.to_extension()):
        raise InvalidGroupMessage("RFC 9420 §12.4.3.3: the GroupInfo's ratchet tree is not the new epoch's")
    leaf = staged.tree.leaf(staged.committer)
    assert leaf is not None  # the committer is a member of the new epoch
    info.verify_signature(staged.tree.suite, leaf.signature_key)


def check_welcome(data: bytes, commit: PublicCommit) -> None:
    """RFC 9420 §12.4.3.1: the Welcome carries secrets for exactly the KeyPackages the commit added."""
    parsed = welcome(data)
    if parsed.cipher_suite != commit.staged.group_context.cipher_suite:
        raise InvalidGroupMessage("RFC 9420 §12.4.3.1: the Welcome's cipher suite is not the group's")
    named = [bytes(secret.new_member) for secret in parsed.secrets]
    added: list[KeyPackageRef] = [kp.ref for _, kp in commit.staged.applied.added]
    if len(set(named)) != len(named) or set(named) != {bytes(ref) for ref in added}:
        raise InvalidGroupMessage("RFC 9420 §12.4.3.1: the Welcome must name exactly the KeyPackages the commit adds")
