"""The data each section measures on, by role: the catalog and dataset tables name them, a section never does."""

from kit.bundled_catalogs import held_out_catalog, photo_query_catalog
from kit.datasets import datasets_of_kind

PHOTOS = photo_query_catalog().name  # shopper photos -> products; the assistant's photo and text turns
LABELLED = held_out_catalog().name  # held-out labelled items: title -> photo, attribute queries, zero-shot, copy
SEQUENCES = datasets_of_kind("sequences")[0]  # real purchase sequences: semantic IDs, completion, simulation
BUNDLES = datasets_of_kind("interactions")[0]  # user-bundle-item graph: bundle recommendation
