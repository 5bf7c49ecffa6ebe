from django.http import HttpRequest


def keel(request: HttpRequest) -> dict:
    """What the frame needs on every page: the tenant, the member, the CSP nonce."""
    tenant = getattr(request, "tenant", None)
    membership = getattr(request, "membership", None)
    return {
        "tenant": tenant,
        "membership": membership,
        "csp_nonce": getattr(request, "csp_nonce", ""),
    }
