"""Render-only pieces shared by pages: they take data and draw it (tables, charts, badges,
status messages, empty states, links). They never read the registry, never write and never
touch the cache; a few draw an input and hand back what the user picked (choice.choose, a
selectable table's row, a clicked cell of the risk matrix). Registry text goes through
components.text before it reaches anything Streamlit renders as Markdown."""
