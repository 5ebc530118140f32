"""The CDR input contract: which files and columns Sentinel accepts (``layouts``), how their columns
become clean rows (``normalise``), the line-by-line reader for broken files (``lines``) and reading one
file with either (``read``)."""
