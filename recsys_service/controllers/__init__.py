"""Route controllers: health, recommendations (single and batch), similar/popular, manifests."""
