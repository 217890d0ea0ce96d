"""Data sources that write landing files and catalogs through the store: the deterministic
synthetic generator and the importers of public logs (MovieLens).

May import contracts and store; never serving or evaluation.
"""
