"""Server-rendered pages of the back office (jinja2): login, home, users."""
