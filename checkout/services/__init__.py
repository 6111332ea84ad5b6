"""Use cases: the only layer that commits.

Public functions are use cases; the private helpers under them only flush. A call to the
payment provider runs with no transaction open: one transaction decides, the call runs,
another records the answer. A use case may hand on to another use case (cancel → expire the
live sessions → apply one found paid) only at such a boundary, with nothing uncommitted;
the one it calls commits its own steps.
"""
