"""trex test suite; tests mirror src/trex."""
