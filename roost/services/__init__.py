"""Use cases: each combines the registry, keys, quotas and (later) the runtime.

Every use case takes the calling :class:`~roost.auth.Actor` and asks
:func:`~roost.auth.authorize` before it acts.
"""
