"""Programming models: local (numpy, threads, shm), mpi (two-sided and RMA), mpishm."""

from __future__ import annotations

__all__: list[str] = []
