"""Client-side token counting: a real tokenizer file when given, whitespace words otherwise.

Server-reported usage is preferred (see :mod:`mlpace.serving.client`); these count tokens when a
server reports none, and give the second opinion whose disagreement with the server is reported.
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any, Protocol

from mlpace.errors import DatasetError, MissingDependencyError


class Tokenizer(Protocol):
    name: str

    def ids(self, text: str) -> list[int]: ...


class WhitespaceTokenizer:
    """One token per whitespace-separated word; ids are a stable hash of the word.

    Exact for servers whose vocabulary is words (``mlpace serve``'s models); only an estimate for
    sub-word models, which is why ``--tokenizer`` exists.
    """

    name = "whitespace words"

    def ids(self, text: str) -> list[int]:
        return [word_id(w) for w in text.split()]


def word_id(word: str) -> int:
    """A stable id for a word (CRC-32 folded into 31 bits, above the special ids 0-2)."""
    return 3 + zlib.crc32(word.encode()) % 2_000_000_000


class FileTokenizer:
    """A Hugging Face ``tokenizer.json`` read with the ``tokenizers`` package (no hub access)."""

    def __init__(self, path: Path) -> None:
        try:
            from tokenizers import Tokenizer as HfTokenizer
        except ImportError:
            raise MissingDependencyError("tokenizers", "serve") from None
        file = path / "tokenizer.json" if path.is_dir() else path
        if not file.is_file():
            raise DatasetError(f"--tokenizer {path}: no tokenizer.json there")
        try:
            self._tok: Any = HfTokenizer.from_file(str(file))
        except Exception as exc:  # the library raises plain Exceptions for bad files
            raise DatasetError(f"--tokenizer {file}: not a tokenizer file ({exc})") from None
        self.name = f"tokenizer {file}"

    def ids(self, text: str) -> list[int]:
        return list(self._tok.encode(text, add_special_tokens=False).ids)


def load_tokenizer(spec: str | None) -> Tokenizer:
    """``None`` or ``whitespace``: words; otherwise a path to a tokenizer.json or its folder."""
    if spec is None or spec == "whitespace":
        return WhitespaceTokenizer()
    return FileTokenizer(Path(spec))


__all__ = ["FileTokenizer", "Tokenizer", "WhitespaceTokenizer", "load_tokenizer", "word_id"]
