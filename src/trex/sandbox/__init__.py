"""The sandbox for code that an LLM wrote: ``runner`` starts it, ``harness`` runs inside it, ``kernel`` filters.

It sits below the data operators, which are its only callers (a recipe's custom code steps).
"""
