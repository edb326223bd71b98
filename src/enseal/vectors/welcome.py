"""Runner for ``welcome.json``: decrypt a Welcome, verify its GroupInfo signature and
confirmation tag (RFC 9420 §12.4.3.1)."""

from __future__ import annotations

from collections.abc import Iterator

from enseal.crypto import cipher_suite
from enseal.mls import key_schedule as ks
from enseal.mls import transcript
from enseal.mls.framing import MLSMessage
from enseal.mls.group_welcome import open_group_info, open_group_secrets
from enseal.mls.key_package import KeyPackage
from enseal.mls.welcome import Welcome
from enseal.mls.wire import deserialize
from enseal.vectors.outcome import Case
from enseal.vectors.shape import has_keys, hexb, integer, list_cases

NAME = "welcome"


def recognise(filename: str, data: object) -> bool:
    return filename.startswith(NAME) and has_keys(data, {"cipher_suite", "init_priv", "welcome", "signer_pub"})


def cases(data: object) -> Iterator[Case]:
    return list_cases(NAME, data)


def run(case: Case) -> None:
    d = case.data
    suite = cipher_suite(integer(d, "cipher_suite"))
    key_package = deserialize(MLSMessage, hexb(d, "key_package")).body
    welcome = deserialize(MLSMessage, hexb(d, "welcome")).body
    assert isinstance(key_package, KeyPackage) and isinstance(welcome, Welcome)
    secrets = open_group_secrets(suite, welcome, key_package_ref=key_package.ref(suite),
                                 init_key=suite.hpke_key(hexb(d, "init_priv")))
    joiner = ks.JoinerSecret(secrets.joiner_secret.reveal())
    group_info = open_group_info(suite, welcome, joiner_secret=joiner, psk_secret=None)
    group_info.verify_signature(suite, hexb(d, "signer_pub"))
    context = group_info.group_context
    secrets_of_epoch = ks.epoch_secrets(suite, joiner, None, context.to_bytes())
    transcript.verify_confirmation_tag(suite, secrets_of_epoch.confirmation_key, context.confirmed_transcript_hash,
                                       group_info.confirmation_tag)
