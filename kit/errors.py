"""The kit's exceptions: one base class so callers can catch every kit error at once."""

from __future__ import annotations


class KitError(Exception):
    """Base class of every error the kit raises on purpose."""


class UnknownModel(KitError, KeyError):
    """A model name that is not in the registry; the message lists the valid names."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ModelNotAvailable(KitError):
    """A registered model whose weights cannot be found here, with where we looked and how to fetch."""


class ChecksumMismatch(KitError):
    """A weights or data file whose sha256 is not the registered one (corrupt or tampered)."""


class UnknownDataset(KitError, KeyError):
    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class DatasetNotAvailable(KitError):
    """A registered dataset that is in none of the places the resolver looks."""


class CatalogError(KitError):
    """A catalog file that cannot be read, or a bad row when ``strict=True``."""


class BadInput(KitError, ValueError):
    """User input (an image, a query, an audio clip) that the kit refuses, with the reason."""


class UnknownItem(KitError, KeyError):
    """An item id that the catalog does not hold."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class NotFitted(KitError, RuntimeError):
    """A model asked to predict before it was fitted."""


class BadModelOutput(KitError, ValueError):
    """A model's reply that does not hold what was asked for (no JSON, a wrong schema)."""
