"""Hypothesis strategies for the call signalling messages."""

from __future__ import annotations

import ipaddress

from hypothesis import strategies as st

from enseal.signalling import (
    CallAccept,
    CallCandidates,
    CallConnected,
    CallEncryption,
    CallEnd,
    CallInvite,
    CallMediaKey,
    CallMessage,
    CallRinging,
    CallWelcome,
    Candidate,
    Endpoint,
    EndReason,
    MediaOffer,
)

call_ids = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", min_size=22, max_size=64
)
codec_names = st.from_regex(r"\A[a-z0-9][a-z0-9_-]{0,15}\Z")
media_offers = st.builds(
    MediaOffer,
    audio_codecs=st.lists(codec_names, max_size=8, unique=True).map(tuple),
    video_codecs=st.lists(codec_names, max_size=8, unique=True).map(tuple),
)
addresses = st.one_of(st.ip_addresses(v=4).map(str), st.ip_addresses(v=6).map(lambda a: str(ipaddress.IPv6Address(a))))
endpoints = st.builds(Endpoint, address=addresses, port=st.integers(1, 65_535))
candidates = st.builds(Candidate, endpoint=endpoints, priority=st.integers(1, 2**32 - 1))
users = st.from_regex(r"\A[a-z0-9]([a-z0-9._-]{0,10}[a-z0-9])?@[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?\Z")

messages: st.SearchStrategy[CallMessage] = st.one_of(
    st.builds(
        CallInvite,
        call_id=call_ids,
        callee=users,
        media=media_offers,
        e2ee_capable=st.booleans(),
        call_secret=st.binary(min_size=32, max_size=32),
        encryption=st.none() | st.sampled_from(CallEncryption),
    ),
    st.builds(CallRinging, call_id=call_ids, encryption=st.sampled_from(CallEncryption)),
    st.builds(
        CallAccept,
        call_id=call_ids,
        media=media_offers,
        key_package=st.none() | st.binary(min_size=1, max_size=600),
    ),
    st.builds(CallWelcome, call_id=call_ids, welcome=st.binary(min_size=1, max_size=2000)),
    st.builds(
        CallMediaKey,
        call_id=call_ids,
        media_key=st.sampled_from([16, 32]).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
    ),
    st.builds(
        CallCandidates,
        call_id=call_ids,
        candidates=st.lists(candidates, max_size=16, unique_by=lambda c: c.endpoint).map(tuple),
    ),
    st.builds(CallConnected, call_id=call_ids),
    st.builds(CallEnd, call_id=call_ids, reason=st.sampled_from(EndReason)),
)
