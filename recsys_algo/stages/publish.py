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
from recsys_algo.stages.staging import load_evaluation, load_staged_blob, load_staged_meta
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


def publish_partition(
    storage: Storage,
    keys: SigningKeys,
    p: Partition,
    options: PublishOptions,
    *,
    gate_margin: float,
    signals_dsn: str,
    log: logging.Logger,
) -> PublishReport:
    """Publish the partition's staged artifacts as one signed manifest, if the policy allows.

    Raises ValidationGateError (nothing written) when the quality gate refuses it. Progress is
    logged as it happens: a failure after the pointer moved still shows that it moved.
    """
    staged = [load_staged_meta(storage, p, kind) for kind in KINDS]
    evaluation = load_evaluation(storage, p)
    current = pointer.read_current(storage, keys, p.tenant, p.surface)
    decision = decide_publish(
        p,
        staged,
        evaluation,
        current.manifest if current else None,
        options,
        gate_margin=gate_margin,
        signals_configured=bool(signals_dsn),
        hold=holds.read_hold_state(storage, keys, p.tenant, p.surface),
    )
    if not decision.publish:
        raise ValidationGateError(decision.message)
    (log.info if decision.gate.passed else log.warning)(decision.message)
    blobs = [
        load_staged_blob(storage, p, kind, meta) for kind, meta in zip(KINDS, staged, strict=True)
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
