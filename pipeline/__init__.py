"""formscan: scanned paper forms in, checked and confidence-scored records out."""

__version__ = "0.1.0"
