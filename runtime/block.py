"""Blocks, headers and extrinsics (DESIGN §6), and the hashes and signatures over them.

A block body is a list of opaque extrinsic encodings: the node moves, stores and roots them
without understanding calls; only the runtime decodes a call. Block hash = tagged hash of the
encoded header, seal included; the seal signs the hash of the header with an all-zero seal.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from runtime.primitives.codec import (
    U8,
    U32,
    U64,
    AccountId,
    Balance,
    BlockNumber,
    Hash32,
    ListOf,
    OneOf,
    Record,
    Signature64,
    VarBytes,
    codec_type_of,
    decode_value,
    encode_value,
    record,
)
from runtime.primitives.hashing import TAG_EXTRINSIC, TAG_HEADER, tagged_hash
from runtime.primitives.keys import DOMAIN_BLOCK_SEAL, DOMAIN_FINALITY_VOTE, DOMAIN_TRANSACTION, Keypair, verify
from runtime.primitives.merkle import compute_merkle_root

MAX_CALL_SIZE = 64 * 1024
MAX_EXTRINSIC_SIZE = MAX_CALL_SIZE + 512
MAX_DIGEST_DATA_SIZE = 1024
MAX_DIGESTS = 8
MAX_BLOCK_EXTRINSICS = 20_000
MAX_BLOCK_SIZE = 5 * 1024 * 1024
ZERO_SIGNATURE = bytes(64)


# --- header -------------------------------------------------------------------------------


@record
class PreRuntimeDigest(Record):
    """A consensus engine's claim to author this block (slot claim, VRF proof)."""

    engine: Annotated[bytes, VarBytes(8)]
    data: Annotated[bytes, VarBytes(MAX_DIGEST_DATA_SIZE)]


@record
class ConsensusDigest(Record):
    """A message from the runtime to the consensus engine (e.g. the next authority set)."""

    engine: Annotated[bytes, VarBytes(8)]
    data: Annotated[bytes, VarBytes(MAX_DIGEST_DATA_SIZE)]


DigestItem = Annotated[object, OneOf({0: PreRuntimeDigest, 1: ConsensusDigest})]


@record
class Header(Record):
    parent_hash: Hash32
    number: BlockNumber
    slot: U64
    timestamp: U64  # milliseconds since the Unix epoch, as set by the timestamp inherent
    state_root: Hash32
    extrinsics_root: Hash32
    author: AccountId
    digests: Annotated[tuple, ListOf(DigestItem, MAX_DIGESTS)]
    seal: Signature64

    @property
    def hash(self) -> bytes:
        return compute_header_hash(self)


def compute_header_hash(header: Header) -> bytes:
    return tagged_hash(TAG_HEADER, header.encode())


def compute_seal_payload(header: Header) -> bytes:
    """What the author signs: the hash of the header with an all-zero seal."""
    return compute_header_hash(replace(header, seal=ZERO_SIGNATURE))


def seal_header(header: Header, author: Keypair, genesis_hash: bytes) -> Header:
    signature = author.sign(DOMAIN_BLOCK_SEAL, genesis_hash, compute_seal_payload(header))
    return replace(header, seal=signature)


def verify_seal(header: Header, genesis_hash: bytes) -> None:
    """Raises ``InvalidSignature``/``InvalidKey`` unless ``header.author`` sealed the header."""
    verify(header.author, DOMAIN_BLOCK_SEAL, genesis_hash, compute_seal_payload(header), header.seal)


# --- finality votes -----------------------------------------------------------------------

VOTE_STAGE_PREVOTE = 0
VOTE_STAGE_PRECOMMIT = 1


@record
class FinalityVote(Record):
    """A finality voter's vote for ``target`` in one stage of one round (the finality gadget
    builds on it; offences use it to prove a vote equivocation)."""

    set_id: U64
    round: U64
    stage: U8  # VOTE_STAGE_PREVOTE or VOTE_STAGE_PRECOMMIT
    target_hash: Hash32
    target_number: BlockNumber


@record
class SignedFinalityVote(Record):
    vote: FinalityVote
    voter: AccountId
    signature: Signature64


def sign_finality_vote(vote: FinalityVote, voter: Keypair, genesis_hash: bytes) -> SignedFinalityVote:
    return SignedFinalityVote(vote, voter.public_key, voter.sign(DOMAIN_FINALITY_VOTE, genesis_hash, vote.encode()))


def verify_finality_vote(signed: SignedFinalityVote, genesis_hash: bytes) -> None:
    """Raises ``InvalidSignature``/``InvalidKey`` unless ``signed.voter`` signed the vote."""
    verify(signed.voter, DOMAIN_FINALITY_VOTE, genesis_hash, signed.vote.encode(), signed.signature)


# The most authorities a set may have: the runtime's sets and elections and the slot lottery agree.
MAX_AUTHORITIES = 1_000
MAX_FINALITY_VOTERS = 1024
MAX_JUSTIFICATION_PRECOMMITS = 2 * MAX_FINALITY_VOTERS  # one per voter, two for an equivocator


@record
class Justification(Record):
    """The precommits that prove ``target`` final (the finality gadget's commit message and the
    proof stored with the block; ``consensus.grandpa.justification`` verifies it)."""

    set_id: U64
    round: U64
    target_hash: Hash32
    target_number: BlockNumber
    precommits: Annotated[tuple, ListOf(SignedFinalityVote, MAX_JUSTIFICATION_PRECOMMITS)]

    @property
    def target(self) -> tuple[bytes, int]:
        return (self.target_hash, self.target_number)


# --- extrinsics ---------------------------------------------------------------------------


@record
class Mortality(Record):
    """Validity window of a transaction: blocks ``birth + 1 .. birth + period``.

    ``period == 0`` means immortal (valid at any height; replay protection then rests on the
    nonce alone). A mortal transaction also signs the hash of block ``birth``, so it is valid
    on one fork only.
    """

    birth: BlockNumber
    period: U32


IMMORTAL = Mortality(0, 0)


@record
class SignedExtrinsic(Record):
    sender: AccountId
    nonce: U32
    tip: Balance
    mortality: Mortality
    call: Annotated[bytes, VarBytes(MAX_CALL_SIZE)]
    signature: Signature64


@record
class UnsignedExtrinsic(Record):
    """An inherent (timestamp) or an unsigned report whose validity is checked by its call."""

    call: Annotated[bytes, VarBytes(MAX_CALL_SIZE)]


ExtrinsicType = Annotated[object, OneOf({0: SignedExtrinsic, 1: UnsignedExtrinsic})]
_EXTRINSIC_CODEC = codec_type_of(ExtrinsicType)
Extrinsic = SignedExtrinsic | UnsignedExtrinsic


@record
class SigningPayload(Record):
    """The transaction fields a signature covers, with the hash of the mortality's birth block
    (the genesis hash for immortal transactions)."""

    sender: AccountId
    nonce: U32
    tip: Balance
    mortality: Mortality
    call: Annotated[bytes, VarBytes(MAX_CALL_SIZE)]
    birth_hash: Hash32


def compute_signing_payload(xt: SignedExtrinsic, birth_hash: bytes) -> bytes:
    return SigningPayload(xt.sender, xt.nonce, xt.tip, xt.mortality, xt.call, birth_hash).encode()


# A signed extrinsic's canonical bytes are [0x97: an array of 7][0x00: tag 0] sender nonce tip
# mortality call [0xc4 0x40: 64 bytes] signature; its signing payload's are [0x96: an array of
# 6] sender nonce tip mortality call [0xc4 0x20: 32 bytes] birth hash.
_SIGNED_EXTRINSIC_HEAD = b"\x97\x00"
_SIGNATURE_FIELD_SIZE = 2 + 64
_SIGNING_PAYLOAD_HEAD = b"\x96"
_BIRTH_HASH_HEAD = b"\xc4\x20"


def compute_signing_payload_of_encoded(encoded: bytes, birth_hash: bytes) -> bytes:
    """:func:`compute_signing_payload` of the signed extrinsic whose canonical bytes (as
    :func:`decode_extrinsic` accepts them) are ``encoded``, without building the payload
    record: msgpack composes, so the payload is the extrinsic's fields between its tag and its
    signature, under a new array head, then the birth hash. Block import checks every
    transaction's signature, and building the record cost about 4% of a transfer's import."""
    if encoded[:2] != _SIGNED_EXTRINSIC_HEAD or len(birth_hash) != 32:
        raise ValueError("not the canonical bytes of a signed extrinsic, or not a 32-byte hash")
    return _SIGNING_PAYLOAD_HEAD + encoded[2:-_SIGNATURE_FIELD_SIZE] + _BIRTH_HASH_HEAD + birth_hash


def sign_extrinsic(
    keypair: Keypair,
    genesis_hash: bytes,
    *,
    nonce: int,
    call: bytes,
    tip: int = 0,
    mortality: Mortality = IMMORTAL,
    birth_hash: bytes | None = None,
) -> SignedExtrinsic:
    """A signed transaction; ``birth_hash`` is required for a mortal one."""
    if mortality.period and birth_hash is None:
        raise ValueError("a mortal transaction signs the hash of its birth block")
    unsigned = SignedExtrinsic(keypair.public_key, nonce, tip, mortality, call, ZERO_SIGNATURE)
    payload = compute_signing_payload(unsigned, birth_hash if mortality.period else genesis_hash)
    return replace(unsigned, signature=keypair.sign(DOMAIN_TRANSACTION, genesis_hash, payload))


def encode_extrinsic(xt: Extrinsic) -> bytes:
    return encode_value(_EXTRINSIC_CODEC, xt)


def decode_extrinsic(data: bytes) -> Extrinsic:
    return decode_value(_EXTRINSIC_CODEC, data, max_size=MAX_EXTRINSIC_SIZE)


def compute_extrinsic_hash(encoded: bytes) -> bytes:
    return tagged_hash(TAG_EXTRINSIC, encoded)


# --- block --------------------------------------------------------------------------------


@record
class Block(Record):
    header: Header
    extrinsics: Annotated[tuple, ListOf(Annotated[bytes, VarBytes(MAX_EXTRINSIC_SIZE)], MAX_BLOCK_EXTRINSICS)]

    @property
    def hash(self) -> bytes:
        return self.header.hash


def compute_extrinsics_root(extrinsics: tuple[bytes, ...] | list[bytes]) -> bytes:
    return compute_merkle_root(extrinsics)


def decode_block(data: bytes) -> Block:
    return Block.decode(data, max_size=MAX_BLOCK_SIZE)
