"""Evaluation of a typed expression over a fleet."""
