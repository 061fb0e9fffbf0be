"""The data plane's storage: one namespace per instance, behind a small typed protocol."""
