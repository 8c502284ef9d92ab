"""Critics judge one draft each and return a ``Critique``.

Each critic is a small object with a ``name`` and ``critique(draft, context) -> Critique``;
the graph runs them in parallel. Hard critics (grounding, channel rules, CTA when forbidden)
decide whether a draft may be returned as passed.
"""
