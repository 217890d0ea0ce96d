"""kinds/implicit."""
