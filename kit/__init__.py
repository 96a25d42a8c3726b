"""ShopKit: a notebook-first research kit for multimodal shopping assistants.

Importing ``kit`` is cheap (no torch); each capability loads its models when first used.
"""

from kit.errors import KitError, ModelNotAvailable, UnknownModel
from kit.registry import add_model_config, list_models, resolve

__version__ = "0.1.0"
__all__ = ["KitError", "ModelNotAvailable", "UnknownModel", "add_model_config", "list_models", "resolve"]
