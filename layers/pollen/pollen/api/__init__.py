"""HTTP concerns shared by every API function: the resolver, auth, problem responses."""
