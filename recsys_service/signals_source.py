"""Serving from the signals database (RECSYS_SERVING_SOURCE=postgres): verified rows, no blobs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from recsys_algo.contracts.errors import NotFoundError
from recsys_algo.contracts.manifest import Manifest
from recsys_algo.contracts.signing import SigningKeys
from recsys_algo.serving.recommender import BlendParams
from recsys_algo.store.pg import describe_dsn
from recsys_service.state import LoadedScope, Scope


@dataclass(frozen=True)
class SignalsDbSource:
    """The ScopeSource of DB-only mode: popularity and neighbour kinds, no implicit model."""

    dsn: str

    # signals_db (psycopg2, pyarrow) is imported at first use: only DB-only mode needs it.
    def scopes(self) -> list[Scope]:
        from recsys_algo.store import signals_read

        return signals_read.list_scopes(self.dsn)

    def _missing(self, tenant: str, surface: str) -> NotFoundError:
        return NotFoundError(
            f"{tenant}/{surface}: no signals are published in the signals database "
            f"{describe_dsn(self.dsn)}"
        )

    def spec(self) -> dict[str, str]:
        return {"kind": "postgres", "dsn": self.dsn}

    def current(self, keys: SigningKeys, tenant: str, surface: str) -> tuple[Manifest, str] | None:
        from recsys_algo.store import signals_read

        found = signals_read.current_manifest(self.dsn, keys, tenant, surface)
        if found is None:
            raise self._missing(tenant, surface)
        return found

    def token(self, tenant: str, surface: str) -> str:
        from recsys_algo.store import signals_read

        token = signals_read.current_token(self.dsn, tenant, surface)
        if token is None:
            raise self._missing(tenant, surface)
        return token

    def load(self, keys: SigningKeys, tenant: str, surface: str, now: dt.datetime) -> LoadedScope:
        from recsys_algo.loading.model import load_model
        from recsys_algo.store import signals_read

        found = signals_read.load_signals(self.dsn, keys, tenant, surface)
        if found is None:
            raise self._missing(tenant, surface)
        token, manifest, tables = found
        where = f"{tenant}/{surface} {manifest.manifest_version} (signals database)"
        parameters = manifest.lineage.parameters
        return LoadedScope(
            manifest=manifest,
            token=token,  # from the same snapshot as the rows
            loaded_at=now,
            # Kinds absent from the database (implicit) are absent from the model: the blend
            # fuses the kinds it has, exactly as for a manifest published without them.
            model=load_model(tables, parameters, where),
            blend=BlendParams.from_lineage(parameters, where),
        )
