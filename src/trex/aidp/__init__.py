"""AIDP: data operators over Hugging Face datasets, and recipes of them. Knows nothing of agents."""
