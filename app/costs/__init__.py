"""Media spend: import (CSV or API), the catalog references it must match, storage."""
