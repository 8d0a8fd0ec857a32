"""Response models: what the APIs answer (and what idempotency receipts replay), built from domain
objects. Services and the API both import them; they import only :mod:`pollen.domain`."""
