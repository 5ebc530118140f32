"""``sentinel report``: a self-contained HTML report (charts as inline SVG, no network) and CSV files
for regulators, with every figure read from Sentinel's tables and views.

``figures.py`` holds the queries (one per figure, plain SQL), ``charts.py`` draws them, ``html.py``
lays the page out and ``regulator.py`` writes the CSV files.
"""
