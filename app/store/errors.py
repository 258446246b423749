"""The store's one error, in a module of its own so that code which only catches it (the
CLI, the HTTP faces) need not load the ClickHouse driver."""


class StoreError(Exception):
    """ClickHouse could not be reached or refused a statement."""
