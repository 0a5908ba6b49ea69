"""The CLI answers a bad query or argument with one line on stderr and exit status 1, no traceback."""

from __future__ import annotations

import pytest

from amzn_assets.cli import main


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["query", "selec 1"], "amzn-assets query: Parser Error: syntax error at or near \"selec\""),
        (["generate", "--days", "-3"], "amzn-assets generate: days, products_per_category and reviewers must be >= 1"),
    ],
)
def test_a_bad_query_or_argument_is_one_line_not_a_traceback(dirs, monkeypatch, capsys, argv, expected):
    monkeypatch.setenv("AMZN_DATA_DIR", str(dirs.root))
    monkeypatch.delenv("AMZN_DEBUG", raising=False)
    if argv[0] == "query":
        main(["generate", "--seed", "1", "--days", "1", "--reviews", "5"])  # something to query
        capsys.readouterr()
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith(expected) and err.count("\n") == 1 and "Traceback" not in err


def test_amzn_debug_shows_the_traceback(dirs, monkeypatch):
    monkeypatch.setenv("AMZN_DATA_DIR", str(dirs.root))
    monkeypatch.setenv("AMZN_DEBUG", "1")
    with pytest.raises(ValueError):
        main(["generate", "--days", "-3"])
