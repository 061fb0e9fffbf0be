"""roost: run many isolated instances of an application on one host."""

from typing import Any


def __getattr__(name: str) -> Any:
    # read on first use: package metadata costs every CLI call tens of milliseconds
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("roost")
        except PackageNotFoundError:  # a source tree that was never installed
            return "0.0.0"
    raise AttributeError(f"module 'roost' has no attribute {name!r}")
