"""Tabular sources: CSV, TSV and parquet event logs read with a column mapping."""
