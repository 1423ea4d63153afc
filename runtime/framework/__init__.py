"""The runtime framework: storage items, pallets, dispatch and the executive."""
