"""Managing the catalog: the input models and the rules every change goes through, shared by
the admin API, the CLI, the pages and CSV import (the entities are `app.catalog.entities`,
stored by `app.catalog.rows`)."""
