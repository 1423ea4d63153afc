"""Model-based test of the runtime: random transfers (good and failing) in random blocks.

After every block: the invariants of every pallet hold (total issuance constant, no account
below zero or below the existential deposit, locks consistent), nonces only increase, and the
state root kept incrementally by the state tree equals a root recomputed from scratch.
"""

from __future__ import annotations

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from flockchain.db.memory import MemoryStore
from flockchain.state.tree import StateTree
from runtime.accounts import FLOCK
from runtime.block import encode_extrinsic, sign_extrinsic
from runtime.construct import construct_runtime
from runtime.errors import InvalidTransaction
from runtime.executive import Executive
from runtime.pallets import balances, system
from runtime.pallets.system import Remark
from runtime_helpers import TEST_GENESIS_HASH, build_genesis_state, execute_block, named_keypair, sign_transfer

RUNTIME = construct_runtime()
KEYS = [named_keypair(f"user-{index}") for index in range(5)]
ACCOUNTS = [key.public_key for key in KEYS]


class RuntimeMachine(RuleBasedStateMachine):
    @initialize()
    def start(self) -> None:
        self.executive = Executive(RUNTIME, TEST_GENESIS_HASH)
        self.state = build_genesis_state(RUNTIME, ACCOUNTS[:3], balance=50 * FLOCK)
        self.tree = StateTree(MemoryStore())
        self.tree.apply(dict(self.state.iter_prefix(b"")))
        self.tree.commit(0)
        self.issuance = balances.get_total_issuance(self.state)
        self.pending: list[bytes] = []
        self.next_nonce = {who: 0 for who in ACCOUNTS}
        self.nonces = {who: 0 for who in ACCOUNTS}

    def _signable(self, sender: int) -> bool:
        # Only accounts that exist and can pay a fee sign; the others would be refused by a pool.
        info = system.get_account(self.state, ACCOUNTS[sender])
        return info.free >= FLOCK // 10

    @rule(
        sender=st.integers(0, 4),
        dest=st.integers(0, 4),
        amount=st.sampled_from([0, 1, FLOCK, 20 * FLOCK, 49 * FLOCK, 60 * FLOCK]) | st.integers(0, 60 * FLOCK),
        tip=st.integers(0, 1000),
    )
    def transfer(self, sender: int, dest: int, amount: int, tip: int) -> None:
        """A transfer that may fail (too much, below the ED): it still pays its fee."""
        if not self._signable(sender) or len(self.pending) >= 6:
            return
        who = ACCOUNTS[sender]
        self.pending.append(
            sign_transfer(RUNTIME, KEYS[sender], ACCOUNTS[dest], amount, nonce=self.next_nonce[who], tip=tip)
        )
        self.next_nonce[who] += 1

    @rule(sender=st.integers(0, 4), dest=st.integers(0, 4))
    def overdraw(self, sender: int, dest: int) -> None:
        """A transfer of more than the sender holds: the call fails, the fee is kept."""
        if not self._signable(sender) or len(self.pending) >= 6:
            return
        who = ACCOUNTS[sender]
        amount = system.get_account(self.state, who).free + 1
        self.pending.append(sign_transfer(RUNTIME, KEYS[sender], ACCOUNTS[dest], amount, nonce=self.next_nonce[who]))
        self.next_nonce[who] += 1

    @rule(sender=st.integers(0, 4), data=st.binary(max_size=64))
    def remark(self, sender: int, data: bytes) -> None:
        if not self._signable(sender) or len(self.pending) >= 6:
            return
        who = ACCOUNTS[sender]
        call = RUNTIME.encode_call(Remark(data))
        self.pending.append(
            encode_extrinsic(sign_extrinsic(KEYS[sender], TEST_GENESIS_HASH, nonce=self.next_nonce[who], call=call))
        )
        self.next_nonce[who] += 1

    @rule()
    def produce_block(self) -> None:
        # Each transaction's fee was affordable when signed, but earlier ones in the block may
        # have spent the money: keep only what the executive accepts, as a block author does.
        included = []
        for encoded in self.pending:
            try:
                execute_block(self.executive, self.state, [*included, encoded])
            except InvalidTransaction:
                continue
            included.append(encoded)
        changes_state = execute_block(self.executive, self.state, included)
        events = RUNTIME.decode_events(system.Events.get(changes_state))
        failed = [record for record in events if isinstance(record.event, system.ExtrinsicFailed)]
        event(f"block with {len(included)} transactions, {len(failed)} failed calls")
        changes = {
            key: changes_state.get(key)
            for key in {k for k, _ in changes_state.iter_prefix(b"")} | {k for k, _ in self.state.iter_prefix(b"")}
            if changes_state.get(key) != self.state.get(key)
        }
        self.tree.apply(changes)
        self.tree.commit(system.Number.get(changes_state))
        self.state = changes_state
        self.pending = []
        self.next_nonce = {who: system.get_account(self.state, who).nonce for who in ACCOUNTS}

    @invariant()
    def pallets_are_consistent(self) -> None:
        if not hasattr(self, "state"):
            return
        assert RUNTIME.try_state(self.state) == []
        assert balances.get_total_issuance(self.state) == self.issuance

    @invariant()
    def nonces_only_increase(self) -> None:
        if not hasattr(self, "state"):
            return
        for who in ACCOUNTS:
            nonce = system.get_account(self.state, who).nonce
            # A reaped account restarts at 0 (its nonce went with it); otherwise nonces grow.
            if system.Account.contains(self.state, who):
                assert nonce >= self.nonces[who]
            self.nonces[who] = nonce

    @invariant()
    def root_matches_recomputation(self) -> None:
        if not hasattr(self, "state"):
            return
        fresh = StateTree(MemoryStore())
        assert self.tree.root == fresh.apply(dict(self.state.iter_prefix(b"")))


RuntimeMachine.TestCase.settings = settings(
    max_examples=40, stateful_step_count=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestRuntime = RuntimeMachine.TestCase
