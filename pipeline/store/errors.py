"""The store's error: raised when it cannot be opened or used."""


class StoreError(RuntimeError):
    """The store cannot be opened or used: the message says why and what to do."""
