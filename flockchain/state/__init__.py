"""The authenticated state: a versioned sparse Merkle tree, its proofs and their verifier."""

from flockchain.state.proof import ProofKind, StateProof, verify_proof
from flockchain.state.tree import StateTree

__all__ = ["ProofKind", "StateProof", "StateTree", "verify_proof"]
