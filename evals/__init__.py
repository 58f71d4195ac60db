"""Evaluation: golden corpus generator, extraction scorer, retrieval harness."""
