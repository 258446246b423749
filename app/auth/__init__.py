"""Accounts: users and roles, password hashing, API keys, login sessions and CSRF tokens."""
