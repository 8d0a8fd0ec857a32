"""Adapters to the store platforms and services Pollen talks to."""
