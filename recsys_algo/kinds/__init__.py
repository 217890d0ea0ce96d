"""The artifact kinds: `kind.py` names them (the only place their names are written),
`registry.py` says how each is configured, computed and checked; one module or package per
kind, plus sessionization and the Arrow artifact format they share.

May import contracts, numpy, polars, pyarrow, scipy and implicit; never store, serving or
evaluation, nor scikit-learn (a dev dependency; import-linter checks it).
"""
