"""The ceiling for bench/service.py: a plain Litestar + msgspec endpoint with none of the
service's middleware, auth, logging or model, answering 20 items like /v1/recommend does."""

from __future__ import annotations

import msgspec
from litestar import Litestar, get


class Item(msgspec.Struct):
    item_id: str
    score: float


class Items(msgspec.Struct):
    items: list[Item]


ITEMS = Items(items=[Item(item_id=f"item-{i:05d}", score=1.0 / (i + 1)) for i in range(20)])


@get("/plain", sync_to_thread=False)
def plain() -> Items:
    return ITEMS


app = Litestar([plain], logging_config=None)
