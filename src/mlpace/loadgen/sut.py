"""The two protocols a user implements: the system under test and the query sample library.

Contract (the same as the official LoadGen's, minus its hangs):

* ``issue_queries(samples)`` receives a list of :class:`QuerySample`. Every sample must be
  answered exactly once by calling the ``complete`` callable the SUT was bound to (see
  :class:`ResponseSink`), from any thread, in any order, singly or in batches.
* ``flush_queries()`` is called once issuing has ended.
* The QSL loads and unloads samples by dataset index before and after they are issued.

Sample ids are small non-negative integers (the issue sequence number), so the load generator can
index preallocated arrays with them; never 0 is *not* guaranteed, unlike the official pointer ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol, runtime_checkable


class QuerySample(NamedTuple):
    """One sample of a query: ``id`` identifies the response, ``index`` is the QSL index.

    A NamedTuple (immutable, about three times cheaper to build than a frozen dataclass): the
    engine builds one per issued sample for SUTs without ``issue_query_ids``. The ``index``
    field shadows ``tuple.index()``; use ``sample.index`` as the QSL index only.
    """

    id: int
    index: int  # type: ignore[assignment]  # shadows tuple.index(), as the official field name


@dataclass(frozen=True, slots=True)
class QuerySampleResponse:
    """The answer for one sample. ``data`` is copied when it is logged (accuracy mode)."""

    id: int
    data: bytes = b""
    n_tokens: int = 0


@runtime_checkable
class SystemUnderTest(Protocol):
    name: str

    def issue_queries(self, samples: Sequence[QuerySample]) -> None: ...

    def flush_queries(self) -> None: ...


@runtime_checkable
class QuerySampleLibrary(Protocol):
    name: str
    total_sample_count: int
    performance_sample_count: int

    def load_samples(self, indices: Sequence[int]) -> None: ...

    def unload_samples(self, indices: Sequence[int]) -> None: ...


class ResponseSink(Protocol):
    """What a running test hands the SUT for answers (thread-safe)."""

    def complete(self, responses: Sequence[QuerySampleResponse]) -> None: ...

    def first_token(self, responses: Sequence[QuerySampleResponse]) -> None: ...
