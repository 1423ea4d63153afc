"""genesis."""
