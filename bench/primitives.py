"""Benchmarks of the primitives, as ratios measured in one run.

    python bench/primitives.py [--json] [--sizes 10000,100000,1000000] [--quick]

Prints ed25519 verify/s, VRF prove/s and verify/s and the cost of one VRF verify in ed25519
verifies; encode/decode of a ~200-byte transaction; and (from ``bench/state_tree.py``) the
state tree's cost per touched key in blake2b-256-of-64-bytes equivalents and its proof sizes.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import state_tree  # noqa: E402
from runtime.block import Mortality, SignedExtrinsic, decode_extrinsic, encode_extrinsic, sign_extrinsic  # noqa: E402
from runtime.construct import construct_runtime  # noqa: E402
from runtime.pallets.system import Remark  # noqa: E402
from runtime.primitives import vrf  # noqa: E402
from runtime.primitives.keys import Keypair, verify_raw  # noqa: E402

TRANSACTION_SIZE = 200


def measure_seconds_per_call(
    function: Callable[[], object], *, min_time: float = 0.5, max_calls: int = 1_000_000
) -> float:
    """Seconds per call: repeat in growing rounds until a round takes ``min_time`` (bounded)."""
    calls = 1
    while True:
        start = time.perf_counter()
        for _ in range(calls):
            function()
        elapsed = time.perf_counter() - start
        if elapsed >= min_time or calls >= max_calls:
            return elapsed / calls
        calls = min(max_calls, calls * max(2, int(min_time / max(elapsed, 1e-9))))


def bench_signatures_and_vrf(min_time: float, rounds: int = 7) -> dict:
    """Alternate ed25519 and VRF rounds and take medians, so a busy machine skews both alike."""
    keypair = Keypair.from_seed(b"\x01" * 32)
    message = b"m" * 100
    signature = keypair.sign(b"flock/bench", bytes(32), message)
    signed_message = bytes([len(b"flock/bench")]) + b"flock/bench" + bytes(32) + message
    seed = b"\x02" * 32
    public_key = vrf.public_key(seed)
    alphas = [b"slot-%d" % slot for slot in range(64)]
    proofs = [vrf.prove(seed, alpha) for alpha in alphas]
    vrf.verify(public_key, alphas[0], proofs[0])  # builds the key's table once, as a node does
    cycle = itertools.cycle(range(len(alphas)))
    samples: dict[str, list[float]] = {"ed25519": [], "prove": [], "verify": []}
    for _ in range(rounds):
        samples["ed25519"].append(
            measure_seconds_per_call(
                lambda: verify_raw(keypair.public_key, signed_message, signature), min_time=min_time
            )
        )
        samples["verify"].append(
            measure_seconds_per_call(
                lambda: vrf.verify(public_key, alphas[(i := next(cycle))], proofs[i]), min_time=min_time
            )
        )
        samples["prove"].append(
            measure_seconds_per_call(lambda: vrf.prove(seed, alphas[next(cycle)]), min_time=min_time)
        )
    ed25519, prove, verify = (statistics.median(samples[name]) for name in ("ed25519", "prove", "verify"))
    return {
        "ed25519_verify_per_s": 1 / ed25519,
        "vrf_prove_per_s": 1 / prove,
        "vrf_verify_per_s": 1 / verify,
        "vrf_verify_in_ed25519_verifies": verify / ed25519,
        "vrf_prove_in_ed25519_verifies": prove / ed25519,
        "vrf_proof_bytes": vrf.PROOF_SIZE,
    }


def bench_codec(min_time: float) -> dict:
    runtime = construct_runtime()
    keypair = Keypair.from_seed(b"\x03" * 32)

    def signed_remark(size: int) -> SignedExtrinsic:
        call = runtime.encode_call(Remark(b"r" * size))
        return sign_extrinsic(
            keypair, bytes(32), nonce=7, call=call, tip=1_000, mortality=Mortality(100, 64), birth_hash=b"\x05" * 32
        )

    # A remark padded so that the whole signed transaction is 200 bytes.
    overhead = len(encode_extrinsic(signed_remark(0)))
    xt = signed_remark(TRANSACTION_SIZE - overhead)
    encoded = encode_extrinsic(xt)
    assert len(encoded) == TRANSACTION_SIZE
    blake = measure_seconds_per_call(lambda: hashlib.blake2b(b"x" * 64, digest_size=32).digest(), min_time=min_time)
    encode = measure_seconds_per_call(lambda: encode_extrinsic(xt), min_time=min_time)
    decode = measure_seconds_per_call(lambda: decode_extrinsic(encoded), min_time=min_time)
    return {
        "transaction_bytes": len(encoded),
        "blake2b_64_bytes_us": blake * 1e6,
        "encode_us": encode * 1e6,
        "decode_us": decode * 1e6,
        "encode_in_blake2b": encode / blake,
        "decode_in_blake2b": decode / blake,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.add_argument("--sizes", default="10000,100000,1000000", help="state sizes (keys) for the tree figures")
    parser.add_argument("--quick", action="store_true", help="short timing rounds and a 10k-key tree only")
    args = parser.parse_args()
    min_time = 0.1 if args.quick else 0.5
    sizes = [10_000] if args.quick else [int(size) for size in args.sizes.split(",")]
    results = {
        "signatures_and_vrf": bench_signatures_and_vrf(min_time),
        "codec": bench_codec(min_time),
        "state_tree": state_tree.run(sizes),
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    sig, codec = results["signatures_and_vrf"], results["codec"]
    print(f"ed25519 verify       {sig['ed25519_verify_per_s']:>10,.0f} /s")
    prove_ratio, verify_ratio = sig["vrf_prove_in_ed25519_verifies"], sig["vrf_verify_in_ed25519_verifies"]
    print(f"VRF prove            {sig['vrf_prove_per_s']:>10,.0f} /s   ({prove_ratio:.2f} ed25519 verifies)")
    verify_rate = sig["vrf_verify_per_s"]
    print(f"VRF verify           {verify_rate:>10,.0f} /s   ({verify_ratio:.2f} ed25519 verifies; goal <= 8)")
    print(
        f"transaction ({codec['transaction_bytes']} bytes) "
        f"encode {codec['encode_us']:.2f} us ({codec['encode_in_blake2b']:.1f} blake2b), "
        f"decode {codec['decode_us']:.2f} us ({codec['decode_in_blake2b']:.1f} blake2b)"
    )
    state_tree.print_report(results["state_tree"])


if __name__ == "__main__":
    main()
