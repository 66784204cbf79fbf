"""The store stage: what batch runs keep, behind one interface (`Store`)."""

from pipeline.store.errors import StoreError
from pipeline.store.lock import StoreBusyError
from pipeline.store.store import DB_NAME, Store, store_url

__all__ = ["DB_NAME", "Store", "StoreBusyError", "StoreError", "store_url"]
