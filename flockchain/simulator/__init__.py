"""A deterministic multi-node simulator: real consensus engines and real runtimes on in-memory
stores, a virtual clock and a seeded, faulty network (``flockchain simulate``)."""
