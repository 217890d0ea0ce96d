"""The Dagster code location of the recsys platform (assets, checks, jobs) and the `recsys` CLI."""
