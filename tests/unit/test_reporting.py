"""Reporting lines: the management chain's transitive closure, interval by interval."""

from datetime import date

from openspm.access.reporting import Line, reporting_lines

D = date


def test_closure_over_a_reorganisation() -> None:
    """Rep R reports to manager A until 2025-07-01, then to manager B; both managers report to director V.

    So A sees R only before the reorg, B only after, and V throughout (two windows merged into one).
    """
    lines = reporting_lines(
        [
            ("R", "A", D(2025, 1, 1), D(2025, 7, 1)),
            ("R", "B", D(2025, 7, 1), None),
            ("A", "V", D(2024, 1, 1), None),
            ("B", "V", D(2024, 1, 1), None),
            ("V", None, D(2024, 1, 1), None),
        ]
    )
    about_r = {(ln.ancestor, ln.start, ln.end) for ln in lines if ln.person == "R"}
    assert about_r == {
        ("R", D(2025, 1, 1), None),
        ("A", D(2025, 1, 1), D(2025, 7, 1)),
        ("B", D(2025, 7, 1), None),
        ("V", D(2025, 1, 1), None),
    }
    assert Line("V", "A", D(2024, 1, 1), None) in lines


def test_a_manager_link_only_counts_while_both_links_hold() -> None:
    """M reports to V only in 2025-H1; P reports to M all year: V sees P only in H1."""
    lines = reporting_lines([("P", "M", D(2025, 1, 1), None), ("M", "V", D(2025, 1, 1), D(2025, 7, 1))])
    assert [(ln.start, ln.end) for ln in lines if (ln.ancestor, ln.person) == ("V", "P")] == [
        (D(2025, 1, 1), D(2025, 7, 1))
    ]


def test_a_cycle_in_the_data_terminates() -> None:
    lines = reporting_lines([("A", "B", D(2025, 1, 1), None), ("B", "A", D(2025, 1, 1), None)])
    assert {(ln.ancestor, ln.person) for ln in lines} == {("A", "A"), ("B", "B"), ("A", "B"), ("B", "A")}
