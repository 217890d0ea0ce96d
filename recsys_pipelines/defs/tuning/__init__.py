"""The tuning job: per scope, on demand and weekly, search parameters and write a recipe."""
