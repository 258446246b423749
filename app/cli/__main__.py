"""`python -m app.cli …`, as the `adtrack` entry point (the server starts its edges so)."""

import sys

from app.cli.main import main

sys.exit(main())
