"""Agents: the thinking parts (LLM backends, drafter, critics, conversion scorer)."""
