"""adtrack: tracker for internet distribution and ad placement, on ClickHouse."""

__version__ = "0.1.0"
