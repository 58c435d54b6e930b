"""Study figures are PNGs whose bytes depend only on the numbers drawn."""

from __future__ import annotations

from studies.figures import forest_plot, study1_figures
from tests.studies.synthetic import cell


def test_forest_plot_bytes_are_deterministic(tmp_path):
    cells = [cell("a", (2000, 2250, 1750), (750, 1000, 1250)), cell("b", (None,) * 3, (None,) * 3, chain_length=3)]
    first = forest_plot(cells, tmp_path / "one.png", "forest").read_bytes()
    second = forest_plot(cells, tmp_path / "two.png", "forest").read_bytes()
    assert first[:8] == b"\x89PNG\r\n\x1a\n" and first == second
    assert b"Software" not in first and b"matplotlib" not in first


def test_study1_figures_are_the_four_the_page_places(tmp_path):
    cells = [cell("a", (2000, 2250), (750, 1000))]
    figures = study1_figures(cells, tmp_path)
    assert sorted(figures) == ["curves", "forest", "phase", "steps"]
    assert all(path.parent == tmp_path and path.stat().st_size > 5000 for path in figures.values())
