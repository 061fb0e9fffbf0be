"""What every request passes before a route sees it, outermost first:

1. ``guard.py``: only names this server answers to (``hosts.py``: DNS rebinding stops
   here), and no cross-origin browser request acts (``origins.py``: CSRF stops here);
2. ``bodies.py`` (control plane): JSON only, bounded in size.

Time is bounded below them, in the server's protocol (``api/protocol.py``).

The data plane bounds its own bodies (``api/cache.py``), on its hot path.
"""
