"""Primitives shared by every layer: encoding, hashing, keys, VRF, Merkle lists, fixed point."""
