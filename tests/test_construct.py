"""The runtime's composition: what each pallet is given of the others (the interface table of
docs/architecture.md), built afresh in the test (a runtime built at import would hide a broken
``configure`` from the mutation pass, whose workers fork after the imports)."""

from __future__ import annotations

import pytest

from runtime.construct import HOOK_ORDER, PALLET_INDICES, construct_runtime
from runtime.framework.traits import OffenceKind
from runtime.pallets import offences
from runtime.primitives.arithmetic import PERBILL_ACCURACY


def test_each_pallet_gets_the_pallets_the_architecture_names() -> None:
    runtime = construct_runtime()
    p = runtime.pallet
    wiring = {
        ("transaction_payment", "currency"): "balances",
        ("transaction_payment", "session"): "session",
        ("treasury", "currency"): "balances",
        ("session", "manager"): "staking",
        ("emission", "currency"): "balances",
        ("emission", "time"): "timestamp",
        ("staking", "currency"): "balances",
        ("staking", "session"): "session",
        ("staking", "slashing"): "offences",
        ("offences", "currency"): "balances",
        ("offences", "session"): "session",
        ("offences", "staking"): "staking",
        ("governance", "currency"): "balances",
        ("governance", "staking"): "staking",
        ("governance", "slashing"): "offences",
        ("finality", "session"): "session",
        ("finality", "staking"): "staking",
    }
    for (pallet, attribute), provider in wiring.items():
        assert getattr(p(pallet), attribute) is p(provider), (pallet, attribute)
    assert [pallet.NAME for pallet in runtime.hooked] == list(HOOK_ORDER)  # not the index order
    assert {name: runtime.pallet(name) is not None for name in PALLET_INDICES} == dict.fromkeys(PALLET_INDICES, True)


def test_the_builtin_offence_kinds_are_staking_s_validators() -> None:
    runtime = construct_runtime()
    pallet = runtime.pallet("offences")
    kinds = [(kind.id, kind.name, kind.handler) for kind in pallet.kinds.values()]
    ml_kinds = [kind for kind in kinds if kind[2] in (runtime.pallet("arena"), runtime.pallet("alliance"))]
    assert len(ml_kinds) == len(kinds) - 3  # every other kind is an ML market's own
    assert kinds[:3] == [
        (offences.KIND_BLOCK_EQUIVOCATION, "block equivocation", runtime.pallet("staking")),
        (offences.KIND_VOTE_EQUIVOCATION, "vote equivocation", runtime.pallet("staking")),
        (offences.KIND_UNRESPONSIVENESS, "unresponsiveness", runtime.pallet("staking")),
    ]
    from runtime_helpers import build_genesis_state

    state = build_genesis_state(
        runtime,
        config={
            "offences": {
                "slashDeferEras": 0,
                "reporterRewardPerbill": 0,
                "minBlockEquivocationPerbill": 1,
                "minVoteEquivocationPerbill": 2,
                "minUnresponsivenessPerbill": 3,
                "maxUnresponsivenessPerbill": 4,
            }
        },
    )
    # Each kind's fraction reads that kind's minimum and the offenders among the population.
    fractions = [kind.compute_fraction(state, 1, 1_000).parts for kind in pallet.kinds.values()]
    assert fractions[:3] == [9_000, 9_000, 4]
    assert [kind.compute_fraction(state, 0, 1_000_000).parts for kind in pallet.kinds.values()][:3] == [1, 2, 3]
    assert pallet.kinds[offences.KIND_BLOCK_EQUIVOCATION].compute_fraction(state, 1, 0).parts == PERBILL_ACCURACY


def test_further_offence_kinds_join_the_builtin_ones() -> None:
    runtime = construct_runtime()
    staking = runtime.pallet("staking")
    extra = OffenceKind(7, "a further kind", staking, lambda state, offenders, population: None)  # type: ignore[arg-type,return-value]
    pallet = offences.Offences()
    pallet.configure(
        currency=runtime.pallet("balances"),  # type: ignore[arg-type]
        session=runtime.pallet("session"),  # type: ignore[arg-type]
        staking=staking,  # type: ignore[arg-type]
        validators=staking,  # type: ignore[arg-type]
        kinds=(extra,),
    )
    assert sorted(pallet.kinds) == [0, 1, 2, 7]
    with pytest.raises(ValueError, match="^two offence kinds share an id$"):
        pallet.configure(
            currency=runtime.pallet("balances"),  # type: ignore[arg-type]
            session=runtime.pallet("session"),  # type: ignore[arg-type]
            staking=staking,  # type: ignore[arg-type]
            validators=staking,  # type: ignore[arg-type]
            kinds=(extra, extra),
        )
