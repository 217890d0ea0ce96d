"""The blend's default weights: the kinds that know a session's next item are not outvoted."""

from __future__ import annotations

from recsys_algo.kinds.kind import DEFAULT_BLEND_WEIGHTS, KINDS
from recsys_algo.serving.recommender import BlendParams, Scored, blend

# Kinds that rank without knowing what a session does next: the catalog, the crowd, the
# co-occurrence of seeds and a fold-in of the session's items.
SESSION_BLIND = ("popularity", "cooc", "content_sim", "implicit")


def top_of(candidates: dict[str, Scored]) -> str:
    return blend(candidates, 3, BlendParams())[0].item_id


def test_repeat_models_first_item_outranks_one_every_session_blind_kind_ranks_first() -> None:
    candidates = {kind: [("crowd", 1.0), ("other", 0.5)] for kind in SESSION_BLIND}
    candidates["revisit"] = [("again", 0.4)]
    assert top_of(candidates) == "again"


def test_session_blind_kinds_still_decide_among_items_the_repeat_model_does_not_rank() -> None:
    candidates = {kind: [("crowd", 1.0), ("other", 0.5)] for kind in SESSION_BLIND}
    candidates["revisit"] = []
    assert top_of(candidates) == "crowd"


def test_defaults_weigh_the_repeat_model_above_the_session_blind_kinds_together() -> None:
    # The property the first test relies on, for any first item of theirs.
    weights = BlendParams().weights
    assert weights["revisit"] > sum(weights[kind] for kind in SESSION_BLIND)
    assert set(weights) == set(KINDS) and dict(weights) == dict(DEFAULT_BLEND_WEIGHTS)
