"""Answering a query from a loaded model: the blend (ScopeModel), ranked lists as int32 item
codes, the per-kind indexes, answers computed ahead, similar items, and the memory-mapped
model file the service's workers share.

May import contracts, kinds.kind, numpy and threadpoolctl only: never polars, pyarrow, scipy,
scikit-learn or implicit (a serving process's memory depends on it), never store.
"""
