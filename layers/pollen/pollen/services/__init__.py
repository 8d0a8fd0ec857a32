"""Use cases: load what a change needs, apply the domain rules, commit through storage.

Handlers call these; they know nothing of HTTP or Lambda events.
"""
