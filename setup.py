"""Compiled hot paths, built during ``pip install`` when a C compiler is present.

Every extension here is optional: a failed build leaves a warning, and the package falls back to
its pure-Python (or NumPy) implementation of the same thing, chosen at import time.
"""

from setuptools import Extension, setup

EXTENSIONS: list[Extension] = []

setup(ext_modules=EXTENSIONS)
