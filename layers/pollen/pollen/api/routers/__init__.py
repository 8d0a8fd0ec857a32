"""Powertools routers shared by functions (included with ``app.include_router``)."""
