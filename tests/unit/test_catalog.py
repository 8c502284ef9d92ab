"""Catalog reading: the real Amazon sample as it is, and every kind of bad input from issue #4."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from copyloop.errors import InputError
from copyloop.tools.catalog import (
    AMAZON_COLUMNS,
    MAX_RECORD_CHARS,
    CatalogRow,
    ColumnMap,
    clean_price,
    parse_spec,
    read_catalog,
    read_products,
)

HEADER = "id,title,category,price,facts,description\n"


def _write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


# --------------------------------------------------------------------------- the shared sample
@pytest.fixture(scope="module")
def amazon_rows(amazon_csv: Path) -> list[CatalogRow]:
    return list(read_catalog(amazon_csv))


def test_amazon_every_row_parses_or_gives_a_reason(amazon_rows: list[CatalogRow]) -> None:
    assert len(amazon_rows) > 500
    assert [r.row for r in amazon_rows] == list(range(1, len(amazon_rows) + 1))
    for r in amazon_rows:
        assert r.ok or r.error, r
    good = [r for r in amazon_rows if r.ok]
    assert len(good) >= 0.95 * len(amazon_rows)
    ids = [r.product_id for r in good]
    assert len(ids) == len(set(ids))
    assert all(r.product is not None and r.product.id == r.product_id for r in good)


def test_amazon_facts_are_clean_and_useful(amazon_rows: list[CatalogRow]) -> None:
    products = [r.product for r in amazon_rows if r.product is not None]
    facts = [f for p in products for f in p.facts]
    assert not [f for f in facts if "make sure this fits" in f.lower()]
    assert not [f for f in facts if f.lower().startswith(("asin", "shipping weight", "domestic shipping", "international shipping"))]
    assert not [f for f in facts if f.lstrip().startswith("#") or "shipping rates and policies" in f.lower()]
    assert sum(f.startswith("Product dimensions: ") for f in facts) > 100
    assert sum(f.startswith("Recommended age: ") for f in facts) > 100
    assert sum(f.startswith("Model number: ") for f in facts) > 100
    # seller bullets are kept as facts
    assert sum(len(p.facts) >= 3 for p in products) > 0.8 * len(products)
    for p in products:
        assert "go to your orders" not in p.description.lower()
        assert "view shipping rates" not in p.description.lower()
        assert not p.description.lower().startswith("show up to")
        assert p.price is None or ("{" not in p.price and p.price.startswith("$")), p.price
        assert p.category == "" or " | " in p.category or p.category.isprintable()


def test_amazon_known_row(amazon_rows: list[CatalogRow]) -> None:
    row = next(r for r in amazon_rows if r.product_id == "66d49bbed043f5be260fa9f7fbff5957")
    assert row.product is not None
    assert row.product.title.startswith("Electronic Snap Circuits Mini Kits Classpack")
    assert row.product.category == "Toys & Games | Learning & Education | Science Kits & Toys"
    assert row.product.price == "$99.95"
    assert "Model number: 55324" in row.product.facts
    assert "Product dimensions: 14.7 x 11.1 x 10.2 inches ; 4.06 pounds" in row.product.facts
    assert any(f.startswith("Includes 5 separate mini building kits") for f in row.product.facts)


def test_amazon_limit_stops_early(amazon_csv: Path) -> None:
    rows = list(read_catalog(amazon_csv, limit=7))
    assert [r.row for r in rows] == list(range(1, 8))


def test_spec_parsing_and_prices() -> None:
    facts, brand = parse_spec(
        "ProductDimensions:17x12x1inches|ItemWeight:1pounds|ShippingWeight:14.4ounces(Viewshippingratesandpolicies)"
        "|ASIN:B001HD0ARC|Itemmodelnumber:883132S|Manufacturerrecommendedage:36months-4years"
        "|Manufacturer:Acme|    #474    in\xa0Longboards Skateboard"
    )
    assert facts == [
        "Product dimensions: 17 x 12 x 1 inches",
        "Item weight: 1 pounds",
        "Model number: 883132S",
        "Recommended age: 36 months - 4 years",
    ]
    assert brand == "Acme"
    assert clean_price("$ 19 99 $39.95 #listPriceLegalMessageText { margin-left: 4px !important; }") == "$19.99"
    assert clean_price("$74.99 - $249.99") == "$74.99 - $249.99"
    assert clean_price("Total price:") is None
    assert clean_price(12.5) == "$12.50"


# --------------------------------------------------------------------------- bad input
def test_malformed_lines_are_reported_and_reading_goes_on(tmp_path: Path) -> None:
    content = (
        HEADER
        + "a1,Good One,Toys,$5,soft | small,fine\n"
        + "a2,Too,Many,Fields,here,x,y,z\n"
        + 'a3,"Unbalanced quote,Toys,$5,x,y\n'
        + "a4,Good Two,Toys,$6,red,ok\n"
        + 'a5,"Bad "quote" inside",Toys,$5,x,y\n'
        + "a6,Good Three,Toys,$7,blue,ok\n"
    )
    rows = list(read_catalog(_write(tmp_path, "bad.csv", content)))
    by_row = {r.row: r for r in rows}
    assert [r.product_id for r in rows if r.ok] == ["a1", "a4", "a6"]
    bad = [r for r in rows if not r.ok]
    assert len(bad) == 3
    assert "line 3" in bad[0].error and "expected 6 fields, found 8" in bad[0].error
    assert bad[0].line == 3
    assert bad[1].line == 4 and "malformed CSV" in bad[1].error
    assert bad[2].line == 6
    assert by_row[1].product is not None and by_row[1].product.facts == ["soft", "small"]


def test_unbalanced_quote_at_end_does_not_swallow_the_file(tmp_path: Path) -> None:
    content = HEADER + 'b1,"Runaway,Toys,$1,x,y\n' + "b2,Kept,Toys,$2,x,y\nb3,Also kept,Toys,$3,x,y\n"
    rows = list(read_catalog(_write(tmp_path, "runaway.csv", content)))
    assert [r.product_id for r in rows if r.ok] == ["b2", "b3"]
    assert rows[0].error and "line 2" in rows[0].error


def test_non_utf8_bytes_are_replaced_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    content = HEADER.encode() + b"c1,Caf\xe9 Mug,Home,$9,ceramic,hot drinks\nc2,Plain Mug,Home,$8,ceramic,ok\n"
    with caplog.at_level(logging.WARNING):
        rows = list(read_catalog(_write(tmp_path, "latin1.csv", content)))
    assert all(r.ok for r in rows)
    first = rows[0].product
    assert first is not None and first.title == "Caf\ufffd Mug"
    assert any("line 2" in w and "UTF-8" in w for w in first.warnings)
    assert rows[1].product is not None and rows[1].product.warnings == []
    assert "not UTF-8" in caplog.text


def test_megabyte_field_is_truncated(tmp_path: Path) -> None:
    huge = "word " * 220_000  # about 1.1 MB
    content = HEADER + f"d1,Big Row,Toys,$5,fact,{huge}\nd2,Next,Toys,$5,fact,short\n"
    rows = list(read_catalog(_write(tmp_path, "huge.csv", content)))
    assert all(r.ok for r in rows)
    product = rows[0].product
    assert product is not None and len(product.description) <= 4000
    assert any("truncated" in w for w in product.warnings)
    assert rows[1].product is not None and rows[1].product.description == "short"


def test_record_beyond_the_hard_cap_is_an_error_row(tmp_path: Path) -> None:
    path = tmp_path / "giant.csv"
    with path.open("wb") as fh:
        fh.write(HEADER.encode())
        fh.write(b"e1,Giant,Toys,$5,fact," + b"x" * (MAX_RECORD_CHARS + 10) + b"\n")
        fh.write(b"e2,After,Toys,$5,fact,ok\n")
    rows = list(read_catalog(path))
    assert rows[0].error and "longer than" in rows[0].error
    assert rows[1].ok and rows[1].product_id == "e2"


def test_duplicate_ids_first_wins(tmp_path: Path) -> None:
    content = HEADER + "x1,First,Toys,$1,a,b\nx2,Other,Toys,$1,a,b\nx1,Second,Toys,$1,a,b\n"
    rows = list(read_catalog(_write(tmp_path, "dup.csv", content)))
    assert rows[0].ok and rows[0].product is not None and rows[0].product.title == "First"
    assert rows[1].ok
    assert not rows[2].ok and rows[2].product_id == "x1" and "first seen in row 1" in (rows[2].error or "")


def test_missing_title_and_missing_id_are_error_rows(tmp_path: Path) -> None:
    content = HEADER + "m1,,Toys,$1,a,b\n,No Id,Toys,$1,a,b\nm3,  <b></b> ,Toys,$1,a,b\nm4,Fine,Toys,$1,a,b\n"
    rows = list(read_catalog(_write(tmp_path, "missing.csv", content)))
    assert "missing title" in (rows[0].error or "")
    assert "missing id" in (rows[1].error or "")
    assert "missing title" in (rows[2].error or "")  # only markup is no title
    assert rows[3].ok


@pytest.mark.parametrize("content", [b"", b"   \n", HEADER.encode()])
def test_empty_files_raise_input_error(tmp_path: Path, content: bytes) -> None:
    with pytest.raises(InputError, match="empty|no rows"):
        read_catalog(_write(tmp_path, "empty.csv", content))


def test_missing_file_raises_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        read_catalog(tmp_path / "nope.csv")


def test_unknown_columns_name_the_available_ones(tmp_path: Path) -> None:
    path = _write(tmp_path, "cols.csv", HEADER + "z1,T,Toys,$1,a,b\n")
    with pytest.raises(InputError) as err:
        read_catalog(path, columns=ColumnMap(id="sku", title="name", facts=("facts",)))
    msg = str(err.value)
    assert "'sku'" in msg and "'name'" in msg and "available columns" in msg and "'title'" in msg
    with pytest.raises(InputError, match="product_name"):
        read_catalog(path, columns=AMAZON_COLUMNS)


def test_custom_column_map_case_insensitive_and_html(tmp_path: Path) -> None:
    content = (
        "SKU,Name,Cat,Cost,Bullets,Body\n"
        's1,"<b>Tea</b> Kettle",Home > Kitchen,$20,"steel; whistles","<p>Boils fast &amp; loud</p><script>alert(1)</script>"\n'
    )
    cols = ColumnMap(
        id="sku", title="name", category="cat", price="cost", brand=None, facts=("bullets",), description=("body",), list_separator="; "
    )
    (row,) = list(read_catalog(_write(tmp_path, "custom.csv", content), columns=cols))
    assert row.ok and row.product is not None
    assert row.product.title == "Tea Kettle"
    assert row.product.facts == ["steel", "whistles"]
    assert row.product.description == "Boils fast & loud"
    assert "alert" not in row.product.description


def test_generic_csv_with_bom_crlf_and_no_id_column(tmp_path: Path) -> None:
    content = "\ufefftitle,facts\r\nLamp,warm light | dimmable\r\nLamp,warm light | dimmable\r\nDesk,oak\r\n"
    rows = list(read_catalog(_write(tmp_path, "generic.csv", content)))
    assert rows[0].ok and rows[0].product is not None and rows[0].product.facts == ["warm light", "dimmable"]
    assert rows[0].product_id and rows[0].product_id.startswith("h-")
    assert not rows[1].ok and "duplicate id" in (rows[1].error or "")  # same content, same id
    assert rows[2].ok


def test_jsonl_catalog(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": "j1", "title": "Kite", "facts": ["nylon", "2 m line"], "price": 12}),
        "{not json",
        json.dumps(["a", "list"]),
        "",
        json.dumps({"id": "j2", "title": "", "facts": []}),
        json.dumps({"id": "j3", "title": "Ball", "facts": "rubber | bouncy", "description": "<i>fun</i>"}),
    ]
    rows = list(read_catalog(_write(tmp_path, "cat.jsonl", "\n".join(lines) + "\n")))
    assert [r.row for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0].ok and rows[0].product is not None and rows[0].product.facts == ["nylon", "2 m line"]
    assert rows[0].product.price == "$12.00"
    assert "line 2" in (rows[1].error or "") and "invalid JSON" in (rows[1].error or "")
    assert "expected a JSON object" in (rows[2].error or "")
    assert "missing title" in (rows[3].error or "")
    assert rows[4].product is not None and rows[4].product.facts == ["rubber", "bouncy"] and rows[4].product.description == "fun"


def test_parquet_catalog(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "id": ["p1", "p2", "p1"],
            "title": ["Tent", None, "Dupe"],
            "category": ["Sports & Outdoors | Camping", "", ""],
            "price": [99.5, None, 1.0],
            "facts": [["sleeps two", "waterproof fly"], [], []],
        }
    )
    path = tmp_path / "cat.parquet"
    pq.write_table(table, path)
    rows = list(read_catalog(path))
    assert rows[0].ok and rows[0].product is not None
    assert rows[0].product.facts == ["sleeps two", "waterproof fly"]
    assert rows[0].product.price == "$99.50" and rows[0].line is None
    assert "missing title" in (rows[1].error or "")
    assert "duplicate id" in (rows[2].error or "")
    empty = tmp_path / "empty.parquet"
    pq.write_table(table.slice(0, 0), empty)
    with pytest.raises(InputError, match="empty"):
        read_catalog(empty)


# --------------------------------------------------------------------------- product files
def test_bundled_sample_products() -> None:
    from importlib import resources

    path = Path(str(resources.files("copyloop").joinpath("data/sample_products.json")))
    products = read_products(path)
    assert len(products) == 5
    assert len({p.category.split(" | ")[0] for p in products}) >= 4
    assert all(p.id and p.title and len(p.facts) >= 3 for p in products)
    jacket = next(p for p in products if "Jacket" in p.title)
    assert "<" not in jacket.description and "trackView" not in jacket.description and ".aplus" not in jacket.description
    assert "pocket & clips" in jacket.description


def test_read_products_formats_and_errors(tmp_path: Path) -> None:
    one = _write(tmp_path, "one.json", json.dumps({"title": "Mug", "facts": ["ceramic"]}))
    assert [p.title for p in read_products(one)] == ["Mug"]
    wrapped = _write(tmp_path, "wrapped.json", json.dumps({"products": [{"title": "A"}, {"title": "B"}]}))
    assert [p.title for p in read_products(wrapped)] == ["A", "B"]
    jsonl = _write(tmp_path, "p.jsonl", json.dumps({"title": "A"}) + "\n\n" + json.dumps({"title": "B"}) + "\n")
    assert [p.title for p in read_products(jsonl)] == ["A", "B"]
    bad = _write(tmp_path, "bad.json", json.dumps([{"title": "ok"}, {"facts": ["x"]}]))
    with pytest.raises(InputError, match="product 2") as err:
        read_products(bad)
    assert err.value.field == "title"
    with pytest.raises(InputError, match="line 2"):
        read_products(_write(tmp_path, "bad.jsonl", json.dumps({"title": "A"}) + "\n{oops\n"))
    with pytest.raises(InputError, match="empty"):
        read_products(_write(tmp_path, "empty.json", ""))
    csv_path = _write(tmp_path, "p.csv", "title,facts\nLamp,warm\n")
    assert [p.title for p in read_products(csv_path)] == ["Lamp"]
