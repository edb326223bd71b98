"""enseal.client: the client SDK (layer L5; docs/client.md).

* :mod:`~enseal.client.account` -- :class:`Account`: the device's encrypted profile
  (:mod:`~enseal.client.profile_store`), identity and sign-in (:mod:`~enseal.client.device`),
  KeyPackages (:mod:`~enseal.client.key_package_pool`), pinned device keys
  (:mod:`~enseal.client.device_directory`), settings, policy and safety numbers.
* :mod:`~enseal.client.conversations` -- chat as MLS groups, without network I/O.
* :mod:`~enseal.client.session` -- :class:`DeviceSession`: the asyncio session over HTTPS and WSS
  (mailbox exactly once, outbox, reconnect, new devices joining, call signalling, the relay).
* :mod:`~enseal.client.call_driver` -- ``place_call`` / ``answer_call``: signalling, the call's MLS
  group (:mod:`~enseal.client.call_group`) or the service's key, and real media through
  :mod:`enseal.client.media`.

Errors are in :mod:`~enseal.client.errors`, inside the tree of :mod:`enseal.errors`.
"""
