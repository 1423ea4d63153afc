"""Crash-test writer: commits a deterministic sequence of state versions until killed.

Run as ``python state_crash_writer.py DB_PATH SEED``. It opens (or creates) the LevelDB state
at DB_PATH, continues from the version after the latest one stored, and for each version
applies ``batch(SEED, version)``, commits, and prints the version on its own line (flushed)
once the commit's write has returned. ``tests/test_state_crash.py`` kills it at random points
and checks that the store always holds a whole version. The test imports :func:`batch` to
recompute the expected roots, so the sequence is defined in this one place.
"""

import random
import sys
from pathlib import Path

KEY_SPACE = 3_000
PRUNE_DEPTH = 3


def batch(seed: int, version: int) -> dict[bytes, bytes | None]:
    """The changes of ``version``: sets and deletes over a fixed key space, big enough that a
    commit's write takes a while (so kills land inside it) but quick to recompute."""
    rng = random.Random(f"{seed}:{version}")
    changes: dict[bytes, bytes | None] = {}
    for _ in range(rng.randint(200, 800)):
        key = b"account-%d" % rng.randrange(KEY_SPACE)
        changes[key] = None if rng.random() < 0.2 else rng.randbytes(rng.randint(1, 64))
    return changes


def main(path: str, seed: int) -> None:
    from flockchain.db import LevelDBStore
    from flockchain.state import StateTree

    store = LevelDBStore(path)
    tree = StateTree(store, prune_depth=PRUNE_DEPTH)
    version = 0 if tree.version is None else tree.version + 1
    while True:
        tree.apply(batch(seed, version))
        tree.commit(version)
        print(version, flush=True)
        version += 1


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    main(sys.argv[1], int(sys.argv[2]))
