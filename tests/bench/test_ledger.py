"""bench/ledger.py's arithmetic: each process's figures scaled by the floor it measured."""

from bench.ledger import scale_to_floor


def test_a_process_that_ran_slower_as_a_whole_is_scaled_back() -> None:
    runs = {
        "everything": [{"floor": 100.0, "me": 500.0}, {"floor": 200.0, "me": 1000.0}],
        "no request log": [{"floor": 100.0, "me": 400.0}, {"floor": 150.0, "me": 600.0}],
    }
    scaled = scale_to_floor(runs)
    # The median floor of the four processes is 125: every process is brought to it.
    assert [run["floor"] for run in scaled["everything"]] == [125.0, 125.0]
    assert [run["me"] for run in scaled["everything"]] == [625.0, 625.0]
    assert [run["me"] for run in scaled["no request log"]] == [500.0, 500.0]
    assert runs["everything"][1]["me"] == 1000.0  # the input is left as it was
