"""HTTP recommendation service: serves verified, hot-swapped manifests from recsys_algo storage."""
