"""Route dependencies, injected by Powertools' ``Depends`` (resolved per request, after auth).

A route asks for what it needs in its signature instead of fetching it::

    @router.get("/v1/admin/things")
    @requires(Scope.ADMIN)
    def list_things(c: Services, merchant_id: MerchantId) -> ThingList: ...

``Caller`` is the authenticated :class:`~pollen.api.auth.Principal` (its key, scope and, with a customer
token, its customer), ``MerchantId`` that principal's merchant and ``Services`` the warm container
(:func:`pollen.services.container.container`). None of them is a request parameter: they never appear
in the OpenAPI document. Tests may swap one with ``app.dependency_overrides[services] = ...``.
"""

# No ``from __future__ import annotations`` here: Powertools reads these functions' type hints on
# every request, and real annotations cost nothing to read where strings must be evaluated.
from typing import Annotated

from aws_lambda_powertools.event_handler.depends import Depends

from pollen.api.app import current_principal
from pollen.api.auth import Principal
from pollen.services.container import Container, container


def caller() -> Principal:
    """Who is calling (set by the resolver's authentication; never on a ``@public`` route)."""
    return current_principal()


Caller = Annotated[Principal, Depends(caller)]


def merchant_of(principal: Caller) -> str:
    """The merchant whose data the request reads and writes: always the caller's."""
    return principal.merchant_id


def services() -> Container:
    """The container of the warm Lambda (table, caches, stores)."""
    return container()


MerchantId = Annotated[str, Depends(merchant_of)]
Services = Annotated[Container, Depends(services)]
