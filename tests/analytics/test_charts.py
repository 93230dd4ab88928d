"""The SVG charts: accessible, scalable documents with one mark per day, in order."""

import xml.etree.ElementTree as ET
from datetime import date, timedelta

from kohort.analytics.charts import Point, bar_chart, line_chart

SVG = "{http://www.w3.org/2000/svg}"


def series(*values: int) -> list[Point]:
    return [Point(day=date(2031, 3, 14) + timedelta(days=n), value=v) for n, v in enumerate(values)]


def parsed(document: str) -> ET.Element:
    root = ET.fromstring(document)
    assert root.tag == f"{SVG}svg"
    return root


def labelled(root: ET.Element) -> tuple[str, str]:
    """The title and description the root's aria-labelledby names."""
    title, desc = root.attrib["aria-labelledby"].split()
    found = {
        el.attrib.get("id"): el.text or "" for el in root if el.tag in (f"{SVG}title", f"{SVG}desc")
    }
    return found[title], found[desc]


def test_a_line_chart_has_one_point_per_day_left_to_right() -> None:
    root = parsed(line_chart(series(5, 0, 20, 10), title="Referred revenue", y_label="Cents"))

    assert root.attrib["role"] == "img" and root.attrib["viewBox"] == "0 0 640 240"
    assert "width" not in root.attrib or root.attrib["width"] == "100%"
    points = root.findall(f"{SVG}circle")
    assert len(points) == 4
    xs = [float(p.attrib["cx"]) for p in points]
    ys = [float(p.attrib["cy"]) for p in points]
    assert xs == sorted(xs) and len(set(xs)) == 4
    assert ys[2] < ys[3] < ys[0] < ys[1]
    assert [p.find(f"{SVG}title").text for p in points] == [  # type: ignore[union-attr]
        "2031-03-14: 5",
        "2031-03-15: 0",
        "2031-03-16: 20",
        "2031-03-17: 10",
    ]
    polyline = root.find(f"{SVG}polyline")
    assert polyline is not None and len(polyline.attrib["points"].split()) == 4
    title, desc = labelled(root)
    assert title == "Referred revenue"
    assert desc.startswith("4 days from 2031-03-14 to 2031-03-17; total 35")
    texts = {t.attrib.get("class"): t.text for t in root.iter(f"{SVG}text")}
    assert texts["x-label"] == "Day" and texts["y-label"] == "Cents"


def test_a_bar_chart_has_one_bar_per_day_with_heights_in_proportion() -> None:
    root = parsed(bar_chart(series(1, 4, 2), title="Joins", y_label="Orders"))

    bars = [r for r in root.iter(f"{SVG}rect") if r.attrib.get("class") == "bar"]
    assert len(bars) == 3
    xs = [float(b.attrib["x"]) for b in bars]
    heights = [float(b.attrib["height"]) for b in bars]
    assert xs == sorted(xs)
    assert heights[1] == 4 * heights[0] and heights[2] == 2 * heights[0]


def test_text_is_escaped() -> None:
    hostile = '<script>alert("x")</script> & Co'
    document = line_chart(series(1), title=hostile, y_label="a < b", x_label="d & e")
    root = parsed(document)

    assert "<script>" not in document
    assert labelled(root)[0] == hostile
    texts = {t.attrib.get("class"): t.text for t in root.iter(f"{SVG}text")}
    assert texts["y-label"] == "a < b" and texts["x-label"] == "d & e"
    assert root.find(f"{SVG}script") is None


def test_an_empty_series_says_so() -> None:
    for render in (line_chart, bar_chart):
        root = parsed(render([], title="Nothing", y_label="Cents", chart_id="empty"))

        assert root.findall(f"{SVG}circle") == [] and root.find(f"{SVG}polyline") is None
        assert not [r for r in root.iter(f"{SVG}rect") if r.attrib.get("class") == "bar"]
        assert labelled(root) == ("Nothing", "No data for this period.")
        texts = {t.attrib.get("class"): t.text for t in root.iter(f"{SVG}text")}
        assert texts["empty"] == "No data for this period"


def test_values_are_written_with_the_label_given() -> None:
    document = line_chart(
        series(1, 250_000), title="Revenue", y_label="EUR", label=lambda c: f"€{c // 100}"
    )
    root = parsed(document)
    ticks = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "y-tick"]
    assert ticks[0] == "€0" and ticks[-1] == "€2500"
    titles = [t.text for t in root.iter(f"{SVG}title")]
    assert titles[-1].endswith(": €2500")
    assert "total €2500" in document
