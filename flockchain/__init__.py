"""flockchain."""
