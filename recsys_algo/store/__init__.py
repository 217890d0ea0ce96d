"""Where data lives: the Storage interface with its file:// and s3:// backends, the registry
(publish, history, rollback), the current-manifest pointer, landing files, the catalog and the
signals database (PostgreSQL).

May import contracts and kinds (to check artifacts before they are written); never serving,
evaluation or policy, never dagster or litestar.
"""
