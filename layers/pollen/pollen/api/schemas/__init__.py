"""Request and response models of the public API (the OpenAPI document is generated from them)."""
