"""The connectivity agent: checks candidate pairs, selects the direct media path, keeps it
alive (after RFC 8445 ICE with regular nomination, and RFC 7675 consent freshness). Sans-I/O:
the caller binds the sockets, delivers datagrams with :meth:`ConnectivityAgent.receive`, calls
:meth:`ConnectivityAgent.poll` at :meth:`ConnectivityAgent.next_deadline`, and carries out the
returned actions (:class:`SendCheck`, :class:`PathSelected`, :class:`ChecksFailed`,
:class:`PathLost`).

Rules, each with a named bound:

* Both agents check every pair (:func:`~enseal.signalling.candidates.candidate_pairs`), highest
  priority first, one check every :data:`CHECK_PACING_SECONDS`, each pair again after
  :data:`CHECK_RETRY_SECONDS` until it succeeds. A request that arrives on a pair makes that
  pair's next check due at once (a triggered check).
* A pair *succeeds* for the agent that sent a request on it and got the authenticated response
  back from the same address to the same socket: both directions of that UDP flow work.
* The controlling agent (the caller) waits :data:`NOMINATION_DELAY_SECONDS` after its first
  success for better pairs, then nominates the best succeeded pair by a request with the
  nominate flag; the response to it selects the path. The controlled agent (the callee) selects
  the pair a valid nominating request arrived on.
* Not selected :data:`DIRECT_CONNECT_TIMEOUT_SECONDS` after start (the controlled agent waits
  :data:`CONTROLLED_EXTRA_WAIT_SECONDS` longer, so that a nomination sent just before the
  controlling agent's deadline still lands): :class:`ChecksFailed`; the caller falls back to
  the relay.
* Once selected, each agent sends a check on the path every :data:`KEEPALIVE_INTERVAL_SECONDS`;
  no authenticated response for :data:`CONSENT_TIMEOUT_SECONDS`: :class:`PathLost`.
* Outstanding requests are bounded by :data:`MAX_PENDING_CHECKS` (the oldest is forgotten).

The agent's own state is :class:`AgentState` with the table :data:`AGENT_TRANSITIONS`.
Decision record: docs/decisions/0602-connectivity-checks.md.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from enseal.crypto import RandomSource
from enseal.errors import InternalError, LocalProtocolError
from enseal.signalling.candidates import Candidate, CandidatePair, Endpoint, candidate_pairs
from enseal.signalling.connectivity_check import (
    TRANSACTION_ID_SIZE,
    CheckType,
    ConnectivityCheck,
    ConnectivityKey,
    open_check,
    seal_check,
)
from enseal.signalling.errors import CheckMismatchError

CHECK_PACING_SECONDS: Final = 0.02
"""Ta: time between two new checks of one agent (RFC 8445 section 14.2 paces checks)."""

CHECK_RETRY_SECONDS: Final = 0.2
"""Time before a pair that has not succeeded is checked again."""

NOMINATION_DELAY_SECONDS: Final = 0.1
"""How long the controlling agent waits after its first succeeded pair for a better one."""

DIRECT_CONNECT_TIMEOUT_SECONDS: Final = 3.0
"""How long the agents try to find a direct path before the call falls back to the relay."""

CONTROLLED_EXTRA_WAIT_SECONDS: Final = 1.0
"""How much longer the controlled agent waits for a nomination than the controlling agent tries."""

KEEPALIVE_INTERVAL_SECONDS: Final = 1.0
"""Time between two consent checks on the selected path."""

CONSENT_TIMEOUT_SECONDS: Final = 5.0
"""A selected path with no authenticated response for this long is lost (RFC 7675 uses 30 s;
Enseal has a relay to fall back to and would rather switch early)."""

MAX_PENDING_CHECKS: Final = 128
"""Most requests an agent keeps waiting for a response."""


class CheckRole(enum.Enum):
    CONTROLLING = "controlling"
    """The caller: nominates the path."""
    CONTROLLED = "controlled"
    """The callee: takes the path the caller nominates."""


class AgentState(enum.Enum):
    WAITING = "waiting for the remote candidates"
    CHECKING = "checking pairs"
    NOMINATING = "nominating a pair"
    SELECTED = "path selected"
    FAILED = "no direct path"
    LOST = "path lost"


class AgentInput(enum.Enum):
    REMOTE_CANDIDATES = "remote candidates arrived"
    NO_PAIRS = "remote candidates arrived, none pairs with a local one"
    NOMINATION_DUE = "nomination delay passed with a succeeded pair"
    NOMINATION_CONFIRMED = "response to the nominating request"
    NOMINATED = "nominating request from the controlling agent"
    TIMEOUT = "direct connect timeout"
    CONSENT_EXPIRED = "no consent response within the consent timeout"


AGENT_TRANSITIONS: Final[dict[tuple[AgentState, AgentInput], AgentState]] = {
    (AgentState.WAITING, AgentInput.REMOTE_CANDIDATES): AgentState.CHECKING,
    (AgentState.WAITING, AgentInput.NO_PAIRS): AgentState.FAILED,
    (AgentState.WAITING, AgentInput.NOMINATED): AgentState.SELECTED,
    (AgentState.WAITING, AgentInput.TIMEOUT): AgentState.FAILED,
    (AgentState.CHECKING, AgentInput.NOMINATION_DUE): AgentState.NOMINATING,
    (AgentState.CHECKING, AgentInput.NOMINATED): AgentState.SELECTED,
    (AgentState.CHECKING, AgentInput.TIMEOUT): AgentState.FAILED,
    (AgentState.NOMINATING, AgentInput.NOMINATION_CONFIRMED): AgentState.SELECTED,
    (AgentState.NOMINATING, AgentInput.TIMEOUT): AgentState.FAILED,
    (AgentState.SELECTED, AgentInput.CONSENT_EXPIRED): AgentState.LOST,
}
"""The agent's moves; FAILED and LOST are final."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MediaPath:
    """The selected direct path: send from the socket bound to ``local`` to ``remote``."""

    local: Endpoint
    remote: Endpoint

    def __str__(self) -> str:
        return f"{self.local} -> {self.remote}"


@dataclass(frozen=True, slots=True, kw_only=True)
class SendCheck:
    """Send ``data`` from the socket bound to ``local`` to ``remote``."""

    local: Endpoint
    remote: Endpoint
    data: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class PathSelected:
    path: MediaPath


@dataclass(frozen=True, slots=True, kw_only=True)
class ChecksFailed:
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PathLost:
    path: MediaPath
    reason: str


AgentAction = SendCheck | PathSelected | ChecksFailed | PathLost


class _PairCheck:
    __slots__ = ("due_at", "pair", "succeeded")

    def __init__(self, pair: CandidatePair, due_at: float) -> None:
        self.pair = pair
        self.due_at = due_at
        self.succeeded = False


@dataclass(frozen=True, slots=True)
class _Pending:
    local: Endpoint
    remote: Endpoint
    nominate: bool


def _check_now(now: float) -> None:
    if not math.isfinite(now):
        raise LocalProtocolError(f"now must be a finite time in seconds, got {now}")


class ConnectivityAgent:
    """One side's checks for one call."""

    def __init__(
        self,
        *,
        role: CheckRole,
        key: ConnectivityKey,
        local_candidates: Sequence[Candidate],
        rng: RandomSource,
        now: float,
        timeout: float = DIRECT_CONNECT_TIMEOUT_SECONDS,
    ) -> None:
        _check_now(now)
        if not timeout > 0:
            raise LocalProtocolError(f"timeout must be positive, got {timeout}")
        self.role = role
        self._key = key
        self._local = tuple(local_candidates)
        self._local_endpoints = frozenset(c.endpoint for c in self._local)
        self._rng = rng
        self._state = AgentState.WAITING
        extra = CONTROLLED_EXTRA_WAIT_SECONDS if role is CheckRole.CONTROLLED else 0.0
        self._timeout = timeout + extra
        self._deadline = now + self._timeout
        self._checks: list[_PairCheck] = []
        self._pending: dict[bytes, _Pending] = {}
        self._next_pace_at = now
        self._nominate_at: float | None = None
        self._nominated: CandidatePair | None = None
        self._nominate_due_at = math.inf
        self._selected: MediaPath | None = None
        self._keepalive_at = math.inf
        self._consent_until = math.inf

    # -- state ------------------------------------------------------------------------------

    @property
    def state(self) -> AgentState:
        return self._state

    @property
    def selected(self) -> MediaPath | None:
        return self._selected

    @property
    def local_candidates(self) -> tuple[Candidate, ...]:
        return self._local

    def _move(self, event: AgentInput) -> None:
        after = AGENT_TRANSITIONS.get((self._state, event))
        if after is None:
            raise InternalError(f"connectivity agent: {event.value} in state {self._state.value}")
        self._state = after

    def next_deadline(self) -> float | None:
        """When :meth:`poll` has work next (None: never again)."""
        if self._state in (AgentState.FAILED, AgentState.LOST):
            return None
        if self._state is AgentState.SELECTED:
            return min(self._keepalive_at, self._consent_until)
        deadline = self._deadline
        if self._state is AgentState.CHECKING:
            due = min((c.due_at for c in self._checks if not c.succeeded), default=math.inf)
            deadline = min(deadline, max(due, self._next_pace_at))
            if self._nominate_at is not None:
                deadline = min(deadline, self._nominate_at)
        elif self._state is AgentState.NOMINATING:
            deadline = min(deadline, self._nominate_due_at)
        return deadline

    # -- input ------------------------------------------------------------------------------

    def set_remote_candidates(self, candidates: Sequence[Candidate], now: float) -> list[AgentAction]:
        """The peer's candidates arrived (from its ``call.candidates``)."""
        _check_now(now)
        if self._state is not AgentState.WAITING:
            if self._state is AgentState.SELECTED:
                return []  # nominated before the list came: nothing left to check
            raise LocalProtocolError(f"remote candidates given in state {self._state.value}")
        pairs = candidate_pairs(self._local, candidates, controlling=self.role is CheckRole.CONTROLLING)
        if not pairs:
            self._move(AgentInput.NO_PAIRS)  # the peer pairs nothing either: no nomination can come
            return [ChecksFailed(reason="no local candidate pairs with the peer's (address family, scope)")]
        self._checks = [_PairCheck(pair, now) for pair in pairs]
        self._move(AgentInput.REMOTE_CANDIDATES)
        return self.poll(now)

    def receive(self, data: bytes, *, received_on: Endpoint, source: Endpoint, now: float) -> list[AgentAction]:
        """A check datagram arrived from ``source`` on the socket bound to ``received_on``.

        Raises :class:`~enseal.signalling.errors.MalformedCheckError`,
        :class:`~enseal.signalling.errors.CheckAuthenticationError` or
        :class:`~enseal.signalling.errors.CheckMismatchError` for a check that is refused; the
        agent's state is then unchanged.
        """
        _check_now(now)
        if received_on not in self._local_endpoints:
            raise LocalProtocolError(f"{received_on} is not a local candidate of this agent")
        if self._state in (AgentState.FAILED, AgentState.LOST):
            return []
        check = open_check(data, self._key, received_on=received_on, source=source)
        if check.from_controlling == (self.role is CheckRole.CONTROLLING):
            raise CheckMismatchError("connectivity check claims this agent's own role (a reflected check)")
        if check.type is CheckType.REQUEST:
            return self._on_request(check, now)
        return self._on_response(check, now)

    def _on_request(self, check: ConnectivityCheck, now: float) -> list[AgentAction]:
        actions: list[AgentAction] = [
            self._send(
                CheckType.RESPONSE,
                local=check.destination,
                remote=check.source,
                nominate=False,
                transaction_id=check.transaction_id,
            )
        ]
        if self.role is CheckRole.CONTROLLED and check.nominate and self._selected is None:
            self._move(AgentInput.NOMINATED)
            path = MediaPath(local=check.destination, remote=check.source)
            self._select(path, now)
            return [*actions, PathSelected(path=path), *self.poll(now)]
        if self._state is AgentState.CHECKING:
            for pair_check in self._checks:  # triggered check
                pair = pair_check.pair
                if not pair_check.succeeded and (pair.local.endpoint, pair.remote.endpoint) == (
                    check.destination,
                    check.source,
                ):
                    pair_check.due_at = now
                    self._next_pace_at = now
            actions += self.poll(now)
        return actions

    def _on_response(self, check: ConnectivityCheck, now: float) -> list[AgentAction]:
        pending = self._pending.get(check.transaction_id)
        if pending is None:
            raise CheckMismatchError("connectivity response to no outstanding request")
        if (pending.local, pending.remote) != (check.destination, check.source):
            raise CheckMismatchError(
                "connectivity response came over another pair than its request",
                f"request {pending.local} -> {pending.remote}, response from {check.source} to {check.destination}",
            )
        del self._pending[check.transaction_id]
        path = MediaPath(local=pending.local, remote=pending.remote)
        if self._state is AgentState.SELECTED:
            if path == self._selected:
                self._consent_until = now + CONSENT_TIMEOUT_SECONDS
            return []
        if pending.nominate and self._state is AgentState.NOMINATING:
            self._move(AgentInput.NOMINATION_CONFIRMED)
            self._select(path, now)
            return [PathSelected(path=path), *self.poll(now)]
        for pair_check in self._checks:
            pair = pair_check.pair
            if (pair.local.endpoint, pair.remote.endpoint) == (path.local, path.remote):
                pair_check.succeeded = True
        if self.role is CheckRole.CONTROLLING and self._state is AgentState.CHECKING and self._nominate_at is None:
            best = self._checks[0] if self._checks else None
            # The best pair of all succeeded: nothing better can come, nominate now.
            self._nominate_at = now if best is not None and best.succeeded else now + NOMINATION_DELAY_SECONDS
        return self.poll(now)

    def _select(self, path: MediaPath, now: float) -> None:
        self._selected = path
        self._checks = []
        self._keepalive_at = now + KEEPALIVE_INTERVAL_SECONDS
        self._consent_until = now + CONSENT_TIMEOUT_SECONDS

    # -- timers -----------------------------------------------------------------------------

    def poll(self, now: float) -> list[AgentAction]:
        """Send what is due, and fail or lose the path when its time is up."""
        _check_now(now)
        actions: list[AgentAction] = []
        state = self._state
        if state in (AgentState.WAITING, AgentState.CHECKING, AgentState.NOMINATING) and now >= self._deadline:
            self._move(AgentInput.TIMEOUT)
            self._pending.clear()
            return [ChecksFailed(reason=f"no direct path within {self._timeout:g} s")]
        if state is AgentState.CHECKING:
            if self._nominate_at is not None and now >= self._nominate_at:
                self._nominated = next(c.pair for c in self._checks if c.succeeded)
                self._move(AgentInput.NOMINATION_DUE)
                self._nominate_due_at = now
            elif now >= self._next_pace_at:
                due = next((c for c in self._checks if not c.succeeded and c.due_at <= now), None)
                if due is not None:
                    due.due_at = now + CHECK_RETRY_SECONDS
                    self._next_pace_at = now + CHECK_PACING_SECONDS
                    actions.append(self._request(due.pair.local.endpoint, due.pair.remote.endpoint, nominate=False))
        if self._state is AgentState.NOMINATING and now >= self._nominate_due_at:
            assert self._nominated is not None
            self._nominate_due_at = now + CHECK_RETRY_SECONDS
            pair = self._nominated
            actions.append(self._request(pair.local.endpoint, pair.remote.endpoint, nominate=True))
        if self._state is AgentState.SELECTED:
            assert self._selected is not None
            if now >= self._consent_until:
                self._move(AgentInput.CONSENT_EXPIRED)
                self._pending.clear()
                return [
                    PathLost(
                        path=self._selected,
                        reason=f"no consent response for {CONSENT_TIMEOUT_SECONDS} s on {self._selected}",
                    )
                ]
            if now >= self._keepalive_at:
                self._keepalive_at = now + KEEPALIVE_INTERVAL_SECONDS
                actions.append(self._request(self._selected.local, self._selected.remote, nominate=False))
        return actions

    # -- output -----------------------------------------------------------------------------

    def _request(self, local: Endpoint, remote: Endpoint, *, nominate: bool) -> SendCheck:
        transaction_id = self._rng(TRANSACTION_ID_SIZE)
        if len(self._pending) >= MAX_PENDING_CHECKS:
            del self._pending[next(iter(self._pending))]
        self._pending[transaction_id] = _Pending(local=local, remote=remote, nominate=nominate)
        return self._send(
            CheckType.REQUEST, local=local, remote=remote, nominate=nominate, transaction_id=transaction_id
        )

    def _send(
        self, type_: CheckType, *, local: Endpoint, remote: Endpoint, nominate: bool, transaction_id: bytes
    ) -> SendCheck:
        check = ConnectivityCheck(
            type=type_,
            transaction_id=transaction_id,
            from_controlling=self.role is CheckRole.CONTROLLING,
            nominate=nominate,
            source=local,
            destination=remote,
        )
        return SendCheck(local=local, remote=remote, data=seal_check(check, self._key))
