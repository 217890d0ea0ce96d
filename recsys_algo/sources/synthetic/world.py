"""The stable part of a synthetic data set: items in tag clusters, and users with tastes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# One genre per cluster: the first tag of every item, so tests and docs can recover the cluster.
GENRES = (
    "action", "comedy", "drama", "horror", "romance", "sci-fi", "thriller", "documentary",
    "animation", "fantasy", "mystery", "crime", "adventure", "family", "music", "sports",
    "history", "war", "western", "biography", "travel", "cooking", "science", "nature",
)  # fmt: skip
DESCRIPTORS = (
    "classic", "indie", "award-winning", "feel-good", "dark", "cult", "epic", "short",
    "quirky", "gritty", "true-story", "slow-burn", "fast-paced", "visual", "franchise",
    "debut", "remake", "international", "nostalgic", "experimental", "romantic", "violent",
    "cerebral", "uplifting", "satirical", "atmospheric", "musical", "bingeable",
)  # fmt: skip
_ADJECTIVES = (
    "Silent", "Golden", "Broken", "Hidden", "Last", "Crimson", "Electric", "Wild", "Lost",
    "Distant", "Burning", "Frozen", "Midnight", "Paper", "Iron", "Glass", "Velvet", "Hollow",
)  # fmt: skip
_NOUNS = (
    "Harbor", "Kingdom", "Signal", "Garden", "River", "Machine", "Letter", "Summer", "Empire",
    "Echo", "Frontier", "Mirror", "Orchard", "Voyage", "Circuit", "Lantern", "Island", "Crown",
)  # fmt: skip
# Beyond the named genres a cluster is named after one of them with a number (`drama-2`).
MAX_CLUSTERS = 240
SIGNATURE_SIZE = 4  # descriptors that characterise one cluster
_ITEMS_STREAM = 1
_USERS_STREAM = 2
_CATALOG_STREAM = 3
MAX_PREFERRED = 3


def _rng(seed: int, *stream: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, *stream])))


def item_ids(n_items: int) -> list[str]:
    return [f"item-{i}" for i in range(n_items)]


def user_ids(n_users: int) -> list[str]:
    return [f"user-{i}" for i in range(n_users)]


@dataclass(frozen=True)
class Items:
    """Item clusters and a Zipf-like popularity, sampled within a cluster in O(log n)."""

    cluster: np.ndarray  # cluster of each item
    by_cluster: np.ndarray  # item indices sorted by cluster
    cluster_cdf: np.ndarray  # cluster + cumulative in-cluster popularity, aligned with by_cluster
    successor: np.ndarray  # the item that often follows each item (next-item signal)
    price: np.ndarray  # purchase value of each item

    def sample(self, clusters: np.ndarray, uniform: np.ndarray) -> np.ndarray:
        """One item per entry of clusters, popularity-weighted within that cluster."""
        return _sample(self.by_cluster, self.cluster_cdf, clusters, uniform)


def _sample(
    by_cluster: np.ndarray, cluster_cdf: np.ndarray, clusters: np.ndarray, uniform: np.ndarray
) -> np.ndarray:
    # cluster_cdf rises from c to exactly c + 1 inside cluster c, so c + u lands in cluster c.
    keys = clusters + uniform * (1.0 - 1e-9)
    return np.asarray(by_cluster[np.searchsorted(cluster_cdf, keys, side="right")])


def build_items(seed: int, n_items: int, n_clusters: int, zipf_exponent: float) -> Items:
    rng = _rng(seed, _ITEMS_STREAM)
    # Uneven cluster sizes, but every cluster holds at least one item.
    sizes = rng.dirichlet(np.full(n_clusters, 2.0))
    cluster = np.concatenate(
        [np.arange(n_clusters), rng.choice(n_clusters, n_items - n_clusters, p=sizes)]
    )
    cluster = rng.permutation(cluster)
    popularity = (rng.permutation(n_items) + 1.0) ** -zipf_exponent
    by_cluster = np.argsort(cluster, kind="stable")
    sorted_clusters = cluster[by_cluster]
    weights = popularity[by_cluster]
    starts = np.searchsorted(sorted_clusters, np.arange(n_clusters))
    totals = np.add.reduceat(weights, starts)
    running = np.cumsum(weights) - np.repeat(
        np.cumsum(totals) - totals, np.diff([*starts, n_items])
    )
    fraction = running / totals[sorted_clusters]
    last = np.append(starts[1:], n_items) - 1
    fraction[last] = 1.0
    cluster_cdf = sorted_clusters + fraction
    return Items(
        cluster=cluster,
        by_cluster=by_cluster,
        cluster_cdf=cluster_cdf,
        successor=_sample(by_cluster, cluster_cdf, cluster, rng.random(n_items)),
        price=np.round(rng.lognormal(3.0, 0.8, n_items), 2),
    )


def genre(cluster: int) -> str:
    """The first tag of every item of a cluster: its genre (numbered past the named ones)."""
    name = GENRES[cluster % len(GENRES)]
    return name if cluster < len(GENRES) else f"{name}-{cluster // len(GENRES) + 1}"


def catalog_rows(seed: int, items: Items) -> list[dict[str, object]]:
    """Tags: the cluster's genre, then 1-3 of the cluster's signature descriptors."""
    rng = _rng(seed, _CATALOG_STREAM)
    n_clusters = int(items.cluster.max()) + 1
    signatures = np.stack(
        [rng.choice(len(DESCRIPTORS), SIGNATURE_SIZE, replace=False) for _ in range(n_clusters)]
    )
    n_items = items.cluster.size
    n_extra = rng.integers(1, MAX_PREFERRED + 1, n_items)
    picks = rng.random((n_items, SIGNATURE_SIZE)).argsort(axis=1)
    # A few items carry a descriptor from outside their cluster, as real catalogs do.
    stray = np.where(rng.random(n_items) < 0.1, rng.integers(0, len(DESCRIPTORS), n_items), -1)
    adjectives = rng.integers(0, len(_ADJECTIVES), n_items)
    nouns = rng.integers(0, len(_NOUNS), n_items)
    rows: list[dict[str, object]] = []
    for i, item_id in enumerate(item_ids(n_items)):
        c = int(items.cluster[i])
        tags = [genre(c)]
        tags += [DESCRIPTORS[d] for d in signatures[c][picks[i][: n_extra[i]]]]
        if stray[i] >= 0 and DESCRIPTORS[stray[i]] not in tags:
            tags[-1] = DESCRIPTORS[stray[i]]
        title = f"The {_ADJECTIVES[adjectives[i]]} {_NOUNS[nouns[i]]}"
        rows.append({"item_id": item_id, "tags": tags, "title": title})
    return rows


@dataclass(frozen=True)
class Users:
    """Each user prefers 1-3 clusters, with weights; activity is heavy-tailed."""

    preferred: np.ndarray  # (n_users, MAX_PREFERRED) cluster ids, -1 where unused
    preference_cdf: np.ndarray  # (n_users, MAX_PREFERRED) cumulative weights over preferred
    activity_cdf: np.ndarray  # (n_users,) cumulative chance of starting a session


def build_users(seed: int, n_users: int, n_clusters: int) -> Users:
    rng = _rng(seed, _USERS_STREAM)
    first = rng.integers(0, n_clusters, n_users)
    # Distinct offsets from the first cluster give three distinct clusters without a per-user loop.
    off1 = rng.integers(1, n_clusters, n_users)
    off2 = rng.integers(1, n_clusters - 1, n_users)
    off2 += off2 >= off1
    preferred = np.stack([first, (first + off1) % n_clusters, (first + off2) % n_clusters], 1)
    count = rng.integers(1, MAX_PREFERRED + 1, n_users)
    used = np.arange(MAX_PREFERRED)[None, :] < count[:, None]
    weights = np.where(used, rng.random((n_users, MAX_PREFERRED)) + 0.5, 0.0)
    preference_cdf = np.cumsum(weights, axis=1) / weights.sum(axis=1, keepdims=True)
    preference_cdf[:, -1] = 1.0
    activity = rng.lognormal(0.0, 1.0, n_users)
    activity_cdf = np.cumsum(activity) / activity.sum()
    activity_cdf[-1] = 1.0
    return Users(np.where(used, preferred, -1), preference_cdf, activity_cdf)
