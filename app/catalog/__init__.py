"""Managing the catalog: the input models and the rules every change goes through, shared by
the admin API, the CLI, the pages and CSV import (`app.store.catalog` is the storage)."""
