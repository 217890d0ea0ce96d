"""From verified artifact tables to a served ScopeModel: decode Arrow columns into the serving
indexes' arrays. Used by the service's loader child, the evaluation and tools.

May import contracts, kinds and serving, and pyarrow; never store, never dagster or litestar.
"""
