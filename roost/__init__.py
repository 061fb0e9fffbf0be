"""roost: run many isolated instances of an application on one host."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("roost")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
