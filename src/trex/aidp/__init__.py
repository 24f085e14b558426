"""AIDP: data operators over Hugging Face datasets, and recipes of them.

Knows nothing of agents: its LLM operators (judge, generator, preference judge) take their client
from ``trex.llm``, and a recipe is plain data that any caller (a researcher, ``trex aidp run``) builds.
"""
