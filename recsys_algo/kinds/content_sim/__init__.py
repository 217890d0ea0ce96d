"""kinds/content_sim."""
