"""Both key-value backends behind one interface: same answers, same batch semantics."""

import resource
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flockchain.abc import (
    IterationBounds,
    KeyValueStore,
    WriteBatch,
    iteration_bounds,
    prefix_successor,
)
from flockchain.db import LevelDBStore, MemoryStore, schema
from flockchain.db.leveldb import compute_max_open_files
from flockchain.errors import CorruptDatabase, StorageError

BACKENDS = ["memory", "leveldb"]


def open_store(kind: str, path) -> KeyValueStore:
    return MemoryStore() if kind == "memory" else LevelDBStore(path / "db")


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    kv = open_store(request.param, tmp_path)
    yield kv
    kv.close()


def write(kv: KeyValueStore, puts=(), deletes=()) -> None:
    batch = WriteBatch()
    for key, value in puts:
        batch.put(key, value)
    for key in deletes:
        batch.delete(key)
    kv.write(batch)


def test_get_put_overwrite_delete(store):
    assert store.get(b"a") is None
    write(store, [(b"a", b"1"), (b"b", b"")])
    assert store.get(b"a") == b"1"
    assert store.get(b"b") == b""  # an empty value is a value, not absence
    write(store, [(b"a", b"2")])
    assert store.get(b"a") == b"2"
    write(store, deletes=[b"a", b"never-there"])
    assert store.get(b"a") is None
    assert store.get(b"b") == b""


def test_a_synchronous_write_applies_like_any_other(store):
    batch = WriteBatch()
    batch.put(b"record", b"signed")
    store.write(batch, sync=True)
    assert store.get(b"record") == b"signed"


def test_leveldb_asks_for_a_synchronous_write_only_when_told(tmp_path):
    store = LevelDBStore(tmp_path / "db")
    real, asked = store._db, []

    class Spy:  # plyvel's DB cannot be patched: wrap it, recording what each write batch asks
        def write_batch(self, **options):
            asked.append(options.get("sync"))
            return real.write_batch(**options)

    store._db = Spy()
    write(store, [(b"a", b"1")])
    batch = WriteBatch()
    batch.put(b"b", b"2")
    store.write(batch, sync=True)
    assert asked == [False, True]
    store._db = real
    assert store.get(b"b") == b"2"
    store.close()


def test_batch_applies_in_order(store):
    batch = WriteBatch()
    batch.put(b"k", b"first")
    batch.delete(b"k")
    batch.put(b"j", b"x")
    batch.delete(b"j")
    batch.put(b"j", b"last")
    assert len(batch) == 5
    assert list(batch)[:2] == [(b"k", b"first"), (b"k", None)]
    store.write(batch)
    assert store.get(b"k") is None
    assert store.get(b"j") == b"last"


def test_batch_runs_keep_the_order_of_puts_deletes_and_put_all(store):
    batch = WriteBatch()
    batch.put(b"a", b"1")
    batch.put_all([b"b", b"a"], [b"2", b"3"])
    batch.delete(b"b")
    batch.delete(b"c")
    batch.put(b"b", b"4")
    batch.put_all([], [])
    assert list(batch) == [(b"a", b"1"), (b"b", b"2"), (b"a", b"3"), (b"b", None), (b"c", None), (b"b", b"4")]
    assert [values is None for _, values in batch.runs()] == [False, False, True, False]
    store.write(batch)
    assert (store.get(b"a"), store.get(b"b"), store.get(b"c")) == (b"3", b"4", None)
    with pytest.raises(ValueError):
        batch.put_all([b"x"], [])


def test_batch_that_cannot_apply_changes_nothing(store):
    write(store, [(b"keep", b"1")])
    batch = WriteBatch()
    batch.put(b"new", b"2")
    batch.delete(b"keep")
    batch.put(b"bad", "not bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        store.write(batch)
    assert store.get(b"new") is None
    assert store.get(b"keep") == b"1"


def test_empty_batch_is_a_no_op(store):
    store.write(WriteBatch())
    assert list(store.iterate()) == []


KEYS = [b"", b"\x00", b"\x00\x00", b"\x01", b"a", b"ab", b"abc", b"abd", b"ac", b"b"]
KEYS += [b"\xff", b"\xff\xff", b"\xff\x00"]


@pytest.fixture
def filled(store):
    write(store, [(key, b"v" + key) for key in KEYS])
    return store


def test_iterates_all_in_byte_order(filled):
    assert [key for key, _ in filled.iterate()] == sorted(KEYS)
    assert [key for key, _ in filled.iterate(reverse=True)] == sorted(KEYS, reverse=True)
    assert all(value == b"v" + key for key, value in filled.iterate())


@pytest.mark.parametrize(
    "prefix, start, reverse, expected",
    [
        (b"a", None, False, [b"a", b"ab", b"abc", b"abd", b"ac"]),
        (b"a", None, True, [b"ac", b"abd", b"abc", b"ab", b"a"]),
        (b"ab", b"abd", False, [b"abd"]),
        (b"ab", b"abc", True, [b"abc", b"ab"]),
        (b"ab", b"abz", True, [b"abd", b"abc", b"ab"]),  # start past the range: from its end
        (b"ab", b"zz", True, [b"abd", b"abc", b"ab"]),
        (b"ab", b"a", False, [b"ab", b"abc", b"abd"]),  # start before the range: from its start
        (b"ab", b"a", True, []),  # start before the range, going down: nothing
        (b"ab", b"zz", False, []),
        (b"\xff", None, False, [b"\xff", b"\xff\x00", b"\xff\xff"]),
        (b"\xff\xff", None, True, [b"\xff\xff"]),
        (b"\x00", b"\x00\x00", False, [b"\x00\x00"]),
        (b"", b"b", False, [b"b", b"\xff", b"\xff\x00", b"\xff\xff"]),
        (
            b"",
            b"b",
            True,
            [b"b", b"ac", b"abd", b"abc", b"ab", b"a", b"\x01", b"\x00\x00", b"\x00", b""],
        ),
        (b"zz", None, False, []),
    ],
)
def test_prefix_and_start(filled, prefix, start, reverse, expected):
    got = [key for key, _ in filled.iterate(prefix, start=start, reverse=reverse)]
    assert got == expected


@settings(max_examples=100, deadline=None)
@given(
    keys=st.sets(st.binary(max_size=4), max_size=25),
    prefix=st.binary(max_size=2),
    start=st.none() | st.binary(max_size=4),
    reverse=st.booleans(),
)
def test_iteration_matches_a_sorted_model(tmp_path_factory, keys, prefix, start, reverse):
    expected = sorted((k for k in keys if k.startswith(prefix)), reverse=reverse)
    if start is not None:
        expected = [k for k in expected if (k <= start if reverse else k >= start)]
    for kind in BACKENDS:
        with open_store(kind, tmp_path_factory.mktemp(kind)) as kv:
            write(kv, [(key, key) for key in keys])
            assert [k for k, _ in kv.iterate(prefix, start=start, reverse=reverse)] == expected


def test_memory_store_keeps_order_through_churn():
    kv = MemoryStore()
    write(kv, [(bytes([i]), b"") for i in range(0, 20, 2)])
    assert len(list(kv.iterate())) == 10
    odd = [(bytes([i]), b"") for i in range(1, 20, 2)]
    write(kv, odd, deletes=[bytes([i]) for i in range(0, 20, 4)])
    write(kv, [(b"\x00", b"back")], deletes=[b"\x01", b"\x01"])
    keys = [k for k, _ in kv.iterate()]
    removed = {bytes([i]) for i in range(4, 20, 4)} | {b"\x01"}
    model = sorted({bytes([i]) for i in range(20)} - removed)
    assert keys == model
    assert kv.get(b"\x00") == b"back"


def test_memory_store_refuses_writes_during_iteration():
    kv = MemoryStore()
    write(kv, [(b"a", b""), (b"b", b"")])
    iterator = kv.iterate()
    next(iterator)
    write(kv, [(b"c", b"")])
    with pytest.raises(StorageError):
        next(iterator)


def test_leveldb_iterator_is_a_snapshot(tmp_path):
    with LevelDBStore(tmp_path / "db") as kv:
        write(kv, [(b"a", b"1"), (b"b", b"1")])
        iterator = kv.iterate()
        assert next(iterator) == (b"a", b"1")
        write(kv, [(b"b", b"2"), (b"c", b"2")])
        assert list(iterator) == [(b"b", b"1")]


def test_closed_store_raises_storage_error(store):
    write(store, [(b"a", b"1")])
    store.close()
    with pytest.raises(StorageError):
        store.get(b"a")
    with pytest.raises(StorageError):
        write(store, [(b"b", b"2")])
    with pytest.raises(StorageError):
        list(store.iterate())


def test_leveldb_persists_across_reopen(tmp_path):
    with LevelDBStore(tmp_path / "db", sync=True) as kv:
        write(kv, [(b"a", b"1"), (b"b", b"2")], deletes=[b"b"])
    with LevelDBStore(tmp_path / "db", create_if_missing=False) as kv:
        assert list(kv.iterate()) == [(b"a", b"1")]


def test_leveldb_open_errors_are_storage_errors(tmp_path):
    with pytest.raises(StorageError):
        LevelDBStore(tmp_path / "missing", create_if_missing=False)
    with LevelDBStore(tmp_path / "db"):
        with pytest.raises(StorageError):  # LevelDB's lock: one process, one handle
            LevelDBStore(tmp_path / "db")


def test_prefix_successor_and_bounds():
    assert prefix_successor(b"") is None
    assert prefix_successor(b"\xff\xff") is None
    assert prefix_successor(b"a") == b"b"
    assert prefix_successor(b"a\xff") == b"b"
    assert iteration_bounds(b"a", None, False) == IterationBounds(b"a", b"b", False)
    assert iteration_bounds(b"a", b"ab", True) == IterationBounds(b"a", b"ab", True)
    assert iteration_bounds(b"a", b"a", True).is_empty() is False
    assert iteration_bounds(b"b", b"a", True).is_empty()
    assert iteration_bounds(b"a", b"c", False).is_empty()


def test_schema_prefixes_are_disjoint_namespaces():
    prefixes = [schema.STATE_NODE, schema.STATE_STALE, schema.STATE_ROOT, schema.STATE_META]
    assert len(set(prefixes)) == len(prefixes)
    for key in (schema.STATE_LATEST_VERSION, schema.STATE_PRUNED_BELOW):
        assert key.startswith(schema.STATE_META)


def test_schema_state_node_keys_sort_by_version_then_position():
    path = int.from_bytes(bytes([0b1011_0110]) + bytes(31), "big")
    root_key = schema.STATE_NODE + (5).to_bytes(8, "big") + b"\x00\x00"
    assert schema.state_node_key(5, 0, path) == root_key
    assert schema.state_node_key(5, 4, path).endswith(b"\x00\x04\xb0")  # 4 bits, left-aligned
    assert schema.state_node_key(5, 9, path).endswith(b"\x00\x09\xb6\x00")
    assert schema.state_node_key(5, 256, path).endswith(path.to_bytes(32, "big"))
    keys = [schema.state_node_key(v, d, path) for v in (1, 2, 256) for d in (0, 3, 17)]
    assert keys == sorted(keys)
    assert schema.state_node_key(3, 0, 0) > schema.state_node_version_prefix(3)
    assert schema.state_node_key(3, 0, 0) < schema.state_node_version_prefix(4)


def test_schema_parses_what_it_builds():
    node_key = schema.state_node_key(7, 12, 1 << 250)
    assert schema.parse_state_stale_key(schema.state_stale_key(9)) == 9
    other = schema.state_node_key(8, 0, 0)
    listed = schema.encode_node_key_list([(7, 12, 1 << 250), (8, 0, 0)])
    assert schema.decode_node_key_list(listed) == [node_key, other]
    with pytest.raises(CorruptDatabase):
        schema.decode_node_key_list(schema.encode_node_key_list([(7, 12, 1 << 250)])[:-1])
    assert schema.parse_state_root_key(schema.state_root_key(2**64 - 1)) == 2**64 - 1
    assert schema.decode_u64(schema.encode_u64(300)) == 300
    with pytest.raises(CorruptDatabase):
        schema.parse_state_stale_key(schema.STATE_STALE + bytes(8) + b"\x09")
    with pytest.raises(CorruptDatabase):
        schema.parse_state_root_key(schema.STATE_NODE + bytes(8))
    with pytest.raises(CorruptDatabase):
        schema.decode_u64(b"\x00" * 7)


@pytest.mark.parametrize(
    ("soft_limit", "expected"),
    [(1024, 512), (20_000, 1000), (100, 64), (resource.RLIM_INFINITY, 1000)],
)
def test_leveldb_takes_at_most_half_of_the_open_file_limit(soft_limit, expected):
    assert compute_max_open_files(soft_limit) == expected


def test_leveldb_opens_and_works_under_a_low_open_file_limit(tmp_path):
    """A child process with a soft limit of 128 descriptors (LevelDB would otherwise plan for 1,000)."""
    script = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (128, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))\n"
        "from flockchain.abc import WriteBatch\n"
        "from flockchain.db import LevelDBStore\n"
        f"store = LevelDBStore({str(tmp_path / 'db')!r})\n"
        "batch = WriteBatch()\n"
        "[batch.put(i.to_bytes(4, 'big'), bytes(100)) for i in range(10_000)]\n"
        "store.write(batch)\n"
        "assert store.get((9_999).to_bytes(4, 'big')) == bytes(100)\n"
        "print(store._db.get_property(b'leveldb.num-files-at-level0') is not None)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"
