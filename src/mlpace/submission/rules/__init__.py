"""Versioned submission rules (data files read by :mod:`mlpace.submission.rules_data`)."""

__all__: list[str] = []
