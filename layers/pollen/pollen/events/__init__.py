"""Events Pollen emits: the outbox envelope and the catalogue of typed payloads."""
