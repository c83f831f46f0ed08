"""Render-only helpers shared by pages: KPI header, status badges, empty states, tables,
charts and links. They draw what they are given; they never query the registry."""
