"""Governance: the promotion workflow and its evidence gates, risk, business rules and review meetings."""
