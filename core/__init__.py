"""Core of shipdoc: settings, errors, database models and session, blob store.

Imports nothing else of ours (see DESIGN.md, "Layers").
"""
