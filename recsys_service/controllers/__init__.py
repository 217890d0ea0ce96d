"""Route controllers: health and readiness, recommendations."""
