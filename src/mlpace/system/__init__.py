"""The system description shared by inference runs, training runs and submission packages."""

from __future__ import annotations

from mlpace.system.describe import (
    USER_KEYS,
    DescriptionProblem,
    SystemDescriptionError,
    describe_system,
    load_description,
    needs_user,
    parse_assignments,
    required_keys,
    validate_description,
    write_description,
)

__all__ = [
    "USER_KEYS",
    "DescriptionProblem",
    "SystemDescriptionError",
    "describe_system",
    "load_description",
    "needs_user",
    "parse_assignments",
    "required_keys",
    "validate_description",
    "write_description",
]
