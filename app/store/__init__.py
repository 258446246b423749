"""The store: the one ClickHouse client (embedded chDB or a server, `client.py`) and the
schema migrations (`migrate.py`). Importing the package loads no driver: a process that
never opens the store (an edge worker, a CLI call through the API) does not pay for it."""
