"""`make mutation`: mutation testing of the domain rules (see mutation/__main__.py)."""
