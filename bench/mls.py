"""MLS group operations at several group sizes, on a full tree and on a fresh one.

    python bench/mls.py [--json] [--sizes 2,16,128,1024] [--suite 1] [--repeat 5]
    enseal bench mls --sizes 2,16,128,1024 --json

For each size n it reports the median wall time (ms) of:

* ``build``: one commit adding n-1 members (KeyPackages validated), merged by the creator;
* ``update_commit``: a self-update commit (with UpdatePath) created by a member;
* ``update_process``: that commit processed (verified, path decrypted, key schedule) by another
  member;
* ``add_commit``: a commit adding one member, with its Welcome;
* ``welcome_join``: the new member joining from that Welcome (tree validated in full);
* ``external_join``: a new member creating an external commit from a GroupInfo (tree validated);
* ``app_encrypt`` / ``app_decrypt``: a 100-byte application message.

Two tree shapes: ``fresh`` is the group right after the build commit (parent nodes blank except
the creator's path, so a member's UpdatePath encrypts to many leaves); ``full`` has every parent
node set (every copath resolution is one node), built by applying UpdatePaths for every second
leaf with the real TreeKEM code and giving each member the private keys of its direct path.

JSON goes to stdout with ``--json``; a table always goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from enseal.crypto import CipherSuite, HpkePrivateKey, SignaturePrivateKey, cipher_suite, system_random
from enseal.mls import key_schedule as ks
from enseal.mls import transcript, tree_math
from enseal.mls.credential import BasicCredential
from enseal.mls.group import Group
from enseal.mls.group_config import GroupConfig
from enseal.mls.group_context import GroupContext
from enseal.mls.group_state import EpochState
from enseal.mls.key_package_bundle import KeyPackageBundle
from enseal.mls.proposals import Add
from enseal.mls.public_epoch import PublicEpoch
from enseal.mls.ratchet_tree import RatchetTree
from enseal.mls.tree_private_keys import TreePrivateKeys
from enseal.mls.treekem import create_update_path
from enseal.types import CipherSuiteId, Epoch, LeafIndex, NodeIndex

NOW = int(time.time())
TARGETS_MS = {"update_commit": 10.0, "update_process": 5.0, "welcome_join": 300.0}
"""Issue 4's targets at n = 1,000, full tree, suite 1."""


@dataclass
class Client:
    name: str
    signer: SignaturePrivateKey
    credential: BasicCredential
    bundle: KeyPackageBundle


def make_client(suite: CipherSuite, name: str) -> Client:
    signer = suite.generate_signature_key(system_random)
    credential = BasicCredential(identity=name.encode())
    return Client(name, signer, credential,
                  KeyPackageBundle.create(suite, signer, credential, rng=system_random, now=NOW))


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return (time.perf_counter() - start) * 1000, result


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    return statistics.median(timed(fn)[0] for _ in range(repeat))


def build(suite: CipherSuite, n: int) -> tuple[float, Group, list[Client], bytes]:
    """The creator adds n-1 members in one commit; returns (ms, creator, clients, Welcome)."""
    creator = make_client(suite, "member-0")
    group = Group.create(suite, group_id=os.urandom(16), signer=creator.signer, credential=creator.credential,
                         rng=system_random, now=NOW)
    clients = [creator] + [make_client(suite, f"member-{i}") for i in range(1, n)]

    def commit() -> bytes | None:
        out = group.commit(rng=system_random, now=NOW,
                           proposals=[Add(key_package=c.bundle.key_package) for c in clients[1:]])
        group.merge_pending_commit()
        return out.welcome

    ms, welcome = timed(commit)
    assert isinstance(welcome, bytes)
    return ms, group, clients, welcome


def fill_tree(suite: CipherSuite, group: Group, clients: list[Client]) -> tuple[Group, Group]:
    """A copy of ``group``'s state where every parent node is set (see the module docstring),
    as two members: leaf 0 (committer) and the last leaf (processor)."""
    tree: RatchetTree = group.tree.copy()
    keys: dict[NodeIndex, HpkePrivateKey] = {}
    leaf_keys: dict[int, HpkePrivateKey] = {}
    for leaf in range(0, tree.leaf_count, 2):
        if tree.leaf(LeafIndex(leaf)) is None:
            continue
        client = clients[leaf]
        own = tree.member_leaf(LeafIndex(leaf))
        pending = create_update_path(tree, sender=LeafIndex(leaf), group_id=group.group_id,
                                     signing_key=client.signer, credential=client.credential,
                                     capabilities=own.capabilities, rng=system_random)
        leaf_keys[leaf] = pending.private_keys.leaf_key
        for node in pending.private_keys.nodes():
            key = pending.private_keys.key_for(node)
            assert key is not None
            keys[node] = key
    context = GroupContext(cipher_suite=CipherSuiteId(suite.id), group_id=group.group_id, epoch=Epoch(7),
                           tree_hash=tree.tree_hash(), confirmed_transcript_hash=os.urandom(suite.hash_size))
    secrets = ks.derive_epoch_secrets(suite, ks.EpochSecret(os.urandom(suite.hash_size)))
    tag = transcript.confirmation_tag(suite, secrets.confirmation_key, context.confirmed_transcript_hash)
    public = PublicEpoch.of(suite, context, tree, tag)
    n = tree.leaf_count

    def member(leaf: int) -> Group:
        leaf_key = leaf_keys.get(leaf) or clients[leaf].bundle.leaf_key
        path = tree_math.direct_path(tree_math.leaf_to_node(leaf), n)
        private = TreePrivateKeys(suite, LeafIndex(leaf), leaf_key,
                                  {node: keys[node] for node in path if node in keys})
        private.check_consistent(tree)
        state = EpochState(public=public, secrets=secrets, private_keys=private)
        return Group(state=state, own_leaf=LeafIndex(leaf), signer=clients[leaf].signer, config=GroupConfig())

    return member(0), member(len(clients) - 1)


def fresh_pair(suite: CipherSuite, group: Group, clients: list[Client], welcome: bytes) -> tuple[Group, Group]:
    last = clients[-1]
    return group, Group.join(welcome, last.bundle, now=NOW)


def measure(suite: CipherSuite, committer: Group, processor: Group, repeat: int) -> dict[str, float]:
    results: dict[str, float] = {}
    samples: list[float] = []
    outputs = []
    for _ in range(repeat):
        ms, out = timed(lambda: committer.commit(rng=system_random, now=NOW, force_path=True))
        samples.append(ms)
        outputs.append(out)
        committer.discard_pending_commit()
    results["update_commit"] = statistics.median(samples)
    commit = outputs[0].commit  # type: ignore[attr-defined]
    results["update_process"] = median_ms(lambda: processor.process(commit, now=NOW), repeat)

    joiners = [make_client(suite, f"joiner-{i}") for i in range(repeat)]
    samples, welcomes = [], []
    for joiner in joiners:
        ms, out = timed(lambda j=joiner: committer.commit(rng=system_random, now=NOW,
                                                           proposals=[Add(key_package=j.bundle.key_package)]))
        samples.append(ms)
        welcomes.append(out.welcome)  # type: ignore[attr-defined]
        committer.discard_pending_commit()
    results["add_commit"] = statistics.median(samples)
    results["welcome_join"] = statistics.median(
        timed(lambda j=joiner, w=welcome: Group.join(w, j.bundle, now=NOW))[0]
        for joiner, welcome in zip(joiners, welcomes, strict=True)
    )
    group_info = committer.group_info()
    externals = [make_client(suite, f"external-{i}") for i in range(repeat)]
    results["external_join"] = statistics.median(
        timed(lambda e=e: Group.join_external(group_info, signer=e.signer, credential=e.credential,
                                              rng=system_random, now=NOW))[0]
        for e in externals
    )
    payload = os.urandom(100)
    count = 200
    cts = []
    start = time.perf_counter()
    for _ in range(count):
        cts.append(committer.encrypt_application(payload, rng=system_random))
    results["app_encrypt"] = (time.perf_counter() - start) * 1000 / count
    start = time.perf_counter()
    for ct in cts:
        processor.process(ct, now=NOW)
    results["app_decrypt"] = (time.perf_counter() - start) * 1000 / count
    return results


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="2,16,128,1024")
    parser.add_argument("--suite", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    suite = cipher_suite(args.suite)
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    for n in sizes:
        build_ms, group, clients, welcome = build(suite, n)
        for shape in ("fresh", "full"):
            if shape == "fresh":
                committer, processor = fresh_pair(suite, group, clients, welcome)
            else:
                committer, processor = fill_tree(suite, group, clients)
            result = {"n": n, "shape": shape, "build": build_ms, **measure(suite, committer, processor, args.repeat)}
            rows.append(result)
            print(f"n={n:>5} {shape:>5}: " + "  ".join(f"{k}={v:.2f}" for k, v in result.items()
                                                         if k not in ("n", "shape")), file=sys.stderr)
    report = {
        "benchmark": "mls",
        "suite": suite.name,
        "unit": "ms (median)",
        "repeat": args.repeat,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "targets_at_n1000_full": TARGETS_MS,
        "results": rows,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
