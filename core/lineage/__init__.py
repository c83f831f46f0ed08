"""Data lineage: the graph from data sources to business decisions, impact analysis and trace back."""
