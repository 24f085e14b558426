"""The experiment tree and the policies that choose which node to refine next (no training here)."""
