"""Compiled hot paths, built during ``pip install`` when a C compiler is present.

Every extension here is optional: a failed build leaves a warning, and the package falls back to
its pure-Python (or NumPy) implementation of the same thing, chosen at import time.
"""

import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

# Each module named here has a pure-Python twin; append new ones with optional=True.
EXTENSIONS: list[Extension] = []


class OptionalBuildExt(build_ext):
    """Builds what it can; a missing compiler or header costs speed, never the install."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # any build failure falls back to Python
            print(f"mlpace: extensions skipped ({exc}); using pure Python", file=sys.stderr)

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            print(f"mlpace: {ext.name} not built ({exc}); using pure Python", file=sys.stderr)


setup(ext_modules=EXTENSIONS, cmdclass={"build_ext": OptionalBuildExt})
