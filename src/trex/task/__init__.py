"""The task a user hands trex: its schema (``spec``), its data files, the data check and the fingerprint.

Everything here runs before any job: a bad task fails at the door with the file, line or field named.
"""
