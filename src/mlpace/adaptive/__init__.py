"""Scheduler-driven adaptive runtime (stands alone: NumPy only)."""
