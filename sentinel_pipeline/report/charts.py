"""Bar charts as inline SVG: no script, no network, readable in any browser and in print."""

from __future__ import annotations

from html import escape

PALETTE = ("#b2182b", "#ef8a62", "#fddbc7", "#67a9cf", "#2166ac", "#5aae61", "#9970ab", "#888888")
SEVERITY_COLOURS = {"critical": "#b2182b", "high": "#ef8a62", "medium": "#f4c542", "low": "#67a9cf"}


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def stacked_bars(title: str, categories: list[str], series: dict[str, list[float]],
                 colours: dict[str, str] | None = None, width: int = 720, height: int = 260) -> str:
    """Vertical bars, one per category, stacked by series; a legend and each bar's total above it."""
    colours = colours or {}
    left, bottom, top = 48, 40, 28
    plot_h = height - bottom - top
    totals = [sum(values[i] for values in series.values()) for i in range(len(categories))]
    peak = max(totals, default=0) or 1
    slot = (width - left - 10) / max(len(categories), 1)
    bar = min(48.0, slot * 0.7)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}"><title>{escape(title)}</title>',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" stroke="#444"/>']
    for i, category in enumerate(categories):
        x = left + i * slot + (slot - bar) / 2
        y = top + plot_h
        for n, (name, values) in enumerate(series.items()):
            h = values[i] / peak * plot_h
            if h > 0:
                y -= h
                colour = colours.get(name, PALETTE[n % len(PALETTE)])
                parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{colour}">'
                             f'<title>{escape(category)} {escape(name)}: {_number(values[i])}</title></rect>')
        parts.append(f'<text x="{x + bar / 2:.1f}" y="{y - 4:.1f}" font-size="11" text-anchor="middle">'
                     f'{_number(totals[i])}</text>')
        parts.append(f'<text x="{x + bar / 2:.1f}" y="{top + plot_h + 16}" font-size="11" text-anchor="middle">'
                     f'{escape(category)}</text>')
    x = left
    for n, name in enumerate(series):
        colour = colours.get(name, PALETTE[n % len(PALETTE)])
        parts.append(f'<rect x="{x}" y="6" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{x + 14}" y="15" font-size="11">{escape(name)}</text>')
        x += 24 + 7 * len(name)
    parts.append("</svg>")
    return "".join(parts)


def horizontal_bars(title: str, labels: list[str], values: list[float], unit: str = "",
                    width: int = 720, colour: str = "#2166ac") -> str:
    """One horizontal bar per label, longest first as given, with its value at the end."""
    row, left = 22, 220
    height = row * len(labels) + 10
    peak = max(values, default=0) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}"><title>{escape(title)}</title>']
    for i, (label, value) in enumerate(zip(labels, values)):
        y = 5 + i * row
        w = value / peak * (width - left - 90)
        parts.append(f'<text x="{left - 6}" y="{y + 14}" font-size="12" text-anchor="end">{escape(label)}</text>'
                     f'<rect x="{left}" y="{y + 2}" width="{w:.1f}" height="{row - 6}" fill="{colour}"/>'
                     f'<text x="{left + w + 6:.1f}" y="{y + 14}" font-size="12">{_number(value)}{escape(unit)}</text>')
    parts.append("</svg>")
    return "".join(parts)
