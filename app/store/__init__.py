"""The store: the one ClickHouse client (embedded chDB or a server) and the schema migrations."""

from app.store.client import Store, StoreError, open_store

__all__ = ["Store", "StoreError", "open_store"]
