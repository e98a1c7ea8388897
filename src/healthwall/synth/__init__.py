"""Synthetic custodian data: realistic, deterministic per seed, vectorized."""
