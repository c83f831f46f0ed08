"""The registry: read models and queries (reads.py) and the use cases that change it (services.py)."""
