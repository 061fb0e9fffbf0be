"""The ``roost`` command: a client of the API (it starts the server when none runs).

Every command is a new process, so the CLI keeps what it imports and does before its
first request small. The modules that define commands evaluate their annotations at
import (no ``from __future__ import annotations``): Typer reads every command's
signature at each start, and a string annotation costs it an ``eval`` each time.
"""
