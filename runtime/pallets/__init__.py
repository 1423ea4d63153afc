"""The pallets of the flockchain runtime, one module (or package) each."""
