"""What later apps (jobs, reporting) can react to, without pipeline knowing them.

    from pipeline.listeners import on_deal_moved
    on_deal_moved(my_listener)   # in AppConfig.ready(); my_listener(*, tenant_id, deal_id, transition_id)

Listeners run after the transaction that moved the deal commits, and receive ids only
(queue a TenantTask with them); creating a deal counts as its first move.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)

Listener = Callable[..., None]
_deal_moved: list[Listener] = []


def on_deal_moved(listener: Listener) -> Listener:
    if listener not in _deal_moved:
        _deal_moved.append(listener)
    return listener


def deal_moved(*, tenant_id: int, deal_id: int, transition_id: int) -> None:
    for listener in list(_deal_moved):
        try:
            listener(tenant_id=tenant_id, deal_id=deal_id, transition_id=transition_id)
        except Exception:
            # The move is committed; a failing listener must not turn it into an error page.
            logger.exception("deal_moved listener %r failed", listener)
