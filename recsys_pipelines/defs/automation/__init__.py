"""Schedules, sensors and the freshness check that run the pipeline without a person."""
