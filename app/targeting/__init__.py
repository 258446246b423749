"""Who sees what: targeting conditions, link routing rules, split tests and creative choice.

Specs are plain JSON-able dicts stored in the catalog (`spec.py` validates and normalises
them at the API); `compile.py` turns them into matchers once per catalog refresh; the edge
asks `routing.py` for a decision per hit with a `Visitor` (`visitor.py`).
"""
