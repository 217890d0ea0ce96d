"""MovieLens (ml-latest-small, ml-100k): read its files, write landing files and a catalog."""
