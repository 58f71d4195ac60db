"""Loaders that turn reference data and markdown into chunks, one module per corpus."""
