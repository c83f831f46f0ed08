"""Monitoring: drift, feedback labelling, realised performance, alerts and health."""
