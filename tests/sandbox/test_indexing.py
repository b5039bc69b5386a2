"""The stand-ins' query planner returns exactly what a brute-force filter and sort would."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.indexing import Collection, RangeFilter


@dataclass
class Rec:
    rid: int
    a: int
    b: int | None
    flag: bool


KEYS = {"a": lambda r: r.a, "b": lambda r: r.b}

records_st = st.lists(
    st.tuples(st.integers(0, 20), st.one_of(st.none(), st.integers(0, 20)), st.booleans()),
    max_size=40,
)
bound = st.one_of(st.none(), st.integers(-1, 21))


@settings(max_examples=120, deadline=None)
@given(
    rows=records_st,
    extra=records_st,
    range_a=st.one_of(st.none(), st.tuples(bound, bound)),
    range_b=st.one_of(st.none(), st.tuples(bound, bound)),
    sort_field=st.sampled_from([None, "a", "b"]),
    descending=st.booleans(),
    only_flagged=st.booleans(),
    offset=st.integers(0, 45),
    limit=st.one_of(st.none(), st.integers(1, 15)),
)
def test_query_matches_brute_force(
    rows, extra, range_a, range_b, sort_field, descending, only_flagged, offset, limit
):
    coll: Collection[Rec] = Collection(KEYS)
    coll.load((i, Rec(i, a, b, f)) for i, (a, b, f) in enumerate(rows))
    for j, (a, b, f) in enumerate(extra):  # incremental inserts go through another code path
        coll.add(1000 + j, Rec(1000 + j, a, b, f))
    if extra:  # and an edit moves a record in the indexes
        rec = coll.records[1000]
        before = coll.keys_of(rec)
        rec.a, rec.b = rec.a + 3, None
        coll.reindex(1000, before)

    ranges = []
    if range_a is not None:
        ranges.append(RangeFilter("a", *range_a))
    if range_b is not None:
        ranges.append(RangeFilter("b", *range_b))
    predicates = [lambda r: r.flag] if only_flagged else []

    def keep(r: Rec) -> bool:
        for rf in ranges:
            key = KEYS[rf.field](r)
            if key is None or (rf.lo is not None and key < rf.lo):
                return False
            if rf.hi is not None and key > rf.hi:
                return False
        return not only_flagged or r.flag

    matches = [r for r in coll.records.values() if keep(r)]
    if sort_field is None:
        matches.sort(key=lambda r: r.rid)
    else:
        none_first = -(2**63)
        matches.sort(
            key=lambda r: KEYS[sort_field](r) if KEYS[sort_field](r) is not None else none_first
        )
    expected_ids = [r.rid for r in matches]
    if descending:
        expected_ids.reverse()

    result = coll.query(
        ranges=ranges,
        predicates=predicates,
        sort_field=sort_field,
        descending=descending,
        offset=offset,
        limit=limit,
    )
    assert result.total == len(expected_ids)
    page = expected_ids[offset : None if limit is None else offset + limit]
    if sort_field is None:
        assert result.ids == page
    else:
        # Ties on the sort key may come in any order; the keys must line up.
        key = KEYS[sort_field]
        assert [key(coll.records[i]) for i in result.ids] == [key(coll.records[i]) for i in page]
        assert set(result.ids) <= set(expected_ids)
