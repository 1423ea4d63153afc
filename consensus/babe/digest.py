"""The ``BABE`` pre-runtime digest: an author's slot claim, carried in the block header.

A primary claim carries the VRF output and proof for the slot; a secondary claim (BABE's
"secondary plain") carries neither, as its author is a public function of randomness and slot.
"""

from __future__ import annotations

from typing import Annotated

from consensus.babe.errors import InvalidPreDigest
from runtime.block import Header, PreRuntimeDigest
from runtime.primitives.codec import U8, U32, U64, Record, VarBytes, record
from runtime.primitives.vrf import OUTPUT_SIZE, PROOF_SIZE

ENGINE_BABE = b"BABE"
KIND_PRIMARY = 0
KIND_SECONDARY = 1


@record
class PreDigest(Record):
    kind: U8  # KIND_PRIMARY or KIND_SECONDARY
    authority_index: U32
    slot: U64
    vrf_output: Annotated[bytes, VarBytes(OUTPUT_SIZE)]  # 64 bytes if primary, empty if secondary
    vrf_proof: Annotated[bytes, VarBytes(PROOF_SIZE)]  # 80 bytes if primary, empty if secondary

    def __post_init__(self) -> None:
        sizes = {KIND_PRIMARY: (OUTPUT_SIZE, PROOF_SIZE), KIND_SECONDARY: (0, 0)}.get(self.kind)
        if sizes is None:
            raise InvalidPreDigest(f"unknown slot claim kind {self.kind!r}")
        if (len(self.vrf_output), len(self.vrf_proof)) != sizes:
            raise InvalidPreDigest(f"claim of kind {self.kind} needs a VRF output and proof of {sizes} bytes")

    @property
    def is_primary(self) -> bool:
        return self.kind == KIND_PRIMARY


def compute_pre_runtime_digest(pre_digest: PreDigest) -> PreRuntimeDigest:
    return PreRuntimeDigest(engine=ENGINE_BABE, data=pre_digest.encode())


def find_pre_digest(header: Header) -> PreDigest:
    """The header's one ``BABE`` pre-digest, for the header's slot; raises :class:`InvalidPreDigest`."""
    found = [item.data for item in header.digests if isinstance(item, PreRuntimeDigest) and item.engine == ENGINE_BABE]
    if len(found) != 1:
        raise InvalidPreDigest(f"expected one {ENGINE_BABE!r} pre-runtime digest, found {len(found)}")
    pre_digest = PreDigest.decode(found[0])
    if pre_digest.slot != header.slot:
        raise InvalidPreDigest(f"pre-digest claims slot {pre_digest.slot}, header is for slot {header.slot}")
    return pre_digest
