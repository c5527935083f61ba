"""MongoDB access: one repository per collection, indexes, the embedded database."""

from store.database import Store

__all__ = ["Store"]
