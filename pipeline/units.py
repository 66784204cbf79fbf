"""Units of measure that more than one stage reads pages in.

At the bottom of the house: ingest sizes a PDF page with these, and `pdf_scan`, which ingest
calls, resamples a page's own JPEG to the same size.
"""

POINTS_PER_INCH = 72.0  # a PDF page's sizes are in points
