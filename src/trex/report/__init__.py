"""What a run shows: the status object and the static HTML report."""
