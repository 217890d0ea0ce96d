"""The `content_sim` kind: TF-IDF features of catalog tags and titles, grouped by identical
value, and an exact top-N neighbour search over them."""
