"""Range and type checks for :class:`TestSettings` (filled in with the config parser)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlpace.loadgen.settings import TestSettings


def validate_test_settings(settings: TestSettings) -> None:
    """Raise :class:`mlpace.errors.SettingsError` naming the first field with a wrong value."""
    return None
