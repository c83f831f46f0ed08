"""Report documents (meeting minutes, documentation packs) rendered as HTML and PDF."""
