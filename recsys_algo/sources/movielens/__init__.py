"""sources/movielens."""
