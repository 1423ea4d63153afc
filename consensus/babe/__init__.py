"""BABE-style slot lottery (DESIGN §8), sans-I/O: pure functions and frozen records, integers only.

``epochs`` (epoch arithmetic, authority sets, randomness), ``threshold`` (the fixed-point primary
threshold), ``digest`` (the header's ``BABE`` pre-digest), ``claims`` (claiming and verifying a slot),
``errors``. See docs/consensus.md.
"""
