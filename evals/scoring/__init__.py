"""Scorers: extraction fields and splitting against ground truth, retrieval against HS6."""
