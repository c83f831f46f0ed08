"""Model costs: queries over cost records, per-1,000-prediction costs, forecasts and budgets."""
