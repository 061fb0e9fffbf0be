"""The HTTP surfaces: control plane under /v1, the seed-000 facade, /health."""
