"""Coverage-guided fuzz targets (atheris); see docs/reliability.md."""
