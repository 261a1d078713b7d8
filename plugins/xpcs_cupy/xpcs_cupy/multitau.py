"""Streaming multi-tau accumulator (hookimpl ``xpcs_multitau_accumulator``): being written."""

__all__: list[str] = []
