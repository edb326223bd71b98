"""Runner for ``passive-client-welcome.json``, ``passive-client-handling-commit.json`` (and
``passive-client-random.json``): join from a Welcome, then follow every commit of the group,
comparing epoch authenticators (RFC 9420 §12.4)."""

from __future__ import annotations

from collections.abc import Iterator

from enseal.crypto import cipher_suite
from enseal.mls.framing import MLSMessage
from enseal.mls.group import Group, ProposalMessage, StagedCommit
from enseal.mls.group_config import GroupConfig
from enseal.mls.key_package import KeyPackage
from enseal.mls.key_package_bundle import KeyPackageBundle
from enseal.mls.tree_nodes import RatchetTreeExtension
from enseal.mls.wire import deserialize
from enseal.vectors.outcome import Case, VectorMismatch, expect_equal
from enseal.vectors.shape import has_keys, hexb, integer, items, list_cases, opt_hexb

NAME = "passive-client"
NOW = 1_700_000_000
"""A fixed "now" for KeyPackage lifetime checks, inside the vectors' lifetimes."""


def recognise(filename: str, data: object) -> bool:
    return filename.startswith(NAME) and has_keys(data, {"cipher_suite", "welcome", "epochs", "init_priv"})


def cases(data: object) -> Iterator[Case]:
    return list_cases(NAME, data)


def run(case: Case) -> None:
    d = case.data
    suite = cipher_suite(integer(d, "cipher_suite"))
    key_package = deserialize(MLSMessage, hexb(d, "key_package")).body
    assert isinstance(key_package, KeyPackage)
    bundle = KeyPackageBundle(
        key_package=key_package,
        ref=key_package.ref(suite),
        init_key=suite.hpke_key(hexb(d, "init_priv")),
        leaf_key=suite.hpke_key(hexb(d, "encryption_priv")),
        signer=suite.signature_key(hexb(d, "signature_priv")),
    )
    expect_equal("init key", bundle.init_key.public_key, key_package.init_key)
    expect_equal("leaf key", bundle.leaf_key.public_key, key_package.leaf_node.encryption_key)
    expect_equal("signature key", bundle.signer.public_key, key_package.leaf_node.signature_key)

    psks: dict[bytes, bytes] = {}
    for raw in items(d, "external_psks"):
        assert isinstance(raw, dict)
        psks[hexb(raw, "psk_id")] = hexb(raw, "psk")
    config = GroupConfig(external_psk=psks.get)
    tree_bytes = opt_hexb(d, "ratchet_tree")
    tree = deserialize(RatchetTreeExtension, tree_bytes).ratchet_tree if tree_bytes is not None else None
    group = Group.join(hexb(d, "welcome"), bundle, now=NOW, ratchet_tree=tree, config=config)
    expect_equal("initial epoch authenticator", group.epoch_authenticator, hexb(d, "initial_epoch_authenticator"))
    for index, raw_epoch in enumerate(items(d, "epochs")):
        assert isinstance(raw_epoch, dict)
        for proposal in items(raw_epoch, "proposals"):
            assert isinstance(proposal, str)
            if not isinstance(group.process(bytes.fromhex(proposal), now=NOW), ProposalMessage):
                raise VectorMismatch(f"epoch {index}: a proposal did not process as one")
        staged = group.process(hexb(raw_epoch, "commit"), now=NOW)
        if not isinstance(staged, StagedCommit):
            raise VectorMismatch(f"epoch {index}: the commit did not process as one")
        group.merge(staged)
        expect_equal(f"epoch {index} authenticator", group.epoch_authenticator, hexb(raw_epoch, "epoch_authenticator"))
