"""Chain specs shipped as package data (``genesis/specs/*.json``), their validator and builder
(:mod:`genesis.spec`), and the well-known development keys (:mod:`genesis.dev_accounts`)."""
