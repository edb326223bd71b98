"""Candidates, the MAC'd check datagram and the connectivity agent, on a simulated network."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable

import pytest

from enseal.errors import LocalProtocolError
from enseal.signalling import (
    AGENT_TRANSITIONS,
    CHECK_MAGIC,
    CONSENT_TIMEOUT_SECONDS,
    CONTROLLED_EXTRA_WAIT_SECONDS,
    DIRECT_CONNECT_TIMEOUT_SECONDS,
    MAX_CANDIDATE_PAIRS,
    AgentAction,
    AgentState,
    CheckAuthenticationError,
    CheckMismatchError,
    CheckRole,
    ChecksFailed,
    CheckType,
    ConnectivityAgent,
    ConnectivityCheck,
    ConnectivityKey,
    Endpoint,
    MalformedCheckError,
    MediaPath,
    PathLost,
    PathSelected,
    SendCheck,
    candidate_pairs,
    host_candidates,
    host_priority,
    is_check_datagram,
    open_check,
    pair_priority,
    seal_check,
)

KEY = ConnectivityKey.derive(bytes(range(32)), "C" * 22)
OTHER_KEY = ConnectivityKey.derive(bytes(32), "C" * 22)
A = Endpoint(address="10.0.0.1", port=4001)
A_LO = Endpoint(address="127.0.0.1", port=4002)
B = Endpoint(address="10.0.0.2", port=5001)
B_LO = Endpoint(address="127.0.0.1", port=5002)
B6 = Endpoint(address="fd00::2", port=5003)


def seeded_rng(seed: int) -> Callable[[int], bytes]:
    generator = random.Random(seed)
    return generator.randbytes


# -- candidates ------------------------------------------------------------------------------


def test_host_priorities_follow_rfc_8445() -> None:
    # RFC 8445 section 5.1.2.1 with type preference 126, component 1
    assert host_priority(65_535) == 126 * 2**24 + 65_535 * 2**8 + 255
    local, loopback = host_candidates([A, A_LO])
    assert local.priority > loopback.priority
    assert pair_priority(10, 20) == 2**32 * 10 + 2 * 20 + 0
    assert pair_priority(20, 10) == 2**32 * 10 + 2 * 20 + 1


def test_pairs_join_one_family_and_one_scope_best_first() -> None:
    mine = host_candidates([A, A_LO])
    theirs = host_candidates([B, B_LO, B6])
    pairs = candidate_pairs(mine, theirs, controlling=True)
    assert [(p.local.endpoint, p.remote.endpoint) for p in pairs] == [(A, B), (A_LO, B_LO)]
    assert pairs[0].priority > pairs[1].priority
    # both agents compute the same pair priorities (G is always the controlling side's)
    mirrored = candidate_pairs(theirs, mine, controlling=False)
    assert sorted(p.priority for p in mirrored) == sorted(p.priority for p in pairs)
    many = host_candidates(Endpoint(address=f"10.0.1.{i}", port=1000) for i in range(1, 30))
    assert len(many) == 16
    assert len(candidate_pairs(many, many, controlling=True)) == MAX_CANDIDATE_PAIRS


# -- the check datagram ------------------------------------------------------------------------


def check(**fields: object) -> ConnectivityCheck:
    values: dict[str, object] = {
        "type": CheckType.REQUEST,
        "transaction_id": bytes(12),
        "from_controlling": True,
        "nominate": False,
        "source": A,
        "destination": B,
    }
    values.update(fields)
    return ConnectivityCheck(**values)  # type: ignore[arg-type]


def test_check_round_trip_and_magic() -> None:
    for item in (check(), check(nominate=True), check(type=CheckType.RESPONSE, source=B, destination=A)):
        data = seal_check(item, KEY)
        assert is_check_datagram(data) and data[0] == CHECK_MAGIC
        assert open_check(data, KEY, received_on=item.destination, source=item.source) == item
    v6 = check(source=Endpoint(address="fd00::1", port=1), destination=B6)
    assert open_check(seal_check(v6, KEY), KEY, received_on=B6, source=v6.source) == v6


def test_a_check_under_another_key_is_refused() -> None:
    with pytest.raises(CheckAuthenticationError):
        open_check(seal_check(check(), OTHER_KEY), KEY, received_on=B, source=A)


def test_every_flipped_bit_is_refused() -> None:
    data = seal_check(check(nominate=True), KEY)
    for index in range(len(data)):
        for bit in (0x01, 0x80):
            tampered = bytearray(data)
            tampered[index] ^= bit
            with pytest.raises((CheckAuthenticationError, MalformedCheckError)):
                open_check(bytes(tampered), KEY, received_on=B, source=A)


def test_a_check_replayed_from_or_to_another_address_is_refused() -> None:
    data = seal_check(check(), KEY)
    attacker = Endpoint(address="10.0.0.66", port=4001)
    with pytest.raises(CheckAuthenticationError, match="other addresses"):
        open_check(data, KEY, received_on=B, source=attacker)
    with pytest.raises(CheckAuthenticationError, match="other addresses"):
        open_check(data, KEY, received_on=B_LO, source=A)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xc1",
        bytes([0xC1, 3]) + bytes(60),
        bytes([0xC1, 1, 0x04]) + bytes(41),
        bytes([0xC1, 1, 0, 0]) + bytes(40),
    ],
)
def test_malformed_checks(data: bytes) -> None:
    with pytest.raises(MalformedCheckError):
        open_check(data, KEY, received_on=B, source=A)


def test_a_response_cannot_nominate() -> None:
    with pytest.raises(LocalProtocolError):
        check(type=CheckType.RESPONSE, nominate=True)
    data = bytearray(seal_check(check(type=CheckType.RESPONSE), KEY))
    data[2] |= 0x01
    with pytest.raises(MalformedCheckError):
        open_check(bytes(data), KEY, received_on=B, source=A)


# -- agents on a simulated network --------------------------------------------------------------


class Network:
    """Datagrams between agents with a fixed delay; ``blocked`` pairs of endpoints drop them."""

    def __init__(self, agents: Iterable[ConnectivityAgent], *, delay: float = 0.005) -> None:
        self.agents = list(agents)
        self.owner = {c.endpoint: agent for agent in self.agents for c in agent.local_candidates}
        self.delay = delay
        self.blocked: set[tuple[Endpoint, Endpoint]] = set()
        self.in_flight: list[tuple[float, SendCheck]] = []
        self.outcomes: dict[int, list[AgentAction]] = {id(a): [] for a in self.agents}
        self.now = 0.0

    def handle(self, agent: ConnectivityAgent, actions: list[AgentAction]) -> None:
        for action in actions:
            if isinstance(action, SendCheck):
                if (action.local, action.remote) not in self.blocked:
                    self.in_flight.append((self.now + self.delay, action))
            else:
                self.outcomes[id(agent)].append(action)

    def run(self, until: float, step: float = 0.001) -> None:
        while self.now < until:
            self.now = round(self.now + step, 6)
            due = [item for item in self.in_flight if item[0] <= self.now]
            self.in_flight = [item for item in self.in_flight if item[0] > self.now]
            for _, send in due:
                target = self.owner.get(send.remote)
                if target is not None:
                    self.handle(
                        target, target.receive(send.data, received_on=send.remote, source=send.local, now=self.now)
                    )
            for agent in self.agents:
                deadline = agent.next_deadline()
                if deadline is not None and deadline <= self.now:
                    self.handle(agent, agent.poll(self.now))


def agents(
    controlling: list[Endpoint], controlled: list[Endpoint], *, key_b: ConnectivityKey = KEY
) -> tuple[ConnectivityAgent, ConnectivityAgent]:
    a = ConnectivityAgent(
        role=CheckRole.CONTROLLING, key=KEY, local_candidates=host_candidates(controlling), rng=seeded_rng(1), now=0.0
    )
    b = ConnectivityAgent(
        role=CheckRole.CONTROLLED, key=key_b, local_candidates=host_candidates(controlled), rng=seeded_rng(2), now=0.0
    )
    return a, b


def exchange(net: Network, a: ConnectivityAgent, b: ConnectivityAgent) -> None:
    net.handle(a, a.set_remote_candidates(b.local_candidates, net.now))
    net.handle(b, b.set_remote_candidates(a.local_candidates, net.now))


def test_both_agents_select_the_best_pair() -> None:
    a, b = agents([A, A_LO], [B, B_LO])
    net = Network([a, b])
    exchange(net, a, b)
    net.run(0.5)
    assert a.state is b.state is AgentState.SELECTED
    assert a.selected == MediaPath(local=A, remote=B)
    assert b.selected == MediaPath(local=B, remote=A)
    assert net.outcomes[id(a)] == [PathSelected(path=a.selected)]
    assert net.outcomes[id(b)] == [PathSelected(path=b.selected)]
    net.run(3 * CONSENT_TIMEOUT_SECONDS)  # keepalives keep consent
    assert a.state is b.state is AgentState.SELECTED


def test_a_blocked_pair_is_skipped() -> None:
    a, b = agents([A, A_LO], [B, B_LO])
    net = Network([a, b])
    net.blocked |= {(A, B), (B, A)}
    exchange(net, a, b)
    net.run(1.0)
    assert a.selected == MediaPath(local=A_LO, remote=B_LO)
    assert b.selected == MediaPath(local=B_LO, remote=A_LO)


def test_the_controlled_agent_may_be_nominated_before_it_has_the_candidates() -> None:
    a, b = agents([A], [B])
    net = Network([a, b])
    net.handle(a, a.set_remote_candidates(b.local_candidates, 0.0))
    net.run(0.5)
    assert b.state is AgentState.SELECTED and a.state is AgentState.SELECTED
    assert b.set_remote_candidates(a.local_candidates, net.now) == []


def test_no_path_fails_after_the_timeout() -> None:
    a, b = agents([A], [B])
    net = Network([a, b])
    net.blocked |= {(A, B)}  # one-way block: B's checks reach A, A's never reach B
    exchange(net, a, b)
    net.run(DIRECT_CONNECT_TIMEOUT_SECONDS - 0.01)
    assert a.state is AgentState.CHECKING and b.state is AgentState.CHECKING
    net.run(DIRECT_CONNECT_TIMEOUT_SECONDS + 0.01)
    assert a.state is AgentState.FAILED and b.state is AgentState.CHECKING  # the callee waits longer
    net.run(DIRECT_CONNECT_TIMEOUT_SECONDS + CONTROLLED_EXTRA_WAIT_SECONDS + 0.01)
    assert b.state is AgentState.FAILED
    assert [type(o) for o in net.outcomes[id(a)]] == [ChecksFailed]
    assert a.next_deadline() is None


def test_an_attacker_answering_every_request_never_gets_the_path() -> None:
    """An on-path attacker sees each request (and its transaction id, sent in clear) and answers it
    at once, but without the call's secret its responses do not verify: no pair succeeds."""
    a, _ = agents([A], [B])
    forged = refused = 0
    now = 0.0
    actions = a.set_remote_candidates(host_candidates([B]), now)
    while now < DIRECT_CONNECT_TIMEOUT_SECONDS + 0.1:
        for action in actions:
            if isinstance(action, SendCheck):
                transaction_id = action.data[3:15]
                answer = ConnectivityCheck(
                    type=CheckType.RESPONSE,
                    transaction_id=transaction_id,
                    from_controlling=False,
                    nominate=False,
                    source=B,
                    destination=A,
                )
                forged += 1
                try:
                    a.receive(seal_check(answer, OTHER_KEY), received_on=A, source=B, now=now)
                except CheckAuthenticationError:
                    refused += 1
        now += 0.01
        actions = a.poll(now)
    assert forged >= 10 and refused == forged
    assert a.state is AgentState.FAILED and a.selected is None


def test_forged_and_unexpected_responses_are_refused() -> None:
    a, _ = agents([A], [B])
    actions = a.set_remote_candidates(host_candidates([B]), 0.0)
    request = next(x for x in actions if isinstance(x, SendCheck))
    sent = open_check(request.data, KEY, received_on=B, source=A)
    good = ConnectivityCheck(
        type=CheckType.RESPONSE,
        transaction_id=sent.transaction_id,
        from_controlling=False,
        nominate=False,
        source=B,
        destination=A,
    )
    with pytest.raises(CheckAuthenticationError):  # an attacker without the key
        a.receive(seal_check(good, OTHER_KEY), received_on=A, source=B, now=0.01)
    unknown = ConnectivityCheck(
        type=CheckType.RESPONSE,
        transaction_id=b"x" * 12,
        from_controlling=False,
        nominate=False,
        source=B,
        destination=A,
    )
    with pytest.raises(CheckMismatchError, match="no outstanding request"):
        a.receive(seal_check(unknown, KEY), received_on=A, source=B, now=0.01)
    reflected = ConnectivityCheck(
        type=CheckType.REQUEST, transaction_id=b"y" * 12, from_controlling=True, nominate=True, source=B, destination=A
    )
    with pytest.raises(CheckMismatchError, match="own role"):
        a.receive(seal_check(reflected, KEY), received_on=A, source=B, now=0.01)
    assert a.state is AgentState.CHECKING
    a.receive(seal_check(good, KEY), received_on=A, source=B, now=0.02)  # the real answer still counts
    with pytest.raises(LocalProtocolError):
        a.receive(seal_check(good, KEY), received_on=B, source=A, now=0.02)  # not our socket


def test_consent_lost_when_the_peer_goes_silent() -> None:
    a, b = agents([A], [B])
    net = Network([a, b])
    exchange(net, a, b)
    net.run(0.5)
    assert a.state is AgentState.SELECTED
    net.blocked |= {(B, A)}  # B's responses and checks stop arriving
    selected_at = net.now
    net.run(selected_at + CONSENT_TIMEOUT_SECONDS + 1.5)
    assert a.state is AgentState.LOST
    lost = net.outcomes[id(a)][-1]
    assert isinstance(lost, PathLost) and lost.path == MediaPath(local=A, remote=B)
    assert b.state is AgentState.LOST  # its keepalives' responses were blocked too


def test_candidates_that_pair_with_nothing_fail_at_once() -> None:
    a, _ = agents([A], [B6])
    assert a.set_remote_candidates(host_candidates([B6]), 0.0) == [
        ChecksFailed(reason="no local candidate pairs with the peer's (address family, scope)")
    ]
    assert a.state is AgentState.FAILED and a.next_deadline() is None


def test_agent_table_has_final_states_only_where_expected() -> None:
    sources = {state for state, _ in AGENT_TRANSITIONS}
    assert sources == set(AgentState) - {AgentState.FAILED, AgentState.LOST}
