"""The report's ratios: each one the median of ratios of figures measured in the same round."""

from __future__ import annotations

from bench.load import Result
from bench.report import CEILING, DISABLED, FLOOR, HEALTH, NOT_MODIFIED, Report, Round


def rates(floor: float, health: float, not_modified: float, ceiling: float) -> dict[str, float]:
    return {FLOOR: floor, HEALTH: health, NOT_MODIFIED: not_modified, CEILING: ceiling}


def measured(name: str, workers: int, requests: int, seconds: float) -> Result:
    return Result(name, workers, latencies=[0.01] * requests, elapsed=seconds)


def test_a_ratio_is_the_median_of_each_rounds_own_ratio_not_of_the_medians() -> None:
    # The machine slows down in the second round: both figures fall together, the ratio holds.
    report = Report(
        rounds=[
            Round(1, rates(4000, 3200, 600, 2400)),
            Round(1, rates(2000, 1600, 300, 1200)),
            Round(1, rates(3000, 2100, 500, 2200)),
        ]
    )

    lines = report.markdown().splitlines()

    assert "- 1 worker(s): health / floor = 80% (≥ 70 %)" in lines
    # 600 / min(4000, 1200) = 50 %, 300 / 600 = 50 %, 500 / 1100 = 45 %: the median is 50 %.
    assert "- 1 worker(s): 304 / min(floor, database two-read ceiling) = 50% (≥ 70 %)" in lines


def test_the_ceiling_row_is_the_median_of_the_rounds_ceilings() -> None:
    report = Report(
        threads=16,
        rounds=[Round(1, rates(1, 1, 1, 2000)), Round(2, rates(1, 1, 1, 2600))],
    )
    report.rounds.append(Round(2, rates(1, 1, 1, 2200)))

    assert report.ceiling == 2200
    assert "| database: two reads (half of it) | - | 1,100 |" in report.markdown()


def test_the_200_path_is_compared_with_the_median_floor_of_its_worker_count() -> None:
    report = Report(
        results=[measured(DISABLED, 2, 150, 1.0)],
        rounds=[
            Round(1, rates(3000, 1, 1, 1)),
            Round(2, rates(5000, 1, 1, 1)),
            Round(2, rates(6000, 1, 1, 1)),
            Round(2, rates(1000, 1, 1, 1)),
        ],
    )

    assert "- 2 worker(s): 200 / floor = 3.0% (≥ 4 %)" in report.markdown().splitlines()


def test_two_workers_against_one_compares_the_304_path_over_all_rounds() -> None:
    report = Report(
        results=[measured(NOT_MODIFIED, 1, 600, 1.0), measured(NOT_MODIFIED, 2, 840, 1.0)],
        rounds=[Round(1, rates(1, 1, 1, 1)), Round(2, rates(1, 1, 1, 1))],
    )

    assert "- 304 path, 2 workers / 1 worker = 1.40x (≥ 1.6x)" in report.markdown().splitlines()


def test_every_round_is_listed_with_its_own_ratio_in_the_order_measured() -> None:
    report = Report(
        rounds=[Round(1, rates(3000, 2400, 550, 2300)), Round(2, rates(5800, 4400, 820, 2280))]
    )

    lines = report.markdown().splitlines()

    first = lines.index("| 1 | 3,000 | 2,400 | 550 | 2,300 | 48% |")
    assert lines[first + 1] == "| 2 | 5,800 | 4,400 | 820 | 2,280 | 72% |"
