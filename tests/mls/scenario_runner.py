"""An in-process runner for the MLS working group's interop scenario scripts.

The scripts are the files of ``interop/configs`` in mlswg/mls-implementations (copied to
``tests/vectors/data/mls/interop-configs``). Every action has the semantics of that repository's
test runner (``interop/test-runner/main.go``), with our :class:`~enseal.mls.group.Group` in place
of each gRPC client:

* Proposals are *stored* when made and delivered when a commit refers to them by reference: the
  committer and every member that handles the commit process the proposal messages first (a
  member does not process its own proposals: it cached them when it made them). The committer
  commits exactly the referenced proposals and those given by value.
* ``fullCommit`` = ``commit`` by the actor, ``handlePendingCommit`` by the actor, ``handleCommit``
  by each listed member, ``joinGroup`` by each joiner; every one of them must reach the
  committer's epoch authenticator. ``externalJoin``, ``reinit`` and ``branch`` likewise.
* ``changeCipherSuite`` moves to the next suite (``suite % 7 + 1``), so every suite is reinitialized
  into another one, each time with another signature scheme.
* The ratchet tree travels in the Welcome/GroupInfo unless the step asks for an external tree;
  then the step's group is reloaded (``to_bytes``/``from_bytes``) with a configuration that leaves
  the tree out, and back afterwards.

Beyond the interop runner, the runner also hands each commit to the members it removes (each
must find itself removed), keeps its own model of who should be in the group, and after every
step checks (:meth:`ScenarioRunner.check`): the members at the newest epoch agree on the epoch
authenticator and on the roster (which must equal the model), and -- whenever the epoch or the
members changed -- every one of them sends an application message that every other one decrypts
(above :data:`FULL_CHECK_MEMBERS` members: :data:`SAMPLED_RECEIVERS` rotating receivers per
sender). A member left behind by a script (it was not told about a commit) is recorded in
:attr:`ScenarioRunner.left_behind` and no longer checked.
"""

from __future__ import annotations

import base64
import json
import random
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from enseal.crypto import CipherSuite, RandomSource, SignaturePrivateKey, SignatureScheme, cipher_suite
from enseal.errors import LocalProtocolError
from enseal.mls.code_points import ResumptionPSKUsage, WireFormat
from enseal.mls.credential import BasicCredential
from enseal.mls.extensions import Extension, ExternalSender, ExternalSenders, find_extension, make_extension
from enseal.mls.external_proposals import external_proposal, new_member_add_proposal
from enseal.mls.group import ApplicationMessage, Group, GroupStatus, ProposalMessage, StagedCommit
from enseal.mls.group_config import GroupConfig
from enseal.mls.key_package_bundle import KeyPackageBundle
from enseal.mls.proposals import (
    Add,
    ExternalPSKID,
    GroupContextExtensions,
    PreSharedKey,
    Proposal,
    ProposalRef,
    ReInit,
    Remove,
    ResumptionPSKID,
)
from enseal.mls.public_view import PublicGroupView
from enseal.mls.ratchet_tree import RatchetTree
from enseal.mls.tree_nodes import Node
from enseal.types import CipherSuiteId, Epoch, LeafIndex

CONFIG_DIR: Final = Path(__file__).resolve().parents[1] / "vectors" / "data" / "mls" / "interop-configs"
NOW: Final = 1_700_000_000
ALL_SUITES: Final = (1, 2, 3, 4, 5, 6, 7)

FULL_CHECK_MEMBERS: Final = 12
"""Up to this many members, every member's check message is decrypted by every other member."""
SAMPLED_RECEIVERS: Final = 3
"""In larger groups each member's check message is decrypted by this many others (rotating)."""


ACTIONS: Final = {
    "createGroup": "create_group",
    "createKeyPackage": "create_key_package",
    "joinGroup": "join_group",
    "installExternalPSK": "install_external_psk",
    "groupInfo": "group_info",
    "externalJoin": "external_join",
    "newMemberAddProposal": "new_member_add_proposal",
    "addProposal": "add_proposal",
    "updateProposal": "update_proposal",
    "removeProposal": "remove_proposal",
    "externalPSKProposal": "external_psk_proposal",
    "resumptionPSKProposal": "resumption_psk_proposal",
    "groupContextExtensionsProposal": "group_context_extensions_proposal",
    "addExternalSigner": "add_external_signer",
    "externalSignerProposal": "external_signer_proposal",
    "commit": "commit",
    "handlePendingCommit": "handle_pending_commit",
    "handleCommit": "handle_commit",
    "fullCommit": "full_commit",
    "protect": "protect",
    "unprotect": "unprotect",
    "branch": "branch",
    "reinit": "reinit",
}
"""Each action of the interop runner and the ScenarioRunner method that performs it."""


class ScenarioError(AssertionError):
    """A script step failed, or a check after it did; the message names the step."""


def load_scripts(family: str) -> dict[str, list[dict[str, Any]]]:
    data = json.loads((CONFIG_DIR / f"{family}.json").read_text())
    scripts: dict[str, list[dict[str, Any]]] = data["scripts"]
    return scripts


def seeded_rng(*parts: object) -> RandomSource:
    """A deterministic RandomSource for one run (tests must be reproducible)."""
    return random.Random(zlib.crc32(repr(parts).encode())).randbytes


def next_suite(suite_id: int) -> int:
    return suite_id % len(ALL_SUITES) + 1


def identity_of(tree: RatchetTree, leaf: LeafIndex) -> str:
    credential = tree.member_leaf(leaf).credential
    assert isinstance(credential, BasicCredential)
    return credential.identity.decode()


def roster(tree: RatchetTree) -> list[str]:
    return [identity_of(tree, leaf) for leaf, _ in tree.members()]


def leaf_of(tree: RatchetTree, name: str) -> LeafIndex:
    for leaf, _ in tree.members():
        if identity_of(tree, leaf) == name:
            return leaf
    raise ScenarioError(f"{name} is not in the tree")


def extensions_from_json(items: Iterable[Mapping[str, Any]]) -> tuple[Extension, ...]:
    return tuple(
        Extension(extension_type=int(item["extension_type"]), extension_data=base64.b64decode(item["extension_data"]))
        for item in items
    )


@dataclass
class Actor:
    """One client of a script: its signing keys, PSKs, current group and last KeyPackage."""

    name: str
    psks: dict[bytes, bytes] = field(default_factory=dict)
    signers: dict[SignatureScheme, SignaturePrivateKey] = field(default_factory=dict)
    group: Group | None = None
    lineage: int = -1
    """Which group of the script the actor's state belongs to (branch/reinit start new ones)."""
    bundle: KeyPackageBundle | None = None
    """The ``transaction`` of the interop runner: the last KeyPackage this actor made."""
    external_signer: SignaturePrivateKey | None = None
    pending_commit: int | None = None
    """The step of this actor's commit that waits for ``handlePendingCommit``."""

    @property
    def credential(self) -> BasicCredential:
        return BasicCredential(identity=self.name.encode())

    def live_group(self) -> Group:
        if self.group is None:
            raise ScenarioError(f"{self.name} has no group")
        return self.group


@dataclass
class StepRecord:
    """What a step left for later steps (the interop runner's message cache)."""

    values: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        if key not in self.values:
            raise ScenarioError(f"no {key} stored at this step")
        return self.values[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.values[key] = value


class ScenarioRunner:
    """Runs interop scripts for one cipher suite and one handshake wire format."""

    def __init__(
        self,
        suite_id: int,
        *,
        handshake: WireFormat = WireFormat.PUBLIC_MESSAGE,
        rng: RandomSource | None = None,
        now: int = NOW,
        observers: Sequence[Callable[[ScenarioRunner, int, dict[str, Any]], None]] = (),
    ) -> None:
        self.suite_id = suite_id
        self.handshake = handshake
        self.rng = rng or seeded_rng(suite_id, handshake)
        self.now = now
        self.actors: dict[str, Actor] = {}
        self.records: list[StepRecord] = []
        self.lineage = -1
        self.expected: dict[tuple[int, int], frozenset[str]] = {}
        """The model: who is in group ``lineage`` at ``epoch``."""
        self.left_behind: set[str] = set()
        self.checks = 0
        self.decryptions = 0
        self.observers = list(observers)
        self._last_state: object = None
        self._rotation = 0

    # -- bookkeeping ---------------------------------------------------------------------------------

    @property
    def suite(self) -> CipherSuite:
        return cipher_suite(self.suite_id)

    def actor(self, name: str) -> Actor:
        if name not in self.actors:
            self.actors[name] = Actor(name)
        return self.actors[name]

    def signer(self, actor: Actor, suite: CipherSuite) -> SignaturePrivateKey:
        if suite.signature not in actor.signers:
            actor.signers[suite.signature] = suite.generate_signature_key(self.rng)
        return actor.signers[suite.signature]

    def config(self, actor: Actor, *, tree_in_welcome: bool = True) -> GroupConfig:
        return GroupConfig(
            external_psk=actor.psks.get, handshake_wire_format=self.handshake, ratchet_tree_in_welcome=tree_in_welcome
        )

    def new_bundle(self, actor: Actor, suite: CipherSuite | None = None) -> KeyPackageBundle:
        suite = suite or self.suite
        return KeyPackageBundle.create(suite, self.signer(actor, suite), actor.credential, rng=self.rng, now=self.now)

    def start_lineage(self) -> int:
        self.lineage += 1
        return self.lineage

    def expect(self, group: Group, lineage: int, names: Iterable[str]) -> None:
        key = (lineage, group.epoch)
        names = frozenset(names)
        if key in self.expected and self.expected[key] != names:
            raise ScenarioError(f"two different rosters expected for epoch {group.epoch}")
        self.expected[key] = names

    def members_model(self, lineage: int, epoch: int) -> frozenset[str]:
        return self.expected[(lineage, epoch)]

    def current_members(self) -> list[Actor]:
        """Actors whose state is the newest epoch of the current group and who can send; members
        of the model that a script left at an older epoch go to :attr:`left_behind`."""
        mine = [
            a
            for a in self.actors.values()
            if a.group is not None and a.lineage == self.lineage and a.group.status is GroupStatus.ACTIVE
        ]
        if not mine:
            return []
        newest = max(a.live_group().epoch for a in mine)
        model = self.expected[(self.lineage, newest)]
        members = [a for a in mine if a.live_group().epoch == newest]
        self.left_behind -= {a.name for a in members}
        self.left_behind |= {a.name for a in mine if a.live_group().epoch < newest and a.name in model}
        return members

    # -- running ---------------------------------------------------------------------------------------

    def run(self, script: Sequence[dict[str, Any]]) -> None:
        self.records = [StepRecord() for _ in script]
        for index, step in enumerate(script):
            try:
                self.step(index, step)
                self.check(f"after step {index}")
            except ScenarioError as exc:
                raise ScenarioError(f"step {index} {json.dumps(step)[:200]}: {exc}") from exc
            except Exception as exc:
                raise ScenarioError(f"step {index} {json.dumps(step)[:200]}: {type(exc).__name__}: {exc}") from exc
            for observer in self.observers:
                observer(self, index, step)

    def step(self, index: int, step: dict[str, Any]) -> None:
        action = step["action"]
        if action not in ACTIONS:
            raise ScenarioError(f"unknown action {action}")
        getattr(self, ACTIONS[action])(index, step)

    # -- checks ------------------------------------------------------------------------------------------

    def check(self, when: str) -> None:
        """Agreement of the members at the newest epoch: epoch authenticator, roster (against the
        model) and application messages between every pair (sampled in large groups)."""
        members = self.current_members()
        if not members:
            return
        self.checks += 1
        first = members[0].live_group()
        for actor in members:
            group = actor.live_group()
            if group.epoch_authenticator != first.epoch_authenticator:
                raise ScenarioError(f"{when}: {actor.name} and {members[0].name} disagree on the epoch authenticator")
            if identity_of(group.tree, group.own_leaf) != actor.name:
                raise ScenarioError(f"{when}: {actor.name}'s own leaf is not its own")
        names = roster(first.tree)
        duplicated = [name for name, count in Counter(names).items() if count > 1]
        if duplicated:
            raise ScenarioError(f"{when}: clients in the group twice: {duplicated}")
        expected = self.members_model(self.lineage, first.epoch)
        if set(names) != expected:
            raise ScenarioError(f"{when}: roster {sorted(names)} differs from the model {sorted(expected)}")
        state = (self.lineage, first.epoch, tuple(sorted(a.name for a in members)))
        if state == self._last_state:
            return  # no new epoch and no new member since the last exchange of application messages
        self._last_state = state
        self.exchange_application_messages(members, when)

    def exchange_application_messages(self, members: Sequence[Actor], when: str) -> None:
        count = len(members)
        self._rotation += 1
        for position, sender in enumerate(members):
            group = sender.live_group()
            if group.pending_proposals:
                # "A group member that has observed one or more valid proposals within an epoch
                # MUST send a Commit message before sending application data."
                try:
                    group.encrypt_application(b"too early", rng=self.rng)
                except LocalProtocolError:
                    continue
                raise ScenarioError(f"{when}: {sender.name} sent application data with proposals pending")
            data = f"{when} from {sender.name}".encode()
            aad = f"check {self.checks}".encode()
            ciphertext = group.encrypt_application(data, rng=self.rng, authenticated_data=aad)
            if count <= FULL_CHECK_MEMBERS:
                receivers = [m for m in members if m is not sender]
            else:
                stride = 1 + self._rotation % (count - 1)
                positions = {(position + stride * k) % count for k in range(1, SAMPLED_RECEIVERS + 1)} - {position}
                receivers = [members[p] for p in sorted(positions)]
            for receiver in receivers:
                message = receiver.live_group().process(ciphertext, now=self.now)
                self.decryptions += 1
                if (
                    not isinstance(message, ApplicationMessage)
                    or message.data != data
                    or message.authenticated_data != aad
                    or message.sender != group.own_leaf
                ):
                    raise ScenarioError(f"{when}: {receiver.name} misread {sender.name}'s message: {message!r}")

    # -- proposals -------------------------------------------------------------------------------------

    def store_own_proposal(self, index: int, actor: Actor, message: bytes, effect: tuple[str, str] | None) -> None:
        record = self.records[index]
        record["proposal"] = message
        record["proposal_sender"] = actor.name
        record["proposal_ref"] = actor.live_group().pending_proposals[-1].ref
        record["effect"] = effect

    def deliver_proposals(self, actor: Actor, indices: Sequence[int]) -> list[ProposalRef]:
        """``actor`` processes the proposals made at ``indices`` (except its own)."""
        refs: list[ProposalRef] = []
        group = actor.live_group()
        for i in indices:
            record = self.records[i]
            if record.values.get("proposal_sender") == actor.name:
                refs.append(record["proposal_ref"])
                continue
            result = group.process(record["proposal"], now=self.now)
            if not isinstance(result, ProposalMessage):
                raise ScenarioError(f"{actor.name}: step {i}'s proposal processed as {type(result).__name__}")
            refs.append(result.ref)
        return refs

    def proposal_from_description(
        self, group_context_source: Group | PublicGroupView, tree: RatchetTree, description: Mapping[str, Any]
    ) -> tuple[Proposal, tuple[str, str] | None]:
        kind = description["proposalType"]
        suite = tree.suite
        if kind == "add":
            record = self.records[description["keyPackage"]]
            return Add(key_package=record["key_package"]), ("add", record["key_package_owner"])
        if kind == "remove":
            name = description["removed"]
            return Remove(removed=leaf_of(tree, name)), ("remove", name)
        if kind == "externalPSK":
            psk_id = self.records[description["pskID"]]["psk_id"]
            return PreSharedKey(psk=ExternalPSKID(psk_id=psk_id, psk_nonce=self.rng(suite.hash_size))), None
        if kind == "resumptionPSK":
            psk = ResumptionPSKID(
                usage=ResumptionPSKUsage.APPLICATION,
                psk_group_id=group_context_source.group_id,
                psk_epoch=Epoch(int(description["epochID"])),
                psk_nonce=self.rng(suite.hash_size),
            )
            return PreSharedKey(psk=psk), None
        if kind == "groupContextExtensions":
            return GroupContextExtensions(extensions=extensions_from_json(description.get("extensions", []))), None
        if kind == "reinit":
            if description.get("changeCipherSuite"):
                self.suite_id = next_suite(self.suite_id)
            group_id = self.records[0]["group_id"] + (b"++" if description.get("changeGroupID") else b"")
            return ReInit(
                group_id=group_id,
                cipher_suite=CipherSuiteId(self.suite_id),
                extensions=extensions_from_json(description.get("extensions", [])),
            ), None
        raise ScenarioError(f"unknown proposal type {kind}")

    # -- actions: groups and key packages ----------------------------------------------------------------

    def create_group(self, index: int, step: dict[str, Any]) -> None:
        creator = self.actor(step["actor"])
        group_id = self.rng(16).hex().encode()
        self.records[index]["group_id"] = group_id
        creator.group = Group.create(
            self.suite,
            group_id=group_id,
            signer=self.signer(creator, self.suite),
            credential=creator.credential,
            rng=self.rng,
            now=self.now,
            config=self.config(creator),
        )
        creator.lineage = self.start_lineage()
        self.expect(creator.group, self.lineage, [creator.name])
        joiners = [self.actor(name) for name in step.get("members", [])]
        if not joiners:
            return
        for joiner in joiners:
            joiner.bundle = self.new_bundle(joiner)
        output = creator.group.commit(
            rng=self.rng, now=self.now, proposals=[Add(key_package=j.bundle.key_package) for j in joiners if j.bundle]
        )
        creator.group.merge_pending_commit()
        self.expect(creator.group, self.lineage, [creator.name, *(j.name for j in joiners)])
        assert output.welcome is not None
        for joiner in joiners:
            self.join(joiner, output.welcome, creator.group)

    def join(
        self,
        joiner: Actor,
        welcome: bytes,
        reference: Group | None,
        ratchet_tree: Sequence[Node | None] | None = None,
        resumption_sources: Mapping[bytes, Group] | None = None,
    ) -> None:
        if joiner.bundle is None:
            raise ScenarioError(f"no KeyPackage of {joiner.name} to join with")
        group = Group.join(
            welcome,
            joiner.bundle,
            now=self.now,
            ratchet_tree=ratchet_tree,
            config=self.config(joiner),
            resumption_sources=resumption_sources,
        )
        if reference is not None and group.epoch_authenticator != reference.epoch_authenticator:
            raise ScenarioError(f"joiner {joiner.name} disagrees on the epoch authenticator")
        joiner.group = group
        joiner.lineage = self.lineage
        self.left_behind.discard(joiner.name)

    def create_key_package(self, index: int, step: dict[str, Any]) -> None:
        actor = self.actor(step["actor"])
        actor.bundle = self.new_bundle(actor)
        self.records[index]["key_package"] = actor.bundle.key_package
        self.records[index]["key_package_owner"] = actor.name

    def join_group(self, index: int, step: dict[str, Any]) -> None:
        record = self.records[step["welcome"]]
        self.join(self.actor(step["actor"]), record["welcome"], None, ratchet_tree=record.values.get("ratchet_tree"))

    def install_external_psk(self, index: int, step: dict[str, Any]) -> None:
        record = self.records[index]
        record["psk_id"] = self.rng(32)
        record["psk_secret"] = self.rng(32)
        for name in step["clients"]:
            self.actor(name).psks[record["psk_id"]] = record["psk_secret"]

    def group_info(self, index: int, step: dict[str, Any]) -> None:
        group = self.actor(step["actor"]).live_group()
        external_tree = bool(step.get("externalTree"))
        self.records[index]["group_info"] = group.group_info(with_tree=not external_tree)
        self.records[index]["ratchet_tree"] = group.tree.to_nodes() if external_tree else None

    def external_join(self, index: int, step: dict[str, Any]) -> None:
        adder = self.actor(step["actor"])
        joiner = self.actor(step["joiner"])
        self.group_info(index, {"actor": adder.name, "externalTree": step.get("externalTree", False)})
        record = self.records[index]
        psks = []
        for psk_index in step.get("psks", []):
            psk_record = self.records[psk_index]
            joiner.psks[psk_record["psk_id"]] = psk_record["psk_secret"]
            psks.append(ExternalPSKID(psk_id=psk_record["psk_id"], psk_nonce=self.rng(self.suite.hash_size)))
        group, commit = Group.join_external(
            record["group_info"],
            signer=self.signer(joiner, self.suite),
            credential=joiner.credential,
            rng=self.rng,
            now=self.now,
            ratchet_tree=record["ratchet_tree"],
            config=self.config(joiner),
            resync=bool(step.get("removePrior")),
            psks=psks,
        )
        record["commit"] = commit
        record["epoch_authenticator"] = group.epoch_authenticator
        before = self.members_model(adder.lineage, adder.live_group().epoch)
        joiner.group = group
        joiner.lineage = self.lineage
        self.left_behind.discard(joiner.name)
        self.expect(group, self.lineage, before | {joiner.name})
        for name in [*step.get("members", []), adder.name]:
            staged = self.deliver_commit(self.actor(name), commit, ())
            if staged.epoch_authenticator != group.epoch_authenticator:
                raise ScenarioError(f"{name} disagrees with the external joiner on the epoch authenticator")

    def new_member_add_proposal(self, index: int, step: dict[str, Any]) -> None:
        group_info = self.actor(step["actor"]).live_group().group_info()
        joiner = self.actor(step["joiner"])
        joiner.bundle = self.new_bundle(joiner)
        record = self.records[index]
        record["proposal"] = new_member_add_proposal(group_info, joiner.bundle)
        record["effect"] = ("add", joiner.name)

    # -- actions: proposals --------------------------------------------------------------------------------

    def add_proposal(self, index: int, step: dict[str, Any]) -> None:
        actor = self.actor(step["actor"])
        kp_record = self.records[step["keyPackage"]]
        message = actor.live_group().propose_add(kp_record["key_package"], rng=self.rng, now=self.now)
        self.store_own_proposal(index, actor, message, ("add", kp_record["key_package_owner"]))

    def update_proposal(self, index: int, step: dict[str, Any]) -> None:
        actor = self.actor(step["actor"])
        self.store_own_proposal(index, actor, actor.live_group().propose_update(rng=self.rng), None)

    def remove_proposal(self, index: int, step: dict[str, Any]) -> None:
        actor = self.actor(step["actor"])
        group = actor.live_group()
        message = group.propose_remove(leaf_of(group.tree, step["removed"]), rng=self.rng)
        self.store_own_proposal(index, actor, message, ("remove", step["removed"]))

    def external_psk_proposal(self, index: int, step: dict[str, Any]) -> None:
        actor = self.actor(step["actor"])
        group = actor.live_group()
        psk = group.new_psk_id(self.records[step["pskID"]]["psk_id"], rng=self.rng)
        self.store_own_proposal(index, actor, group.propose_psk(psk, rng=self.rng), None)

    def resumption_psk_proposal(self, index: int, step: dict[str, Any]) -> None:
        actor = self.actor(step["actor"])
        group = actor.live_group()
        proposal, _ = self.proposal_from_description(
            group, group.tree, {"proposalType": "resumptionPSK", "epochID": step["epochID"]}
        )
        self.store_own_proposal(index, actor, group.propose(proposal, rng=self.rng), None)

    def group_context_extensions_proposal(self, index: int, step: dict[str, Any]) -> None:
        actor = self.actor(step["actor"])
        message = actor.live_group().propose_group_context_extensions(
            extensions_from_json(step.get("extensions", [])), rng=self.rng
        )
        self.store_own_proposal(index, actor, message, None)

    def add_external_signer(self, index: int, step: dict[str, Any]) -> None:
        actor = self.actor(step["actor"])
        signer_actor = self.actor(step["signer"])
        signer_actor.external_signer = self.suite.generate_signature_key(self.rng)
        group = actor.live_group()
        context_extensions = group.group_context.extensions
        existing = find_extension(context_extensions, ExternalSenders)
        senders = (
            *(existing.external_senders if existing else ()),
            ExternalSender(signature_key=signer_actor.external_signer.public_key, credential=signer_actor.credential),
        )
        extensions = [e for e in context_extensions if e.extension_type != ExternalSenders.EXTENSION_TYPE]
        extensions.append(make_extension(ExternalSenders(external_senders=senders)))
        message = group.propose_group_context_extensions(extensions, rng=self.rng)
        self.store_own_proposal(index, actor, message, None)

    def external_signer_proposal(self, index: int, step: dict[str, Any]) -> None:
        signer_actor = self.actor(step["actor"])
        if signer_actor.external_signer is None:
            raise ScenarioError(f"{signer_actor.name} is not an external signer")
        member = self.actor(step["member"]).live_group()
        # The signer follows the group as the delivery service would: from a GroupInfo and tree.
        view = PublicGroupView.from_group_info(member.group_info(with_tree=False), ratchet_tree=member.tree.to_nodes())
        proposal, effect = self.proposal_from_description(view, view.tree, step["description"])
        record = self.records[index]
        record["proposal"] = external_proposal(view.group_context, proposal, signer=signer_actor.external_signer)
        record["effect"] = effect

    # -- actions: commits ------------------------------------------------------------------------------------

    def effects(
        self, group: Group, by_reference: Sequence[int], by_value: Sequence[tuple[str, str] | None], lineage: int
    ) -> frozenset[str]:
        names = set(self.members_model(lineage, group.epoch))
        for effect in [*(self.records[i].values.get("effect") for i in by_reference), *by_value]:
            if effect is None:
                continue
            kind, name = effect
            if kind == "add":
                names.add(name)
            else:
                names.discard(name)
        return frozenset(names)

    def make_commit(self, index: int, step: dict[str, Any]) -> tuple[Actor, Group, Any, frozenset[str]]:
        """The ``commit`` action: the actor commits exactly the referenced and given proposals."""
        actor = self.actor(step["actor"])
        group = actor.live_group()
        by_reference = step.get("byReference", [])
        refs = self.deliver_proposals(actor, by_reference)
        pending = {p.ref for p in group.pending_proposals}
        if pending != set(refs):
            raise ScenarioError(f"{actor.name} holds proposals the commit does not refer to")
        by_value = [self.proposal_from_description(group, group.tree, d) for d in step.get("byValue", [])]
        names = self.effects(group, by_reference, [effect for _, effect in by_value], actor.lineage)
        external_tree = bool(step.get("external_tree") or step.get("externalTree"))
        committing = group
        if external_tree:
            committing = Group.from_bytes(group.to_bytes(), config=self.config(actor, tree_in_welcome=False))
            actor.group = committing
        output = committing.commit(
            rng=self.rng,
            now=self.now,
            proposals=[p for p, _ in by_value],
            force_path=bool(step.get("force_path") or step.get("forcePath")),
        )
        record = self.records[index]
        record["commit"] = output.commit
        record["welcome"] = output.welcome
        record["ratchet_tree"] = output.staged.public.tree.to_nodes() if external_tree else None
        record["expected_members"] = names
        actor.pending_commit = index
        return actor, committing, output, names

    def commit(self, index: int, step: dict[str, Any]) -> None:
        self.make_commit(index, step)

    def merge_own(self, actor: Actor) -> StagedCommit:
        index = actor.pending_commit
        if index is None:
            raise ScenarioError(f"{actor.name} has no pending commit")
        actor.pending_commit = None
        group = actor.live_group()
        staged = group.merge_pending_commit()
        # Back to the actor's usual configuration (the tree in Welcomes) if a step changed it.
        actor.group = Group.from_bytes(group.to_bytes(), config=self.config(actor))
        self.expect(actor.group, actor.lineage, self.records[index]["expected_members"])
        self.records[index]["epoch_authenticator"] = actor.group.epoch_authenticator
        return staged

    def handle_pending_commit(self, index: int, step: dict[str, Any]) -> None:
        self.merge_own(self.actor(step["actor"]))

    def deliver_commit(self, actor: Actor, commit: bytes, by_reference: Sequence[int]) -> StagedCommit:
        """``handleCommit``: process the referenced proposals, then the commit, and merge it."""
        self.deliver_proposals(actor, by_reference)
        group = actor.live_group()
        staged = group.process(commit, now=self.now)
        if not isinstance(staged, StagedCommit):
            raise ScenarioError(f"{actor.name}: commit processed as {type(staged).__name__}")
        group.merge(staged)
        return staged

    def handle_commit(self, index: int, step: dict[str, Any]) -> None:
        record = self.records[step["commit"]]
        actor = self.actor(step["actor"])
        self.deliver_commit(actor, record["commit"], step.get("byReference", []))
        self.expect(actor.live_group(), actor.lineage, record["expected_members"])

    def full_commit(self, index: int, step: dict[str, Any]) -> None:
        actor, _, output, names = self.make_commit(index, step)
        by_reference = step.get("byReference", [])
        self.merge_own(actor)
        authenticator = actor.live_group().epoch_authenticator
        for name in step.get("members", []):
            staged = self.deliver_commit(self.actor(name), output.commit, by_reference)
            if staged.self_removed or staged.epoch_authenticator != authenticator:
                raise ScenarioError(f"member {name} disagrees on the epoch authenticator")
        # Beyond the interop runner: each removed member that is up to date sees itself removed.
        for removed in output.staged.removed:
            credential = removed.credential
            assert isinstance(credential, BasicCredential)
            gone = self.actors.get(credential.identity.decode())
            if (
                gone is None
                or gone.group is None
                or gone.lineage != actor.lineage
                or gone.group.epoch != output.staged.from_epoch
                or gone.group.own_leaf != removed.leaf_index
            ):
                continue
            staged = self.deliver_commit(gone, output.commit, by_reference)
            if not staged.self_removed or gone.group.status is not GroupStatus.REMOVED:
                raise ScenarioError(f"removed member {gone.name} does not see itself removed")
        ratchet_tree = self.records[index].values.get("ratchet_tree")
        for name in step.get("joiners", []):
            if output.welcome is None:
                raise ScenarioError("joiners but no Welcome")
            self.join(self.actor(name), output.welcome, actor.live_group(), ratchet_tree=ratchet_tree)
        if not names >= {n for n in step.get("members", [])} | {actor.name}:
            raise ScenarioError("the model lost a member that handled the commit")

    # -- actions: application messages ---------------------------------------------------------------------------

    def protect(self, index: int, step: dict[str, Any]) -> None:
        group = self.actor(step["actor"]).live_group()
        record = self.records[index]
        record["authenticatedData"] = step["authenticatedData"].encode()
        record["plaintext"] = step["plaintext"].encode()
        record["ciphertext"] = group.encrypt_application(
            record["plaintext"], rng=self.rng, authenticated_data=record["authenticatedData"]
        )

    def unprotect(self, index: int, step: dict[str, Any]) -> None:
        group = self.actor(step["actor"]).live_group()
        source = self.records[step["ciphertext"]]
        message = group.process(source["ciphertext"], now=self.now)
        if not isinstance(message, ApplicationMessage):
            raise ScenarioError(f"unprotect gave {type(message).__name__}")
        if message.data != source["plaintext"] or message.authenticated_data != source["authenticatedData"]:
            raise ScenarioError("unprotect: wrong plaintext or authenticated data")
        self.records[index]["plaintext"] = message.data
        self.records[index]["authenticatedData"] = message.authenticated_data

    # -- actions: branch and reinit -----------------------------------------------------------------------------

    def with_tree_choice(self, actor: Actor, external_tree: bool) -> Group:
        group = actor.live_group()
        if not external_tree:
            return group
        return Group.from_bytes(group.to_bytes(), config=self.config(actor, tree_in_welcome=False))

    def settle_new_group(self, actor: Actor, group: Group) -> None:
        """The actor's state in a freshly started group, in its usual configuration."""
        actor.group = Group.from_bytes(group.to_bytes(), config=self.config(actor))
        actor.lineage = self.lineage

    def branch(self, index: int, step: dict[str, Any]) -> None:
        actor = self.actor(step["actor"])
        old = actor.live_group()
        members = [self.actor(name) for name in step.get("members", [])]
        for member in members:
            member.bundle = self.new_bundle(member)
        external_tree = bool(step.get("externalTree") or step.get("external_tree"))
        source = self.with_tree_choice(actor, external_tree)
        new_group, output = source.branch(
            group_id=self.rng(16).hex().encode(),
            key_packages=[m.bundle.key_package for m in members if m.bundle],
            rng=self.rng,
            now=self.now,
            extensions=extensions_from_json(step.get("extensions", [])),
            force_path=bool(step.get("forcePath") or step.get("force_path")),
        )
        old_states = {m.name: m.live_group() for m in members}
        self.start_lineage()
        self.settle_new_group(actor, new_group)
        self.expect(new_group, self.lineage, [actor.name, *(m.name for m in members)])
        assert output.welcome is not None
        ratchet_tree = new_group.tree.to_nodes() if external_tree else None
        for member in members:
            self.join(
                member,
                output.welcome,
                new_group,
                ratchet_tree=ratchet_tree,
                resumption_sources={old.group_id: old_states[member.name]},
            )

    def reinit(self, index: int, step: dict[str, Any]) -> None:
        committer = self.actor(step["committer"])
        welcomer = self.actor(step["welcomer"])
        proposer_name = step.get("proposer", "")
        others = {*step.get("members", []), welcomer.name, *([proposer_name] if proposer_name else [])}
        not_committer = others - {committer.name}
        not_welcomer = (others | {committer.name}) - {welcomer.name}
        # The proposal: from a member, or an external proposal stored earlier.
        if proposer_name:
            if step.get("changeCiphersuite") or step.get("changeCipherSuite"):
                self.suite_id = next_suite(self.suite_id)
            group_id = self.records[0]["group_id"] + (b"++" if step.get("changeGroupID") else b"")
            proposer = self.actor(proposer_name)
            message = proposer.live_group().propose_reinit(
                group_id=group_id,
                suite=cipher_suite(self.suite_id),
                extensions=extensions_from_json(step.get("extensions", [])),
                rng=self.rng,
            )
            self.store_own_proposal(index, proposer, message, None)
            proposal_index = index
        else:
            proposal_index = step["externalReinitProposal"]
        # The committer commits it by reference; everyone else handles the commit.
        group = committer.live_group()
        refs = self.deliver_proposals(committer, [proposal_index])
        if {p.ref for p in group.pending_proposals} != set(refs):
            raise ScenarioError(f"{committer.name} holds proposals the ReInit commit does not refer to")
        output = group.commit(rng=self.rng, now=self.now)
        group.merge_pending_commit()
        self.records[index]["reinit_commit"] = output.commit
        self.records[index]["reinit_proposal"] = proposal_index
        old_lineage = committer.lineage
        members_before = self.members_model(old_lineage, output.staged.from_epoch)
        self.expect(group, old_lineage, members_before)
        for name in sorted(not_committer):
            staged = self.deliver_commit(self.actor(name), output.commit, [proposal_index])
            if staged.epoch_authenticator != group.epoch_authenticator:
                raise ScenarioError(f"{name} disagrees on the epoch authenticator of the ReInit commit")
        reinit = group.reinit
        if reinit is None:
            raise ScenarioError("the committed ReInit is not recorded")
        for name in others | {committer.name}:
            actor = self.actor(name)
            if actor.live_group().status is not GroupStatus.REINIT_PENDING:
                raise ScenarioError(f"{name} is not waiting for the reinitialized group")
        new_suite = cipher_suite(reinit.cipher_suite)
        old_states = {name: self.actor(name).live_group() for name in others | {committer.name}}
        bundles = {name: self.new_bundle(self.actor(name), new_suite) for name in not_welcomer}
        external_tree = bool(step.get("externalTree"))
        source = self.with_tree_choice(welcomer, external_tree)
        new_group, new_output = source.reinitialize(
            key_packages=[bundles[name].key_package for name in sorted(not_welcomer)],
            rng=self.rng,
            now=self.now,
            force_path=bool(step.get("forcePath")),
            signer=self.signer(welcomer, new_suite),
        )
        self.suite_id = new_suite.id
        self.start_lineage()
        self.settle_new_group(welcomer, new_group)
        self.expect(new_group, self.lineage, others | {committer.name})
        assert new_output.welcome is not None
        ratchet_tree = new_group.tree.to_nodes() if external_tree else None
        for name in sorted(not_welcomer):
            actor = self.actor(name)
            actor.bundle = bundles[name]
            self.join(
                actor,
                new_output.welcome,
                new_group,
                ratchet_tree=ratchet_tree,
                resumption_sources={old_states[name].group_id: old_states[name]},
            )


def run_script(
    family: str, name: str, suite_id: int, handshake: WireFormat = WireFormat.PUBLIC_MESSAGE, **kwargs: Any
) -> ScenarioRunner:
    runner = ScenarioRunner(suite_id, handshake=handshake, rng=seeded_rng(family, name, suite_id, handshake), **kwargs)
    runner.run(load_scripts(family)[name])
    return runner
