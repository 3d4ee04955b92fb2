"""The kernel's special paths against the reference evaluator: packed-bit results, presence
bitmaps, range tests through uint16 buckets, five to eight ranges in one pass, and an ``all``
that tests its later operands row by row once its block is nearly decided."""
from unittest import mock

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import placement
from placement import Fleet
from placement.engine.kernels import ColumnType, NodeKind, Program
from placement.fleet import columns as columns_module
from placement.fleet.columns import Buckets
from placement.values import INT_ABSENT
from tests.property.strategies import copied, expressions, fleets

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def agree_everywhere(predicate, fleet):
    """bool, bits and count against the reference."""
    reference = predicate.evaluate(fleet, backend="reference")
    assert (predicate.evaluate(fleet) == reference).all(), predicate.explain_plan(fleet)
    bits = predicate.evaluate(fleet, out="bits")
    assert bits.dtype == np.uint8 and bits.shape == ((len(fleet) + 7) // 8,)
    assert (bits == np.packbits(reference, bitorder="little")).all(), predicate.explain_plan(fleet)
    assert predicate.count(fleet) == int(reference.sum())


@SETTINGS
@given(expressions(max_leaves=8), fleets(max_size=10))
def test_bits_and_count_equal_the_reference(text, document):
    agree_everywhere(placement.compile(text, max_length=10_000), Fleet.from_ecs(document, document["tasks"]))


@SETTINGS
@given(expressions(max_leaves=6), fleets(max_size=8))
def test_narrowed_numbers_equal_the_reference(text, document):
    """agentVersion and registeredAt through buckets, on fleets of any size (the threshold off)."""
    with mock.patch.object(columns_module, "BUCKETS_FROM", 0):
        fleet = Fleet.from_ecs(document, document["tasks"])
        agree_everywhere(placement.compile(text, max_length=10_000), fleet)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions(max_leaves=5), fleets(max_size=4), st.integers(4097, 9000))
def test_blocks_bits_and_buckets_across_blocks(text, document, copies):
    """Packed results across block edges and a ragged last byte; buckets over many rows."""
    assume(document["containerInstances"])
    with mock.patch.object(columns_module, "BUCKETS_FROM", 0):
        agree_everywhere(placement.compile(text, max_length=10_000),
                         copied(Fleet.from_ecs(document, document["tasks"]), copies))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.just(INT_ABSENT), st.integers(-(1 << 63) + 1, (1 << 63) - 1),
                          st.integers(-1000, 1000)), min_size=1, max_size=300),
       st.lists(st.tuples(st.integers(-(1 << 63), (1 << 63) - 1), st.integers(0, 1 << 62)), min_size=1, max_size=3))
def test_buckets_keep_order_and_bound_every_value(values, ranges):
    """bucket() never decreases, and values_of(bucket(v)) holds v: the two facts bind relies on."""
    array = np.array(values, dtype=np.int64)
    buckets = Buckets.of(array)
    if buckets is None:
        assert (array == INT_ABSENT).all()
        return
    codes = buckets.codes.astype(np.int64)
    order = np.argsort(array, kind="stable")
    assert (np.diff(codes[order]) >= 0).all()
    for value, code in zip(values, codes.tolist()):
        assert buckets.bucket(value) == code
        low, high = buckets.values_of(code)
        assert low <= value <= high
    for low, width in ranges:                       # a query's ends land in buckets the same way
        high = min(low + width, (1 << 63) - 1)
        assert buckets.bucket(low) <= buckets.bucket(high)


def _fleet_with_types(n: int, types: list[str], seed: int) -> Fleet:
    rng = np.random.default_rng(seed)
    records = [{"containerInstanceArn": f"arn:aws:ecs:us-east-1:1:container-instance/c/{i:032x}",
                "attributes": [{"name": "t", "value": types[int(rng.integers(len(types)))]}]
                + ([{"name": "rare"}] if rng.random() < 0.01 else [])}
               for i in range(n)]
    return Fleet.from_ecs(records)


@settings(max_examples=30, deadline=None)
@given(st.integers(5, 12), st.integers(0, 5), st.integers(1, 6000))
def test_five_to_twelve_scattered_values(k, seed, n):
    """An in list of k values no two adjacent in the dictionary: k code ranges (the kernel
    tests eight a pass: one pass up to eight, two past), against the reference."""
    types = [f"type-{i:02d}" for i in range(40)]
    fleet = _fleet_with_types(n, types, seed)
    chosen = types[::3][:k]
    for text in (f"attribute:t in [{', '.join(chosen)}]", f"attribute:t !in [{', '.join(chosen)}]",
                 f"attribute:rare exists or attribute:t in [{', '.join(chosen)}]"):
        agree_everywhere(placement.compile(text), fleet)


@settings(max_examples=12, deadline=None)
@given(st.integers(0, 5), st.integers(4096, 9000), st.sampled_from(["t == type-01", "t != type-01", "t in [type-01, type-07]"]))
def test_a_sparse_all_tests_rows_one_by_one(seed, n, rest):
    """The first operand holds on about 1 % of the rows, so each block's later range operands
    are tested row by row."""
    fleet = _fleet_with_types(n, [f"type-{i:02d}" for i in range(10)], seed)
    for text in (f"attribute:rare exists and attribute:{rest}", f"not(attribute:rare exists and attribute:{rest})",
                 f"attribute:rare exists and attribute:{rest} and attribute:t != type-03"):
        agree_everywhere(placement.compile(text), fleet)


def test_presence_bitmap_follows_every_kind_of_change():
    """A presence bitmap built once is kept current by puts, deletes and registers."""
    fleet = _fleet_with_types(300, ["a", "b"], 1)
    exists = placement.compile("attribute:rare exists")
    agree_everywhere(exists, fleet)
    arns = fleet.arns
    fleet.put_attribute(arns[5], "rare")
    fleet.put_attribute(arns[6], "rare", "now-valued")
    fleet.delete_attribute(arns[5], "rare")
    fleet.register([{"containerInstanceArn": f"new-{i}", "attributes": [{"name": "rare"}] if i % 2 else []}
                    for i in range(20)])
    agree_everywhere(exists, fleet)
    agree_everywhere(placement.compile("attribute:rare !exists"), fleet)
    assert "presence bitmap" in exists.explain_plan(fleet)


def test_a_snapshot_bound_after_a_compaction_reads_its_own_presence():
    """The store's bitmap follows the store's rows: a snapshot taken before a compaction (whose
    codes are the old buffer) and bound after it must not pair its codes with the new rows."""
    from placement.engine.bind import bind
    from placement.fleet import store as store_module
    with mock.patch.object(store_module, "COMPACT_AFTER", 0):
        fleet = _fleet_with_types(300, ["a", "b"], 1)
        for text in ("attribute:rare exists", "attribute:rare !exists"):
            placement.compile(text).evaluate(fleet)                 # the store's bitmap, built
        fleet.put_attribute(fleet.arns[1], "rare")
        old = fleet.columns
        for arn in fleet.arns[::2] + fleet.arns[3:9:2]:             # most deregistered: compacted
            fleet.deregister(arn)
        assert fleet.store.size < len(old)                          # fewer physical rows: compacted
        fleet.register([{"containerInstanceArn": f"new-{i}", "attributes": [{"name": "rare"}]} for i in range(9)])
        for text in ("attribute:rare exists", "attribute:rare !exists"):
            predicate = placement.compile(text)
            assert (bind(predicate.plan, old).run(1) == predicate.evaluate(Fleet(old), backend="reference")).all()
            agree_everywhere(predicate, fleet)

def test_a_lone_presence_leaf_is_its_bitmap_with_the_tail_cleared():
    program_bits = np.array([0b10110101, 0xFF], dtype=np.uint8)
    for rows in (9, 12, 16):
        for invert in (False, True):
            program = Program(rows, [(NodeKind.NODE_PRESENCE, 0, invert, False, program_bits, None, None, None,
                                      None, None, 0, [])])
            expected = np.unpackbits(program_bits, bitorder="little")[:rows].astype(bool) ^ invert
            assert (program.run() == expected).all()
            assert (program.run(packed=True) == np.packbits(expected, bitorder="little")).all()


def test_kernel_refuses_a_short_presence_bitmap():
    import pytest
    with pytest.raises(ValueError, match="presence bitmap"):
        Program(17, [(NodeKind.NODE_PRESENCE, ColumnType.COL_U8, False, False, np.zeros(2, np.uint8), None, None,
                      None, None, None, 0, [])])


def test_bits_wrap_as_an_arrow_boolean_array_without_a_copy():
    import pyarrow as pa
    fleet = placement.demo(1001, 3)
    predicate = placement.compile("attribute:ecs.os-type == linux and attribute:flavor !exists")
    bits = predicate.evaluate(fleet, out="bits")
    array = pa.BooleanArray.from_buffers(pa.bool_(), len(fleet), [None, pa.py_buffer(bits)])
    assert array.to_numpy(zero_copy_only=False).tolist() == predicate.evaluate(fleet).tolist()


def test_unknown_out_is_an_input_error():
    import pytest
    with pytest.raises(placement.InputError, match="unknown out 'bytes'"):
        placement.compile("attribute:a exists").evaluate(placement.demo(3), out="bytes")
