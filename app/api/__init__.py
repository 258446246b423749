"""The admin JSON API (FastAPI): catalog entities behind the admin bearer token."""
