"""The chain: blocks, the chain store, authoring and import."""
