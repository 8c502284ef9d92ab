"""`copyloop finetune` / `copyloop evaluate` reject bad arguments before loading any model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from copyloop.cli import app
from copyloop.cli.finetune import parse_category_lambdas
from copyloop.errors import InputError

runner = CliRunner()


@pytest.fixture()
def products_file(tmp_path: Path) -> Path:
    path = tmp_path / "products.jsonl"
    rows = [{"id": "a1", "title": "Wooden Rainbow Stacker", "facts": ["solid beech wood"]}, {"id": "b2", "title": "Plush Fox"}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_category_lambdas_parse_and_validate() -> None:
    assert parse_category_lambdas(["Toys & Games=0.4", "A=B=1"]) == {"Toys & Games": 0.4, "A=B": 1.0}
    for bad in ("Toys", "=0.3", "Toys=1.5", "Toys=high"):
        with pytest.raises(InputError):
            parse_category_lambdas([bad])


@pytest.mark.parametrize(
    "args",
    [["--lambda", "1.5"], ["--lambda", "-0.1"], ["--train-products", "0"], ["--candidates", "1"], ["--rank", "0"]],
)
def test_finetune_rejects_out_of_range_options(args: list[str]) -> None:
    result = runner.invoke(app, ["finetune", *args])
    assert result.exit_code == 2
    assert "Invalid value" in result.output


def test_finetune_reports_a_missing_catalog(tmp_path: Path) -> None:
    result = runner.invoke(app, ["finetune", "--catalog", str(tmp_path / "nope.csv")])
    assert result.exit_code == 2
    assert "catalog file does not exist" in result.output


def test_finetune_reports_a_bad_category_lambda(tmp_path: Path) -> None:
    csv = tmp_path / "c.csv"
    csv.write_text("uniq_id,product_name\n1,Fox\n", encoding="utf-8")
    result = runner.invoke(app, ["finetune", "--catalog", str(csv), "--lambda-category", "Toys=2"])
    assert result.exit_code == 2
    assert "NAME=VALUE" in result.output


def test_evaluate_needs_products_and_an_existing_file(tmp_path: Path) -> None:
    assert runner.invoke(app, ["evaluate"]).exit_code == 2
    result = runner.invoke(app, ["evaluate", "--products", str(tmp_path / "missing.json")])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_evaluate_rejects_unknown_channel_listing_known_ones(products_file: Path) -> None:
    result = runner.invoke(app, ["evaluate", "--products", str(products_file), "--channel", "fax", "--adapter", "none"])
    assert result.exit_code == 2
    assert "fax" in result.output and "product_description" in result.output


def test_evaluate_rejects_an_id_list_that_matches_nothing(products_file: Path, tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("# held out\nzz9\n", encoding="utf-8")
    result = runner.invoke(app, ["evaluate", "--products", str(products_file), "--ids", str(ids)])
    assert result.exit_code == 2 and "none of the 1 ids" in result.output


def test_evaluate_rejects_a_missing_adapter_file(products_file: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["evaluate", "--products", str(products_file), "--adapter", str(tmp_path / "x.gguf")])
    assert result.exit_code == 2 and "x.gguf" in result.output
