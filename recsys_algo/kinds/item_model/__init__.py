"""The `item_model` kind: an item-item model of users (EASE, RP3beta or item-kNN with shrinkage)."""
