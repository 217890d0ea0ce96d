"""DIGINETICA (CIKM Cup 2016) product-view sessions: no catalog, mostly anonymous users."""
