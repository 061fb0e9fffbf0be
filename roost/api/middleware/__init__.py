"""What every request passes before a route sees it, outermost first:

1. ``hosts.py``: only names this server answers to (DNS rebinding stops here);
2. ``origins.py``: no cross-origin browser request acts (CSRF stops here);
3. ``bodies.py`` (control plane): JSON only, bounded in size and in time.

The data plane bounds its own bodies (``api/cache.py``), on its hot path.
"""
