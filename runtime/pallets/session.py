"""session: session keys, epochs and the authority set that may author blocks.

Every validator authors under its **session keys** (``SessionKeys``): an ed25519 ``signing``
key (the block author and seal key, ``header.author``) and a ``vrf`` public key. A staker sets
them with ``set_keys``; they are *queued* (``QueuedKeys``) and enacted at the next epoch
boundary (``ValidatorKeys``). A validator that never set keys uses its account key for both.

An **epoch** is ``epochLengthBlocks`` blocks (genesis; at least 1) and an era is a whole number
of epochs (staking's genesis refuses an era length that is not a multiple). The block whose
number is a multiple of the epoch length ends the epoch in its finalization: queued keys are
enacted, the next authority set (``NextAuthorities``, each validator with its enacted keys)
becomes ``CurrentAuthorities`` (in the election's order: the slot order) and ``SetId`` goes up
by one if the set's members or any key in it changed (a new order alone is no new set).

Ordering with staking: session rotates the epoch in its own ``on_finalize``, which the runtime
runs right after staking's (the hook order in ``runtime/construct.py``, not the pallet index).
At an epoch's end it first asks its session manager (staking, through
:class:`~runtime.framework.traits.SessionManager`) for the next set: at the last block of an era
staking pays the era and elects, and the same block's rotation makes the elected set current,
so the new era's first block is authored by the set elected for it.

**Epoch randomness** (BABE): every slot's VRF lottery input commits to its epoch's 32-byte
``Randomness``. Each block's primary VRF output (``BlockEnvironment.vrf_output``, checked by the
node before execution) is folded into ``OutputsDigest``, a hash chain
``d_(i+1) = H("flock/babe-outs", d_i ‖ output)`` from 32 zero bytes. When epoch ``N`` ends, epoch
``N + 1`` takes ``NextRandomness`` and epoch ``N + 2``'s is fixed as
``H("flock/babe-rand", randomness(N) ‖ u64_be(N + 2) ‖ d)``: known a whole epoch before it is used.
Epochs 0 and 1 use 32 zero bytes (as Substrate's BABE does for its genesis epochs).

Consensus reads the authorities, randomness, epoch, primary probability and set id of a parent
block's state to check its children, through ``runtime/api.py``.
"""

from __future__ import annotations

from typing import Annotated, Any

from runtime.abc import StateReader
from runtime.block import MAX_AUTHORITIES
from runtime.framework.pallet import DispatchContext, DispatchError, Origin, Pallet, call, ensure_signed
from runtime.framework.storage import StorageMap, StorageValue
from runtime.framework.traits import SessionManager
from runtime.framework.weights import READ_WEIGHT, WRITE_WEIGHT
from runtime.primitives.address import decode_address, encode_address
from runtime.primitives.codec import U32, U64, AccountId, Hash32, ListOf, Record, record
from runtime.primitives.hashing import ZERO_HASH, tagged_hash
from runtime.primitives.keys import is_valid_public_key

NAME = "session"
DEFAULT_EPOCH_LENGTH = 1  # a genesis config without epochLengthBlocks (test chains)
# BABE's c: the probability that a slot has at least one primary winner (genesis may override).
DEFAULT_PRIMARY_PROBABILITY = (1, 4)
TAG_EPOCH_RANDOMNESS = b"flock/babe-rand"
TAG_VRF_OUTPUTS = b"flock/babe-outs"

# --- types and storage --------------------------------------------------------------------


@record
class SessionKeys(Record):
    signing: AccountId  # ed25519: the block author key that seals blocks
    vrf: Hash32  # the VRF public key


@record
class Authority(Record):
    validator: AccountId
    keys: SessionKeys


AuthorityList = Annotated[tuple, ListOf(Authority, MAX_AUTHORITIES)]


@record
class Probability(Record):
    """``numerator / denominator`` in [0, 1)."""

    numerator: U64
    denominator: U64


EpochLength = StorageValue(NAME, "EpochLength", U32, DEFAULT_EPOCH_LENGTH)
CurrentEpoch = StorageValue(NAME, "CurrentEpoch", U64, 0)
CurrentAuthorities = StorageValue(NAME, "CurrentAuthorities", AuthorityList, ())
# The set that becomes current at the next epoch boundary (staking's election writes it).
NextAuthorities = StorageValue(NAME, "NextAuthorities", AuthorityList, ())
# Keys set by ``set_keys``, waiting for the next epoch boundary.
QueuedKeys = StorageMap(NAME, "QueuedKeys", AccountId, SessionKeys)
# Each validator's enacted keys: what any set it enters from now on uses.
ValidatorKeys = StorageMap(NAME, "ValidatorKeys", AccountId, SessionKeys)
# The validator that enacted each signing key, kept for good: a key belongs to one validator
# forever, so evidence signed under a key since rotated away still names its offender.
KeyOwners = StorageMap(NAME, "KeyOwners", AccountId, AccountId)
SetId = StorageValue(NAME, "SetId", U64, 0)
# The epoch in which the current SetId began (SetId can rise at most once per epoch).
SetIdSince = StorageValue(NAME, "SetIdSince", U64, 0)
Randomness = StorageValue(NAME, "Randomness", Hash32, ZERO_HASH)
NextRandomness = StorageValue(NAME, "NextRandomness", Hash32, ZERO_HASH)
OutputsDigest = StorageValue(NAME, "OutputsDigest", Hash32, ZERO_HASH)
PrimaryProbability = StorageValue(NAME, "PrimaryProbability", Probability, Probability(*DEFAULT_PRIMARY_PROBABILITY))

# --- events and errors --------------------------------------------------------------------


@record
class KeysQueued(Record):
    who: AccountId
    keys: SessionKeys


@record
class NewEpoch(Record):
    epoch: U64
    set_id: U64
    authorities: U32


class InvalidSigningKey(DispatchError):
    """The signing key is not a valid ed25519 public key."""

    code = 0


class InvalidVrfKey(DispatchError):
    """The VRF key is not a valid public key."""

    code = 1


class DuplicateSigningKey(DispatchError):
    """Another validator uses (or has queued) this signing key."""

    code = 2


class NotAStaker(DispatchError):
    """Only bonded stakers (or current key holders) may set session keys."""

    code = 3


@record
class SetKeysArgs(Record):
    keys: SessionKeys


# --- reads --------------------------------------------------------------------------------


def default_keys(who: bytes) -> SessionKeys:
    """The keys of a validator that never set any: its account key for both."""
    return SessionKeys(who, who)


def get_keys(state: StateReader, who: bytes) -> SessionKeys:
    """``who``'s enacted keys (not the queued ones)."""
    keys = ValidatorKeys.get(state, who)
    return default_keys(who) if keys is None else keys


def get_current_authorities(state: StateReader) -> tuple[Authority, ...]:
    return CurrentAuthorities.get(state)


def get_authorities(state: StateReader) -> tuple[bytes, ...]:
    """The current set's signing keys, in slot order."""
    return tuple(authority.keys.signing for authority in CurrentAuthorities.get(state))


def get_validators(state: StateReader) -> tuple[bytes, ...]:
    """The current set's validator accounts, in slot order."""
    return tuple(authority.validator for authority in CurrentAuthorities.get(state))


def get_validator_of(state: StateReader, signing: bytes) -> bytes | None:
    """The current validator that authors under ``signing``, if any."""
    return next(
        (authority.validator for authority in CurrentAuthorities.get(state) if authority.keys.signing == signing),
        None,
    )


def is_signing_key_taken(state: StateReader, signing: bytes, who: bytes, *, signing_is_staker: bool) -> bool:
    """Whether a validator other than ``who`` uses ``signing``: enacted, queued, in the current
    or next set, or as its account key while bonded (``signing_is_staker``) with no keys of its
    own."""
    owner = KeyOwners.get(state, signing)
    if owner is not None and owner != who:
        return True
    for owner, keys in (*ValidatorKeys.iter(state), *QueuedKeys.iter(state)):
        if owner != who and keys.signing == signing:
            return True
    for authority in (*CurrentAuthorities.get(state), *NextAuthorities.get(state)):
        if authority.validator != who and authority.keys.signing == signing:
            return True
    return signing != who and signing_is_staker and not ValidatorKeys.contains(state, signing)


def get_current_epoch(state: StateReader) -> int:
    return CurrentEpoch.get(state)  # type: ignore[no-any-return]


def get_randomness(state: StateReader) -> bytes:
    """The current epoch's randomness (every slot's VRF input commits to it)."""
    return Randomness.get(state)  # type: ignore[no-any-return]


def get_primary_probability(state: StateReader) -> tuple[int, int]:
    probability = PrimaryProbability.get(state)
    return probability.numerator, probability.denominator


def get_set_id(state: StateReader) -> int:
    return SetId.get(state)  # type: ignore[no-any-return]


def compute_outputs_digest(outputs_digest: bytes, vrf_output: bytes) -> bytes:
    return tagged_hash(TAG_VRF_OUTPUTS, outputs_digest + vrf_output)


def compute_epoch_randomness(randomness: bytes, target_epoch: int, outputs_digest: bytes) -> bytes:
    """The randomness of ``target_epoch`` from that of the epoch two before it and its outputs."""
    return tagged_hash(TAG_EPOCH_RANDOMNESS, randomness + target_epoch.to_bytes(8, "big") + outputs_digest)


# --- mutations ----------------------------------------------------------------------------


def set_next_validators(ctx: DispatchContext, validators: list[bytes]) -> None:
    """Queue ``validators`` (with their enacted keys) as the next epoch's set; a validator whose
    signing key an earlier one already uses is left out. An empty list keeps the current set."""
    if not validators:
        return
    NextAuthorities.put(ctx.state, compute_authorities(ctx.state, validators))


def compute_authorities(state: StateReader, validators: list[bytes]) -> tuple[Authority, ...]:
    """``validators`` with their enacted keys, leaving out any whose signing key an earlier one
    already uses (each signing key authors for one validator only)."""
    seen: set[bytes] = set()
    authorities = []
    for validator in validators:
        keys = get_keys(state, validator)
        if keys.signing not in seen:
            seen.add(keys.signing)
            authorities.append(Authority(validator, keys))
    return tuple(authorities)


def is_epoch_end(state: StateReader, number: int) -> bool:
    """Whether block ``number`` is the last of its epoch."""
    return number % EpochLength.get(state) == 0


def enact_keys(ctx: DispatchContext, who: bytes, keys: SessionKeys) -> None:
    ValidatorKeys.put(ctx.state, who, keys)
    KeyOwners.put(ctx.state, keys.signing, who)


def end_epoch(ctx: DispatchContext) -> None:
    """Enact queued keys, make the next set current, bump ``SetId`` if the set changed."""
    for who, keys in list(QueuedKeys.iter(ctx.state)):
        QueuedKeys.remove(ctx.state, who)
        enact_keys(ctx, who, keys)
    current = CurrentAuthorities.get(ctx.state)
    incoming = compute_authorities(ctx.state, [authority.validator for authority in NextAuthorities.get(ctx.state)])
    NextAuthorities.put(ctx.state, incoming)
    epoch = CurrentEpoch.get(ctx.state) + 1
    CurrentEpoch.put(ctx.state, epoch)
    next_randomness = compute_epoch_randomness(Randomness.get(ctx.state), epoch + 1, OutputsDigest.get(ctx.state))
    Randomness.put(ctx.state, NextRandomness.get(ctx.state))
    NextRandomness.put(ctx.state, next_randomness)
    OutputsDigest.put(ctx.state, ZERO_HASH)
    CurrentAuthorities.put(ctx.state, incoming)  # the election's order is the slot order
    if set(incoming) != set(current):  # members or keys changed (not just the order)
        SetId.put(ctx.state, SetId.get(ctx.state) + 1)
        SetIdSince.put(ctx.state, epoch)
    ctx.deposit_event(NewEpoch(epoch, SetId.get(ctx.state), len(incoming)))


# --- the pallet ---------------------------------------------------------------------------


class Session(Pallet):
    NAME = NAME
    STORAGE = (
        EpochLength,
        CurrentEpoch,
        CurrentAuthorities,
        NextAuthorities,
        QueuedKeys,
        ValidatorKeys,
        KeyOwners,
        SetId,
        SetIdSince,
        Randomness,
        NextRandomness,
        OutputsDigest,
        PrimaryProbability,
    )
    EVENTS = (KeysQueued, NewEpoch)
    ERRORS = (InvalidSigningKey, InvalidVrfKey, DuplicateSigningKey, NotAStaker)

    def configure(self, *, manager: SessionManager) -> None:
        """``manager`` (staking) says who may set keys and elects the next sets."""
        self.manager = manager

    @call(0, SetKeysArgs, weight=200_000)
    def set_keys(self, ctx: DispatchContext, origin: Origin, args: SetKeysArgs) -> None:
        """Queue the caller's session keys; they are enacted at the next epoch boundary."""
        who = ensure_signed(origin)
        if not self.manager.is_staker(ctx.state, who) and not ValidatorKeys.contains(ctx.state, who):
            raise NotAStaker()
        if not is_valid_public_key(args.keys.signing):
            raise InvalidSigningKey()
        if not is_valid_public_key(args.keys.vrf):
            raise InvalidVrfKey()
        signing_is_staker = self.manager.is_staker(ctx.state, args.keys.signing)
        if is_signing_key_taken(ctx.state, args.keys.signing, who, signing_is_staker=signing_is_staker):
            raise DuplicateSigningKey()
        QueuedKeys.put(ctx.state, who, args.keys)
        ctx.deposit_event(KeysQueued(who, args.keys))

    # --- the session interface (for other pallets) --------------------------------------

    def get_validators(self, state: StateReader) -> tuple[bytes, ...]:
        return get_validators(state)

    def get_validator_of(self, state: StateReader, signing: bytes) -> bytes | None:
        return get_validator_of(state, signing)

    def get_key_owner(self, state: StateReader, signing: bytes) -> bytes | None:
        return KeyOwners.get(state, signing)  # type: ignore[no-any-return]

    def get_authority_keys(self, state: StateReader) -> tuple[tuple[bytes, bytes, bytes], ...]:
        return tuple(
            (authority.validator, authority.keys.signing, authority.keys.vrf)
            for authority in get_current_authorities(state)
        )

    def get_set_id(self, state: StateReader) -> int:
        return get_set_id(state)

    def get_epoch_length(self, state: StateReader) -> int:
        return EpochLength.get(state)  # type: ignore[no-any-return]

    # --- hooks --------------------------------------------------------------------------

    def on_initialize(self, ctx: DispatchContext) -> int:
        """Fold the block's VRF output into the epoch's; at an epoch's last block, weigh its end
        (the manager's part included: an era's end is the heaviest work a block does)."""
        if ctx.block.vrf_output:
            OutputsDigest.put(ctx.state, compute_outputs_digest(OutputsDigest.get(ctx.state), ctx.block.vrf_output))
        if not is_epoch_end(ctx.state, ctx.block.number):
            return 0
        # The next set's keys read, both sets and the randomness written.
        validators = len(NextAuthorities.get(ctx.state))
        own = validators * READ_WEIGHT + 4 * WRITE_WEIGHT
        return own + self.manager.get_end_session_weight(ctx.state, ctx.block.number)

    def on_finalize(self, ctx: DispatchContext) -> None:
        """At an epoch's last block: the manager ends the session (and, at an era's end, elects
        the next set), then the epoch rotates."""
        if is_epoch_end(ctx.state, ctx.block.number):
            set_next_validators(ctx, self.manager.end_session(ctx) or [])
            end_epoch(ctx)

    # --- genesis ------------------------------------------------------------------------

    def build_genesis(self, ctx: DispatchContext, config: dict[str, Any]) -> None:
        """``authorities``: ``[validator address, signing address, "0x" VRF key]`` each; a bare
        address is shorthand (test chains) for the account key as signing and VRF key."""
        epoch_length = config.get("epochLengthBlocks", DEFAULT_EPOCH_LENGTH)
        if type(epoch_length) is not int or not 1 <= epoch_length < 2**32:
            raise ValueError(f"session.epochLengthBlocks must be at least 1, got {epoch_length!r}")
        authorities = tuple(parse_authority(entry) for entry in config.get("authorities", []))
        if not authorities:
            raise ValueError("genesis needs at least one authority")
        if len(authorities) > MAX_AUTHORITIES:
            raise ValueError(f"genesis lists more than {MAX_AUTHORITIES} authorities")
        if len({authority.validator for authority in authorities}) != len(authorities):
            raise ValueError("genesis lists an authority twice")
        if len({authority.keys.signing for authority in authorities}) != len(authorities):
            raise ValueError("genesis uses a signing key for two authorities")
        for authority in authorities:
            name = encode_address(authority.validator)
            if not is_valid_public_key(authority.validator):
                raise ValueError(f"authority {name} is not a valid ed25519 key")
            if not is_valid_public_key(authority.keys.signing):
                raise ValueError(f"authority {name}: the signing key is not a valid ed25519 key")
            if not is_valid_public_key(authority.keys.vrf):
                raise ValueError(f"authority {name}: the VRF key is not a valid public key")
            enact_keys(ctx, authority.validator, authority.keys)
        probability = config.get("primaryProbability", list(DEFAULT_PRIMARY_PROBABILITY))
        if (
            not isinstance(probability, list)
            or len(probability) != 2
            or not all(type(part) is int for part in probability)
            or not 0 <= probability[0] < probability[1] < 2**64
        ):
            raise ValueError(f"session.primaryProbability must be [numerator, denominator] in [0, 1): {probability!r}")
        EpochLength.put(ctx.state, epoch_length)
        PrimaryProbability.put(ctx.state, Probability(*probability))
        CurrentAuthorities.put(ctx.state, authorities)
        NextAuthorities.put(ctx.state, authorities)

    def export_genesis(self, state: StateReader) -> dict[str, Any]:
        return {
            "epochLengthBlocks": EpochLength.get(state),
            "primaryProbability": [PrimaryProbability.get(state).numerator, PrimaryProbability.get(state).denominator],
            "authorities": [
                [
                    encode_address(authority.validator),
                    encode_address(authority.keys.signing),
                    "0x" + authority.keys.vrf.hex(),
                ]
                for authority in CurrentAuthorities.get(state)
            ],
        }

    # --- invariants ---------------------------------------------------------------------

    def try_state(self, state: StateReader) -> list[str]:
        problems = []
        current = CurrentAuthorities.get(state)
        if not current:
            problems.append("the authority set is empty")
        for label, authorities in (("current", current), ("next", NextAuthorities.get(state))):
            signing = [authority.keys.signing for authority in authorities]
            if len(set(signing)) != len(signing):
                problems.append(f"the {label} set uses a signing key twice")
            validators = [authority.validator for authority in authorities]
            if len(set(validators)) != len(validators):
                problems.append(f"the {label} set lists a validator twice")
        for who, keys in (*QueuedKeys.iter(state), *ValidatorKeys.iter(state)):
            if not (is_valid_public_key(keys.signing) and is_valid_public_key(keys.vrf)):
                problems.append(f"{encode_address(who)} has malformed session keys")
        queued_signing = [keys.signing for _, keys in QueuedKeys.iter(state)]
        if len(set(queued_signing)) != len(queued_signing):
            problems.append("two validators queued the same signing key")
        for who, keys in ValidatorKeys.iter(state):
            if KeyOwners.get(state, keys.signing) != who:
                problems.append(f"{encode_address(who)}'s enacted signing key is not recorded as its own")
        if SetIdSince.get(state) > CurrentEpoch.get(state) or SetId.get(state) > CurrentEpoch.get(state):
            problems.append("SetId rose more often than epochs ended")
        if EpochLength.get(state) == 0:
            problems.append("the epoch length is 0")
        return problems


def parse_authority(entry: Any) -> Authority:
    if isinstance(entry, str):
        validator = decode_address(entry)
        return Authority(validator, default_keys(validator))
    if not isinstance(entry, list | tuple) or len(entry) != 3:
        raise ValueError(f"session.authorities: expected [validator, signing key, VRF key], got {entry!r}")
    validator, signing, vrf_hex = entry
    if not isinstance(vrf_hex, str) or not vrf_hex.startswith("0x") or len(vrf_hex) != 66:
        raise ValueError(f"session.authorities: the VRF key {vrf_hex!r} is not 0x and 64 hex digits")
    return Authority(decode_address(validator), SessionKeys(decode_address(signing), bytes.fromhex(vrf_hex[2:])))
