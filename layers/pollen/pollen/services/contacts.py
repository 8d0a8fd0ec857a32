"""Who an event is about: the customer's contact fields, as every outbox payload names them.

Apart from :mod:`pollen.services.ledger` (the wallet-changing path, its unit of work and receipts) so
that the read paths and the event builders that only name a customer do not load the write path
(docs/design.md, "Cold start").
"""

from __future__ import annotations

from typing import Any

from pollen.domain.customers import Customer, contact_fields


def customer_fields(customer: Customer) -> dict[str, Any]:
    """Who an event is about (:func:`pollen.domain.customers.contact_fields`)."""
    return contact_fields(customer)
