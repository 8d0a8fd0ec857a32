"""How deep parsed JSON nests, measured without recursion (a hostile body cannot exhaust the stack)."""

from __future__ import annotations

from typing import Any, Final

MAX_JSON_DEPTH: Final = 32  # what Pollen accepts anywhere: its own bodies and Shopify's nest a handful


def json_depth(value: Any, *, stop_after: int = MAX_JSON_DEPTH) -> int:
    """Nesting depth of ``value`` (1 for a flat object or list), counted up to ``stop_after`` + 1."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, level)
            if level > stop_after:
                return level
            stack.extend((child, level + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest
