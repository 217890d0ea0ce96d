"""The `implicit` kind: ALS/BPR fitted with the implicit library, the exact top-N of known
users, and the artifact table's schema and checks."""
