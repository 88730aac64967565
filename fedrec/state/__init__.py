"""Where simulated clients keep their private state between rounds."""

from fedrec.state.store import ClientStateStore

__all__ = ["ClientStateStore"]
