"""Steward's product logic: the registry, governance, monitoring, explanations, lineage and costs.

Nothing here imports streamlit; the UI in app/ and pages/ calls these functions.
"""
