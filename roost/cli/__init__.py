"""The ``roost`` command: a client of the API (it starts the server when none runs)."""
