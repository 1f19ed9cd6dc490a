"""tripwire: a circuit breaker whose rules run in Rust (``tripwire._core``)."""

from tripwire._core import __version__

__all__ = ["__version__"]
