"""Pollen's pydantic base model: built the first time it is used, not when its module is imported.

A pydantic model compiles its validator and serializer when its class statement runs; Pollen has
hundreds of models, and a function uses a handful per request. ``defer_build`` moves that work to
the model's first validation, serialization or schema, so a cold start pays only for the models the
request needs (docs/design.md, "Cold start"). Behaviour is otherwise pydantic's own.
"""

from __future__ import annotations

import pydantic


class BaseModel(pydantic.BaseModel):
    """``pydantic.BaseModel`` with ``defer_build``; subclasses' own ``model_config`` merges with it."""

    model_config = pydantic.ConfigDict(defer_build=True)
