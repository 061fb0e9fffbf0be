"""The control plane, JSON under /v1."""
