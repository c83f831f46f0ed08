"""The prediction-log store: Parquet files by model, version and day, with a manifest in the registry."""
