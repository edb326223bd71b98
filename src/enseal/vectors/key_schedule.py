"""Runner for ``key-schedule.json``: epoch secrets, exporter and external key (RFC 9420 §8)."""

from __future__ import annotations

from collections.abc import Iterator

from enseal.crypto import cipher_suite
from enseal.mls import key_schedule as ks
from enseal.vectors.outcome import Case, expect_equal
from enseal.vectors.shape import has_keys, hexb, integer, items, list_cases, sub

NAME = "key-schedule"


def recognise(filename: str, data: object) -> bool:
    return filename.startswith(NAME) and has_keys(data, {"cipher_suite", "epochs", "initial_init_secret"})


def cases(data: object) -> Iterator[Case]:
    return list_cases(NAME, data)


def run(case: Case) -> None:
    suite = cipher_suite(integer(case.data, "cipher_suite"))
    init_secret = ks.InitSecret(hexb(case.data, "initial_init_secret"))
    for index, raw in enumerate(items(case.data, "epochs")):
        assert isinstance(raw, dict)
        epoch: dict[str, object] = raw
        where = f"epoch {index}"
        group_context = hexb(epoch, "group_context")
        joiner, secrets = ks.advance(
            suite,
            init_secret,
            ks.CommitSecret(hexb(epoch, "commit_secret")),
            ks.PskSecret(hexb(epoch, "psk_secret")),
            group_context,
        )
        expect_equal(f"{where} joiner_secret", joiner.reveal(), hexb(epoch, "joiner_secret"))
        welcome = ks.welcome_secret(suite, joiner, ks.PskSecret(hexb(epoch, "psk_secret")))
        expect_equal(f"{where} welcome_secret", welcome.reveal(), hexb(epoch, "welcome_secret"))
        for name in (
            "sender_data_secret", "encryption_secret", "exporter_secret", "external_secret",
            "confirmation_key", "membership_key", "resumption_psk", "epoch_authenticator", "init_secret",
        ):
            expect_equal(f"{where} {name}", getattr(secrets, name).reveal(), hexb(epoch, name))
        expect_equal(f"{where} external_pub", secrets.external_key_pair().public_key, hexb(epoch, "external_pub"))
        exporter = sub(epoch, "exporter")
        # The exporter label is a string (here one that looks like hex); it is used as its bytes.
        label = str(exporter["label"]).encode()
        exported = secrets.export(label, hexb(exporter, "context"), integer(exporter, "length"))
        expect_equal(f"{where} exporter", exported, hexb(exporter, "secret"))
        init_secret = secrets.init_secret
