"""Catalogs of millions: the sharded, resumable embedding job (local or Ray) and synthetic vector sets."""
