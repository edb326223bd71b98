"""The MLS key schedule (RFC 9420 section 8): from init, commit and PSK secrets to the epoch's
secrets, plus the welcome key (section 12.4.3.1), the external key pair (section 8.3), external
initialization (section 8.3), the exporter (section 8.5) and the epoch authenticator (section 8.7).

Each secret has its own type so one cannot be passed where another is expected. "Deleting" a
consumed secret (section 9.2) means dropping the last reference: nothing here keeps secrets
beyond the objects that own them.
"""

from __future__ import annotations

from dataclasses import dataclass

from enseal.crypto import CipherSuite, HpkePrivateKey, RandomSource, Secret


class InitSecret(Secret):
    """init_secret of an epoch: the input to the next epoch's key schedule."""


class CommitSecret(Secret):
    """commit_secret: from the UpdatePath's root path secret, or zero without a path."""


class JoinerSecret(Secret):
    """joiner_secret: what a Welcome gives a new member (section 8)."""


class PskSecret(Secret):
    """psk_secret: the chained PSKs of a commit (section 8.4), or zero."""


class WelcomeSecret(Secret):
    """welcome_secret: keys the encryption of a Welcome's GroupInfo."""


class EpochSecret(Secret):
    """epoch_secret: the root of an epoch's derived secrets."""


class SenderDataSecret(Secret):
    """sender_data_secret: keys PrivateMessage sender-data encryption (section 6.3.2)."""


class EncryptionSecret(Secret):
    """encryption_secret: root of the secret tree (section 9)."""


class ExporterSecret(Secret):
    """exporter_secret: input of MLS-Exporter (section 8.5)."""


class ExternalSecret(Secret):
    """external_secret: seeds the external HPKE key pair (section 8)."""


class ConfirmationKey(Secret):
    """confirmation_key: MAC key of the commit's confirmation tag (section 8.2)."""


class MembershipKey(Secret):
    """membership_key: MAC key of members' PublicMessage membership tags (section 6.2)."""


class ResumptionPsk(Secret):
    """resumption_psk: proves membership in this epoch later (section 8.6)."""


class EpochAuthenticator(Secret):
    """epoch_authenticator: compared by members to detect impersonation (section 8.7)."""


def zero_secret(suite: CipherSuite) -> bytes:
    """The all-zero string of length KDF.Nh ("0" in the section 8 diagram)."""
    return bytes(suite.hash_size)


def joiner_secret(
    suite: CipherSuite, init_secret: InitSecret, commit_secret: CommitSecret, group_context: bytes
) -> JoinerSecret:
    """ExpandWithLabel(Extract(init_secret, commit_secret), "joiner", GroupContext_[n], Nh)."""
    prk = suite.extract(init_secret.reveal(), commit_secret.reveal())
    return JoinerSecret(suite.expand_with_label(prk, b"joiner", group_context, suite.hash_size))


def _member_secret(suite: CipherSuite, joiner: JoinerSecret, psk_secret: PskSecret | None) -> bytes:
    psk = psk_secret.reveal() if psk_secret is not None else zero_secret(suite)
    return suite.extract(joiner.reveal(), psk)


def welcome_secret(suite: CipherSuite, joiner: JoinerSecret, psk_secret: PskSecret | None) -> WelcomeSecret:
    """DeriveSecret(Extract(joiner_secret, psk_secret), "welcome")."""
    return WelcomeSecret(suite.derive_secret(_member_secret(suite, joiner, psk_secret), b"welcome"))


def welcome_key_nonce(suite: CipherSuite, welcome: WelcomeSecret) -> tuple[bytes, bytes]:
    """welcome_key and welcome_nonce (section 12.4.3.1)."""
    secret = welcome.reveal()
    return (
        suite.expand_with_label(secret, b"key", b"", suite.key_size),
        suite.expand_with_label(secret, b"nonce", b"", suite.nonce_size),
    )


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class EpochSecrets:
    """Everything derived from one epoch_secret (section 8, table "Epoch-Derived Secrets")."""

    suite: CipherSuite
    sender_data_secret: SenderDataSecret
    encryption_secret: EncryptionSecret
    exporter_secret: ExporterSecret
    external_secret: ExternalSecret
    confirmation_key: ConfirmationKey
    membership_key: MembershipKey
    resumption_psk: ResumptionPsk
    epoch_authenticator: EpochAuthenticator
    init_secret: InitSecret
    """The init_secret_[n] that seeds the *next* epoch."""

    def __repr__(self) -> str:
        return f"EpochSecrets({self.suite.name}, <secrets hidden>)"

    def external_key_pair(self) -> HpkePrivateKey:
        """external_priv, external_pub = KEM.DeriveKeyPair(external_secret)."""
        return self.suite.derive_key_pair(self.external_secret.reveal())

    def export(self, label: bytes, context: bytes, length: int) -> bytes:
        """MLS-Exporter(Label, Context, Length) (section 8.5)."""
        return mls_exporter(self.suite, self.exporter_secret, label, context, length)


def mls_exporter(
    suite: CipherSuite, exporter_secret: ExporterSecret, label: bytes, context: bytes, length: int
) -> bytes:
    """ExpandWithLabel(DeriveSecret(exporter_secret, Label), "exported", Hash(Context), Length)."""
    derived = suite.derive_secret(exporter_secret.reveal(), label)
    return suite.expand_with_label(derived, b"exported", suite.digest(context), length)


def epoch_secrets(
    suite: CipherSuite, joiner: JoinerSecret, psk_secret: PskSecret | None, group_context: bytes
) -> EpochSecrets:
    """The epoch_secret from the joiner secret and everything derived from it."""
    member = _member_secret(suite, joiner, psk_secret)
    epoch = EpochSecret(suite.expand_with_label(member, b"epoch", group_context, suite.hash_size))
    return derive_epoch_secrets(suite, epoch)


def derive_epoch_secrets(suite: CipherSuite, epoch_secret: EpochSecret) -> EpochSecrets:
    """Every secret derived from ``epoch_secret`` (a group's creator draws it at random, section 11)."""
    epoch = epoch_secret.reveal()

    def derive(label: bytes) -> bytes:
        return suite.derive_secret(epoch, label)

    return EpochSecrets(
        suite=suite,
        sender_data_secret=SenderDataSecret(derive(b"sender data")),
        encryption_secret=EncryptionSecret(derive(b"encryption")),
        exporter_secret=ExporterSecret(derive(b"exporter")),
        external_secret=ExternalSecret(derive(b"external")),
        confirmation_key=ConfirmationKey(derive(b"confirm")),
        membership_key=MembershipKey(derive(b"membership")),
        resumption_psk=ResumptionPsk(derive(b"resumption")),
        epoch_authenticator=EpochAuthenticator(derive(b"authentication")),
        init_secret=InitSecret(derive(b"init")),
    )


def advance(
    suite: CipherSuite,
    init_secret: InitSecret,
    commit_secret: CommitSecret,
    psk_secret: PskSecret | None,
    group_context: bytes,
) -> tuple[JoinerSecret, EpochSecrets]:
    """One full step of the key schedule: previous init secret to this epoch's secrets."""
    joiner = joiner_secret(suite, init_secret, commit_secret, group_context)
    return joiner, epoch_secrets(suite, joiner, psk_secret, group_context)


EXTERNAL_INIT_LABEL = b"MLS 1.0 external init secret"


def external_init_sender(
    suite: CipherSuite, external_pub: bytes, random_bytes: RandomSource
) -> tuple[bytes, InitSecret]:
    """Joiner side of section 8.3: ``(kem_output, init_secret)``."""
    kem_output, context = suite.hpke_setup_sender(external_pub, b"", random_bytes)
    return kem_output, InitSecret(context.export(EXTERNAL_INIT_LABEL, suite.hash_size))


def external_init_receiver(
    suite: CipherSuite, external_priv: HpkePrivateKey, kem_output: bytes
) -> InitSecret:
    """Member side of section 8.3: the init_secret from an ExternalInit proposal's kem_output."""
    context = suite.hpke_setup_receiver(kem_output, external_priv, b"")
    return InitSecret(context.export(EXTERNAL_INIT_LABEL, suite.hash_size))
