"""FT-Bench support: the normalized gain formula (task files and the runner come with the FT-Bench issue)."""
