"""The MLS working group's interop scenarios (welcome_join, application, commit, external_join,
external_proposals, branch, reinit, deep_random), run in-process with our Group for every cipher
suite and both handshake wire formats (see :mod:`scenario_runner`).

Default run: suite 1, both wire formats, every script, and the first 111 steps of deep_random
(nine epochs, 41 members, adds, updates and removes by reference and by value, an external
join). ``slow``: suites 2-7 and the whole deep_random script (1,670 steps, up to ~100 members,
about a minute per suite) for every suite.
"""

from __future__ import annotations

from typing import Any

import pytest

from enseal.mls.code_points import WireFormat
from enseal.mls.group import GroupStatus

from .scenario_runner import (
    ACTIONS,
    ALL_SUITES,
    ScenarioError,
    ScenarioRunner,
    load_scripts,
    run_script,
    seeded_rng,
)

FAMILIES = ("welcome_join", "application", "commit", "external_join", "external_proposals", "branch", "reinit")
DEFAULT_SUITE = 1
DEEP_RANDOM_PREFIX = 111
"""deep_random up to and including its first external join."""
HANDSHAKES = {"public": WireFormat.PUBLIC_MESSAGE, "private": WireFormat.PRIVATE_MESSAGE}

LEFT_BEHIND = {("commit", "add"): {"charlie3"}}
"""Members a script does not hand a later commit to (commit/add's second fullCommit omits
charlie3): they stay in the roster at an old epoch, as with the interop runner."""

INTEROP_RUNNER_ACTIONS = (
    "createGroup",
    "createKeyPackage",
    "joinGroup",
    "externalJoin",
    "installExternalPSK",
    "groupInfo",
    "addProposal",
    "updateProposal",
    "removeProposal",
    "externalPSKProposal",
    "resumptionPSKProposal",
    "groupContextExtensionsProposal",
    "fullCommit",
    "commit",
    "handleCommit",
    "handlePendingCommit",
    "protect",
    "unprotect",
    "reinit",
    "branch",
    "newMemberAddProposal",
    "addExternalSigner",
    "externalSignerProposal",
)
"""Every ScriptAction of interop/test-runner/main.go."""

SCRIPTS = [(family, name) for family in FAMILIES for name in load_scripts(family)]


def _run(family: str, name: str, suite: int, handshake: str) -> ScenarioRunner:
    runner = run_script(family, name, suite, HANDSHAKES[handshake])
    assert runner.checks > 0
    assert runner.decryptions > 0
    assert runner.left_behind == LEFT_BEHIND.get((family, name), set())
    return runner


def test_every_action_is_supported() -> None:
    used = {
        step["action"]
        for family in (*FAMILIES, "deep_random")
        for script in load_scripts(family).values()
        for step in script
    }
    assert used <= set(ACTIONS)
    assert set(INTEROP_RUNNER_ACTIONS) == set(ACTIONS)


def test_eight_families_are_present() -> None:
    assert len(SCRIPTS) == 39
    assert set(load_scripts("deep_random")) == {"random"}


@pytest.mark.parametrize("handshake", HANDSHAKES)
@pytest.mark.parametrize(("family", "name"), SCRIPTS, ids=[f"{f}/{n}" for f, n in SCRIPTS])
def test_scenario(family: str, name: str, handshake: str) -> None:
    _run(family, name, DEFAULT_SUITE, handshake)


@pytest.mark.slow
@pytest.mark.parametrize("handshake", HANDSHAKES)
@pytest.mark.parametrize("suite", [s for s in ALL_SUITES if s != DEFAULT_SUITE])
@pytest.mark.parametrize(("family", "name"), SCRIPTS, ids=[f"{f}/{n}" for f, n in SCRIPTS])
def test_scenario_all_suites(family: str, name: str, suite: int, handshake: str) -> None:
    _run(family, name, suite, handshake)


@pytest.mark.parametrize("handshake", HANDSHAKES)
def test_deep_random_prefix(handshake: str) -> None:
    script = load_scripts("deep_random")["random"][:DEEP_RANDOM_PREFIX]
    assert script[-1]["action"] == "externalJoin"
    runner = ScenarioRunner(DEFAULT_SUITE, handshake=HANDSHAKES[handshake], rng=seeded_rng("deep", handshake))
    runner.run(script)
    members = runner.current_members()
    assert len(members) == 41
    assert members[0].live_group().epoch == 9
    assert not runner.left_behind


@pytest.mark.slow
@pytest.mark.parametrize("suite", ALL_SUITES)
def test_deep_random(suite: int) -> None:
    runner = _run("deep_random", "random", suite, "public")
    assert runner.checks == len(load_scripts("deep_random")["random"])


def test_step_by_step_actions() -> None:
    """The interop runner's finer actions, which the configs do not use: commit,
    handlePendingCommit, handleCommit, joinGroup and groupInfo."""
    script: list[dict[str, Any]] = [
        {"action": "createGroup", "actor": "alice", "members": ["bob"]},
        {"action": "createKeyPackage", "actor": "charlie"},
        {"action": "addProposal", "actor": "bob", "keyPackage": 1},
        {"action": "commit", "actor": "alice", "byReference": [2], "force_path": True},
        {"action": "handleCommit", "actor": "bob", "commit": 3, "byReference": [2]},
        {"action": "handlePendingCommit", "actor": "alice"},
        {"action": "joinGroup", "actor": "charlie", "welcome": 3},
        {"action": "groupInfo", "actor": "charlie", "externalTree": True},
        {"action": "removeProposal", "actor": "charlie", "removed": "bob"},
        {"action": "commit", "actor": "alice", "byReference": [8], "external_tree": True},
        {"action": "handlePendingCommit", "actor": "alice"},
        {"action": "handleCommit", "actor": "charlie", "commit": 9, "byReference": [8]},
        {"action": "protect", "actor": "charlie", "authenticatedData": "ad", "plaintext": "after bob"},
        {"action": "unprotect", "actor": "alice", "ciphertext": 12},
    ]
    for handshake in HANDSHAKES.values():
        runner = ScenarioRunner(3, handshake=handshake, rng=seeded_rng("steps", handshake))
        runner.run(script)
        assert sorted(a.name for a in runner.current_members()) == ["alice", "charlie"]
        assert runner.records[7]["ratchet_tree"] is not None
        bob = runner.actors["bob"].live_group()
        assert bob.epoch == 2  # bob was not handed his removal: the script leaves him behind
        assert bob.status is GroupStatus.ACTIVE


def test_runner_catches_a_fork() -> None:
    """The checks can fail: two members merge their own, competing commits for one epoch."""
    script: list[dict[str, Any]] = [
        {"action": "createGroup", "actor": "alice", "members": ["bob"]},
        {"action": "commit", "actor": "alice"},
        {"action": "commit", "actor": "bob"},
        {"action": "handlePendingCommit", "actor": "alice"},
        {"action": "handlePendingCommit", "actor": "bob"},
    ]
    runner = ScenarioRunner(DEFAULT_SUITE)
    with pytest.raises(ScenarioError, match=r"step 4 .*disagree on the epoch authenticator"):
        runner.run(script)
