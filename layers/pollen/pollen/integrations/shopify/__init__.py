"""Shopify: webhook verification and payload mapping."""
