"""Process assembly: the core process (store, loader, API) and the edge process (hits)."""
