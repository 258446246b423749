"""Ingest: the durable spool between the HTTP edge and the store, enrichment, and the loader."""
