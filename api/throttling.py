"""Requests per token (per member and workspace for the session) in a fixed window.

The counter lives in the cache (Redis in production, so every web process shares it):
one `incr` per request. Over the limit, the answer is 429 with Retry-After: the seconds
until the window ends.
"""

from __future__ import annotations

import math
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle


class TokenRateThrottle(BaseThrottle):
    def allow_request(self, request: Request, view) -> bool:
        django_request = request._request
        token = getattr(django_request, "api_token", None)
        membership = getattr(django_request, "membership", None)
        if token is not None:
            ident = f"t{token.pk}"
        elif membership is not None and getattr(django_request, "api_auth", None):
            ident = f"s{membership.pk}"
        else:
            return True  # the public schema and docs
        period = settings.API_RATE_PERIOD
        now = time.time()
        window = int(now // period)
        self.remaining = period - (now - window * period)
        key = f"api:rate:{ident}:{window}"
        cache.add(key, 0, timeout=period + 5)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=period + 5)
            count = 1
        return count <= settings.API_RATE_LIMIT

    def wait(self) -> float:
        return math.ceil(self.remaining)
