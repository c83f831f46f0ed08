"""The Streamlit UI: entry point, identity, cached reads and shared components."""
