"""The publish step: read what was staged and what serves, let policy.publish decide, then
write blobs, history and (last) the pointer, and mirror to the signals database."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from recsys_algo.contracts import layout
from recsys_algo.contracts.errors import ArtifactError, ValidationGateError
from recsys_algo.contracts.names import Partition
from recsys_algo.contracts.signing import SigningKeys
from recsys_algo.kinds.kind import KINDS
from recsys_algo.policy.publish import PublishDecision, PublishOptions, decide_publish
from recsys_algo.recipes.params import ModelParams
from recsys_algo.stages.memory import releases_freed_memory
from recsys_algo.stages.model_inputs import current_fingerprints, set_key_of
from recsys_algo.stages.recipes import scope_params
from recsys_algo.stages.staging import (
    drop_other_sets,
    load_evaluation,
    load_staged_blob,
    load_staged_meta,
)
from recsys_algo.store import holds, pointer, registry
from recsys_algo.store import signals as signals_db
from recsys_algo.store.registry import PublishOutcome
from recsys_algo.store.storage import Storage


@dataclass(frozen=True)
class PublishReport:
    decision: PublishDecision
    outcome: PublishOutcome
    signals: str  # what happened in the signals database
    uri: str  # the history record


def check_serving_pointer(storage: Storage, keys: SigningKeys, p: Partition) -> None:
    """Raise now, before anything is computed, what publishing would raise at the end: a
    current pointer that does not verify (garbage, tampered, a key this run does not know)
    refuses every publish of the scope until it is repaired."""
    try:
        pointer.read_current(storage, keys, p.tenant, p.surface)
    except ArtifactError as exc:
        raise type(exc)(
            f"{p.label}: the serving pointer does not verify ({exc}); nothing was computed, "
            "since publishing would be refused: configure the key it was signed with, or "
            "repair it with `recsys rollback --to VERSION`"
        ) from None


@releases_freed_memory
def publish_partition(
    storage: Storage,
    keys: SigningKeys,
    p: Partition,
    options: PublishOptions,
    *,
    params: ModelParams,
    window_days: int,
    signals_dsn: str,
    log: logging.Logger,
    own_canonical: str | None = None,
) -> PublishReport:
    """Publish the partition's staged artifacts as one signed manifest, if the policy allows.

    Reads the staged set of what the window and catalog hold now (with the scope's parameters:
    params, then its recipes; a recipe set meanwhile names another set), so
    everything published comes from one set of inputs; own_canonical (the digest of the
    canonical events this run wrote, if it wrote them) must still be the partition day's.
    Raises ValidationGateError (nothing written) when the quality gate refuses it,
    ConcurrentPublishError when another run changed the inputs meanwhile. Progress is logged
    as it happens: a failure after the pointer moved still shows that it moved.
    """
    resolved = scope_params(storage, p.tenant, p.surface, params)
    inputs = current_fingerprints(storage, p, window_days)
    set_key = set_key_of(inputs, resolved.params, window_days)
    staged = [load_staged_meta(storage, p, set_key, kind) for kind in KINDS]
    evaluation = load_evaluation(storage, p, set_key)
    current = pointer.read_current(storage, keys, p.tenant, p.surface)
    decision = decide_publish(
        p,
        staged,
        evaluation,
        current.manifest if current else None,
        options,
        gate_margin=resolved.gate_margin,
        signals_configured=bool(signals_dsn),
        inputs=inputs,
        own_canonical=own_canonical,
        hold=holds.read_hold_state(storage, keys, p.tenant, p.surface),
    )
    if not decision.publish:
        raise ValidationGateError(decision.message)
    (log.info if decision.gate.passed else log.warning)(decision.message + decision.omitted_note)
    blobs = [
        load_staged_blob(storage, p, set_key, meta.kind, meta)
        for meta in staged
        if meta.omitted is None
    ]
    outcome = registry.publish(
        storage,
        keys,
        tenant=p.tenant,
        surface=p.surface,
        as_of=p.day,
        window=decision.window,
        blobs=blobs,
        lineage=decision.lineage,
        metrics=decision.metrics,
        # The registry's own check, against the pointer it swaps: a newer day published
        # since `current` was read still keeps serving.
        allow_rewind=options.allow_rewind,
    )
    (log.info if outcome.swapped else log.warning)(f"{p.label}: {outcome.message}")
    # Sets of other inputs are stale now; a run still computing one finds it gone and loses
    # (exit 6) or writes it again whole. Never a mix: publish reads one set only.
    drop_other_sets(storage, p, set_key)
    signals = decision.signals_skipped(outcome.swapped)
    if signals is None:
        # After the object store: the manifest is the source of truth; on failure the run
        # fails (DataSourceError) and a rerun publishes and mirrors again (docs/signals-db.md).
        written = {blob.kind: blob.data for blob in blobs}
        signals = signals_db.write_signals(signals_dsn, outcome.manifest, written).message
        log.info(f"{p.label}: {signals}")
    version = outcome.manifest.manifest_version
    uri = storage.uri_for(layout.history_key(p.tenant, p.surface, version))
    return PublishReport(decision, outcome, signals, uri)
