"""Exact top-N neighbour search over grouped content features (see content_features).

Items with the same (tag group, title group) pair, a "combo", have identical vectors, so they
share one ranked list. For combo c the search needs a bound theta_c: at least top_n + 2 items
score >= theta_c (from group sizes alone), so nothing below it can make the list. Candidates:

* members of tag groups h with P[c, h] >= theta_c (only the first top_n + 2 by id: the rest
  tie with them or lose, since their title part can only add) and likewise title groups;
* combos (h, w) with P > 0, Q > 0 and P + Q >= theta_c, again only their first members.

Every item that can be in the list is a candidate or is beaten by top_n + 2 candidates, so
the result equals a brute-force ranking by (score desc, item id asc).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from recsys_algo.kinds.content_sim.features import ContentGroups, SideMatrix

_SLACK = 1e-6  # bounds are loosened by this much; exact scores decide in the end


def _ragged(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(owner, offset) for counts[i] consecutive slots per owner i."""
    counts = counts.astype(np.int64)
    owner = np.repeat(np.arange(counts.size), counts)
    starts = np.cumsum(counts) - counts
    return owner, np.arange(owner.size) - starts[owner]


def _rank(sorted_labels: np.ndarray, n: int) -> np.ndarray:
    """Position of each element within its run of equal labels (labels sorted, < n)."""
    counts = np.bincount(sorted_labels, minlength=n)
    starts: np.ndarray = np.cumsum(counts) - counts
    return np.asarray(np.arange(sorted_labels.size) - starts[sorted_labels])


def _offsets(labels: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(positions sorted by label then position, start of each label's run; length n + 1)."""
    order = np.argsort(labels, kind="stable")
    return order, np.r_[0, np.cumsum(np.bincount(labels, minlength=n))]


def _theta(m: SideMatrix, size: np.ndarray, need: int) -> np.ndarray:
    """Per group row: a value v with >= need items scoring >= v on this side alone (else 0)."""
    indptr = m.matrix.indptr
    if m.by_value.size == 0:
        return np.zeros(indptr.size - 1)
    cum = np.cumsum(size[m.matrix.indices[m.by_value]])
    before = np.r_[0, cum][indptr[:-1]]
    pos = np.searchsorted(cum, before + need, side="left")
    found = pos < indptr[1:]
    value = m.matrix.data[m.by_value[np.minimum(pos, cum.size - 1)]]
    return np.where(found, np.maximum(value - _SLACK, 0.0), 0.0)


def _entries(
    m: SideMatrix, rows: np.ndarray, low: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(owner, column, value) of each row's entries >= low (and a few within _SLACK below)."""
    owner, offset = _ragged(m.count_at_least(rows, low, _SLACK))
    entry = m.by_value[m.matrix.indptr[rows][owner] + offset]
    return owner, m.matrix.indices[entry], m.matrix.data[entry]


def _heads(
    owner: np.ndarray, group: np.ndarray, order: np.ndarray, start: np.ndarray, head: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(owner, member, source entry) for the first `head` members (by id) of each group."""
    take = np.minimum(start[group + 1] - start[group], head)
    which, offset = _ragged(take)
    return owner[which], order[start[group[which]] + offset], which


def neighbor_lists(
    groups: ContentGroups, top_n: int, min_score: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(item row, neighbour row, score), sorted by item, score desc, neighbour; top_n each."""
    items = np.flatnonzero(groups.live)
    if items.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    a, b = groups.a[items], groups.b[items]
    p, q = groups.p, groups.q
    na, nb = p.matrix.shape[0], q.matrix.shape[0]
    head = top_n + 2  # one list serves every member, so one more than top_n + self
    keys, combo = np.unique(a * nb + b, return_inverse=True)
    ca, cb, nc = keys // nb, keys % nb, keys.size
    a_order, a_start = _offsets(a, na)
    b_order, b_start = _offsets(b, nb)
    c_order, c_start = _offsets(combo, nc)
    ca_start = np.searchsorted(ca, np.arange(na + 1))  # combos are sorted by (a, b)
    cb_order, cb_start = _offsets(cb, nb)
    p_max = np.asarray(p.matrix.max(axis=1).todense()).ravel()
    q_max = np.asarray(q.matrix.max(axis=1).todense()).ravel()
    theta = np.maximum.reduce(
        [
            _theta(p, np.diff(a_start), head)[ca],
            _theta(q, np.diff(b_start), head)[cb],
            np.full(nc, min_score),
        ]
    )
    h_own, h, pv = _entries(p, ca, theta - q_max[cb])
    w_own, w, qv = _entries(q, cb, theta - p_max[ca])
    # Candidates as (combo, item, score); scores are always tag part + title part.
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    sel = np.flatnonzero(pv >= theta[h_own])
    owner, member, src = _heads(h_own[sel], h[sel], a_order, a_start, head)
    found.append((owner, member, pv[sel[src]] + q.lookup(cb[owner], b[member])))
    sel = np.flatnonzero(qv >= theta[w_own])
    owner, member, src = _heads(w_own[sel], w[sel], b_order, b_start, head)
    found.append((owner, member, p.lookup(ca[owner], a[member]) + qv[sel[src]]))

    # Combos whose tag and title parts are both positive: cross the two entry lists, or scan
    # the combos of one side's groups, whichever touches fewer pairs for this combo.
    # For a tag entry with part pv, only title entries >= theta - pv can lift the pair over
    # theta; they are a prefix of the combo's title entries (sorted by value desc).
    n_w = np.bincount(w_own, minlength=nc)
    w_first = np.r_[0, np.cumsum(n_w)]
    useful = np.minimum(n_w[h_own], q.count_at_least(cb[h_own], theta[h_own] - pv, _SLACK))
    costs = np.stack(
        [
            np.bincount(h_own, weights=useful, minlength=nc),
            np.bincount(h_own, weights=np.diff(ca_start)[h], minlength=nc),
            np.bincount(w_own, weights=np.diff(cb_start)[w], minlength=nc),
        ]
    )
    choice = np.argmin(costs, axis=0)
    pairs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (combo, other combo, score)

    sel = np.flatnonzero(choice[h_own] == 0)  # cross
    rep, off = _ragged(useful[sel])
    e = sel[rep]
    f = w_first[h_own[e]] + off
    score = pv[e] + qv[f]
    ok = score >= theta[h_own[e]]
    e, f, score = e[ok], f[ok], score[ok]
    want = h[e] * nb + w[f]
    pos = np.minimum(np.searchsorted(keys, want), nc - 1)
    hit = keys[pos] == want
    pairs.append((h_own[e][hit], pos[hit], score[hit]))

    sel = np.flatnonzero(choice[h_own] == 1)  # scan combos of tag groups
    rep, off = _ragged(np.diff(ca_start)[h[sel]])
    e, other = sel[rep], ca_start[h[sel[rep]]] + off
    owner = h_own[e]
    part = q.lookup(cb[owner], cb[other])
    score = pv[e] + part
    ok = (part > 0) & (score >= theta[owner])
    pairs.append((owner[ok], other[ok], score[ok]))

    sel = np.flatnonzero(choice[w_own] == 2)  # scan combos of title groups
    rep, off = _ragged(np.diff(cb_start)[w[sel]])
    e, other = sel[rep], cb_order[cb_start[w[sel[rep]]] + off]
    owner = w_own[e]
    part = p.lookup(ca[owner], ca[other])
    score = part + qv[e]
    ok = (part > 0) & (score >= theta[owner])
    pairs.append((owner[ok], other[ok], score[ok]))

    for owner, other, score in pairs:
        owner, member, src = _heads(owner, other, c_order, c_start, head)
        found.append((owner, member, score[src]))
    return _expand(
        items,
        combo,
        np.concatenate([f[0] for f in found]),
        np.concatenate([f[1] for f in found]),
        np.concatenate([f[2] for f in found]),
        top_n,
        min_score,
    )


def _expand(
    items: np.ndarray,
    combo: np.ndarray,
    owner: np.ndarray,
    member: np.ndarray,
    score: np.ndarray,
    top_n: int,
    min_score: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rank each combo's candidates, then hand every member its list without itself."""
    # polars sorts in parallel; rows equal in all three columns are duplicates to drop.
    ranked = (
        pl.DataFrame({"c": owner, "j": member, "s": score})
        .filter(pl.col("s") >= min_score)
        .sort(["c", "s", "j"], descending=[False, True, False])
    )
    owner, member, score = (ranked[c].to_numpy() for c in ("c", "j", "s"))
    fresh = np.ones(owner.size, dtype=bool)
    fresh[1:] = (owner[1:] != owner[:-1]) | (member[1:] != member[:-1])
    owner, member, score = owner[fresh], member[fresh], score[fresh]
    keep = _rank(owner, combo.size) <= top_n
    owner, member, score = owner[keep], member[keep], score[keep]
    n_combos = int(combo.max()) + 1 if combo.size else 0
    start = np.r_[0, np.cumsum(np.bincount(owner, minlength=n_combos))]
    item, offset = _ragged(np.diff(start)[combo])
    entry = start[combo[item]] + offset
    keep = member[entry] != item
    item, entry = item[keep], entry[keep]
    keep = _rank(item, combo.size) < top_n
    item, entry = item[keep], entry[keep]
    return items[item], items[member[entry]], np.minimum(score[entry], 1.0)
