"""Enrichment: ordered, named steps that fill derived fields on spooled hits."""
