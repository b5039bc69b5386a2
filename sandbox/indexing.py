"""Sorted secondary indexes and a small query planner for the stand-ins' list endpoints.

Providers page through large collections filtered by date ranges and sorted by a date.
Scanning and sorting 100,000 records per page request would make the stand-in, not the
client, the bottleneck of every benchmark, so each sortable/filterable field keeps its ids
in key order and a range filter becomes two binary searches.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

R = TypeVar("R")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def time_key(moment: datetime) -> int:
    """Microseconds since the epoch: an exact, compact sort key for an aware datetime."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class SortedIndex:
    """Record ids ordered by an integer key (ties keep insertion order).

    Two parallel ``array('q')`` columns: 16 bytes per entry instead of ~100 for tuples.
    Updates are O(n) memmoves, which is microseconds at the sizes served here.
    """

    __slots__ = ("_ids", "_keys")

    def __init__(self, pairs: Iterable[tuple[int, int]] = ()) -> None:
        ordered = sorted(pairs)
        self._keys = array("q", (k for k, _ in ordered))
        self._ids = array("q", (i for _, i in ordered))

    def __len__(self) -> int:
        return len(self._ids)

    def insert(self, key: int, record_id: int) -> None:
        pos = bisect_right(self._keys, key)
        self._keys.insert(pos, key)
        self._ids.insert(pos, record_id)

    def remove(self, key: int, record_id: int) -> None:
        lo, hi = bisect_left(self._keys, key), bisect_right(self._keys, key)
        for pos in range(lo, hi):
            if self._ids[pos] == record_id:
                del self._keys[pos]
                del self._ids[pos]
                return
        raise KeyError((key, record_id))

    def bounds(self, lo: int | None, hi: int | None) -> tuple[int, int]:
        start = 0 if lo is None else bisect_left(self._keys, lo)
        end = len(self._keys) if hi is None else bisect_right(self._keys, hi)
        return start, max(start, end)

    def count(self, lo: int | None, hi: int | None) -> int:
        start, end = self.bounds(lo, hi)
        return end - start

    def ids(self, lo: int | None = None, hi: int | None = None) -> list[int]:
        """Ids with ``lo <= key <= hi`` (either bound optional), in key order."""
        start, end = self.bounds(lo, hi)
        return self._ids[start:end].tolist()

    def window(
        self, start: int, end: int, offset: int, limit: int | None, descending: bool
    ) -> list[int]:
        """One page of the positions ``start:end``, read from either end."""
        size = end - start if limit is None else limit
        if descending:
            hi = end - offset
            lo = max(start, hi - size)
            page = self._ids[lo:hi].tolist() if lo < hi else []
            page.reverse()
            return page
        lo = start + offset
        hi = min(end, lo + size)
        return self._ids[lo:hi].tolist() if lo < hi else []


@dataclass(frozen=True, slots=True)
class RangeFilter:
    field: str
    lo: int | None
    hi: int | None


@dataclass(frozen=True, slots=True)
class QueryResult:
    ids: list[int]  # the requested page
    total: int  # all matches


class Collection(Generic[R]):
    """Records by id plus one :class:`SortedIndex` per keyed field.

    ``key_functions`` map a field name to a function returning the record's integer key, or
    None when the record has no value for it (such records are absent from that index, so a
    range filter on the field excludes them, as a provider's SQL ``BETWEEN`` would).
    """

    def __init__(self, key_functions: Mapping[str, Callable[[R], int | None]]) -> None:
        self.records: dict[int, R] = {}
        self._key_functions = dict(key_functions)
        self._indexes = {name: SortedIndex() for name in key_functions}
        self._by_id = SortedIndex()

    def __len__(self) -> int:
        return len(self.records)

    def load(self, items: Iterable[tuple[int, R]]) -> None:
        """Replace the contents in one go (seeding): one sort per index instead of n inserts."""
        self.records = dict(items)
        for name, fn in self._key_functions.items():
            pairs = ((k, rid) for rid, rec in self.records.items() if (k := fn(rec)) is not None)
            self._indexes[name] = SortedIndex(pairs)
        self._by_id = SortedIndex((rid, rid) for rid in self.records)

    def add(self, record_id: int, record: R) -> None:
        if record_id in self.records:
            raise KeyError(f"duplicate id {record_id}")
        self.records[record_id] = record
        self._by_id.insert(record_id, record_id)
        for name, fn in self._key_functions.items():
            key = fn(record)
            if key is not None:
                self._indexes[name].insert(key, record_id)

    def discard(self, record_id: int) -> R:
        """Take a record out (it no longer exists for any query)."""
        record = self.records.pop(record_id)
        self._by_id.remove(record_id, record_id)
        for name, fn in self._key_functions.items():
            key = fn(record)
            if key is not None:
                self._indexes[name].remove(key, record_id)
        return record

    def keys_of(self, record: R) -> dict[str, int | None]:
        """Snapshot of a record's keys; pass it to :meth:`reindex` after mutating the record."""
        return {name: fn(record) for name, fn in self._key_functions.items()}

    def reindex(self, record_id: int, before: Mapping[str, int | None]) -> None:
        record = self.records[record_id]
        for name, fn in self._key_functions.items():
            old, new = before[name], fn(record)
            if old == new:
                continue
            if old is not None:
                self._indexes[name].remove(old, record_id)
            if new is not None:
                self._indexes[name].insert(new, record_id)

    def query(
        self,
        *,
        ranges: Sequence[RangeFilter] = (),
        predicates: Sequence[Callable[[R], bool]] = (),
        sort_field: str | None = None,
        descending: bool = False,
        candidate_ids: Iterable[int] | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> QueryResult:
        """One page (``offset``, ``limit``) of the matching ids in sort order, and the total.

        ``sort_field`` None sorts by id. Plan: when the whole match is one contiguous stretch
        of an index (no predicates, at most a range on the sort field), the page is sliced
        straight out of it. Otherwise start from the narrowest source (explicit candidates,
        else the range filter matching the fewest keys, else the sort index), check the rest
        per record, and sort what is left.
        """
        records = self.records
        ranges = list(ranges)
        if candidate_ids is None and not predicates and len(ranges) <= 1:
            index = self._by_id if sort_field is None else self._indexes[sort_field]
            target = "__id__" if sort_field is None else sort_field
            if not ranges and len(index) == len(records):
                start, end = 0, len(index)
            elif ranges and ranges[0].field == target:
                start, end = index.bounds(ranges[0].lo, ranges[0].hi)
            else:
                start = end = -1
            if start >= 0:
                return QueryResult(index.window(start, end, offset, limit, descending), end - start)

        checks = list(predicates)
        ordered_by: str | None = "__id__"
        if candidate_ids is not None:
            ids = sorted({i for i in candidate_ids if i in records})
        elif ranges:
            narrowest = min(ranges, key=lambda r: self._indexes[r.field].count(r.lo, r.hi))
            ranges.remove(narrowest)
            ids = self._indexes[narrowest.field].ids(narrowest.lo, narrowest.hi)
            ordered_by = narrowest.field
        elif sort_field is not None and len(self._indexes[sort_field]) == len(records):
            ids = self._indexes[sort_field].ids()
            ordered_by = sort_field
        else:
            ids = self._by_id.ids()
        for r in ranges:
            checks.append(_range_check(self._key_functions[r.field], r))
        if checks:
            ids = [i for i in ids if all(check(records[i]) for check in checks)]
        target = sort_field or "__id__"
        if ordered_by != target:
            if sort_field is None:
                ids.sort()
            else:
                fn = self._key_functions[sort_field]
                # Records without a key sort first, as NULLs do in an ascending SQL sort.
                ids.sort(key=lambda i: (_none_first(fn(records[i])), i))
        if descending:
            ids.reverse()
        end_at = None if limit is None else offset + limit
        return QueryResult(ids=ids[offset:end_at], total=len(ids))


def _none_first(key: int | None) -> int:
    return -(2**63) if key is None else key


def _range_check(fn: Callable[[Any], int | None], r: RangeFilter) -> Callable[[Any], bool]:
    lo, hi = r.lo, r.hi

    def check(record: Any) -> bool:
        key = fn(record)
        if key is None:
            return False
        return (lo is None or key >= lo) and (hi is None or key <= hi)

    return check
