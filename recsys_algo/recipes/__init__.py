"""What a scope is built with: every kind's parameters, the blend and the evaluation.

May import contracts, kinds, serving and evaluation; never store, never dagster or litestar.
"""
