"""Offline evaluation: the held-out split (the one definition of held-out truth), ranking
metrics, scoring every kind and the served blend, and the quality gate.

May import contracts, kinds, loading and serving; never store.
"""
