"""Data and prediction drift: reference profiles, a fast binned engine, Evidently reports, stored runs."""
