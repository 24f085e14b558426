"""LLM clients: the ``LLMClient`` protocol, OpenAI-compatible and llama.cpp clients, and ``structured``.

Agents (researchers, repair) and AIDP's LLM operators import their clients from here; nothing in
this package knows about agents or data.
"""
