"""Request and response bodies of the HTTP API (pydantic), separate from protocol objects.

Each module holds the schemas of one route module; every request model refuses unknown
fields (``extra="forbid"``), so a misspelt member is a 422 problem, never silently ignored.
"""
