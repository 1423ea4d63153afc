"""The node: chain, pool, RPC and the block author, as trio services."""
