"""Each kind of figure as the page shows it and as the CSV writes it (funnel.dashboard.tables.cell_text)."""

import pytest

from funnel.dashboard.tables import DAYS, INT, MONEY, PCT, TEXT, cell_text


@pytest.mark.parametrize(("value", "kind", "page", "csv"), [
    (1234567, INT, "1,234,567", "1234567"),
    (0.12345, PCT, "12.3%", "12.35"),
    (123456, MONEY, "$1,234.56", "1234.56"),
    (-1250, MONEY, "$-12.50", "-12.50"),
    (3.14159, DAYS, "3.1", "3.14"),
    ("newsletter", TEXT, "newsletter", "newsletter"),
    (None, PCT, "–", ""),
])
def test_a_figure_reads_well_on_the_page_and_sums_in_a_spreadsheet(value: object, kind: str, page: str,
                                                                   csv: str) -> None:
    assert cell_text(value, kind) == page
    assert cell_text(value, kind, for_csv=True) == csv
