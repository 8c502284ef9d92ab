"""Fine-tuning data: the train / held-out split is deterministic and disjoint; seller bullets are cleaned."""

from __future__ import annotations

from pathlib import Path

import pytest

from copyloop.errors import InputError
from copyloop.training.finetune_data import clean_bullets, read_ids, read_seller_bullets, split_ids, write_ids

IDS = [f"id{i:03d}" for i in range(200)]


def test_split_is_deterministic_disjoint_and_order_independent() -> None:
    a = split_ids(IDS, seed=7, heldout_fraction=0.2)
    b = split_ids(list(reversed(IDS)) + IDS[:10], seed=7, heldout_fraction=0.2)  # other order, duplicates
    assert a.heldout == b.heldout and a.train == b.train
    assert len(a.heldout) == 40 and len(a.train) == 160
    assert not set(a.heldout) & set(a.train)
    assert set(a.heldout) | set(a.train) == set(IDS)
    other = split_ids(IDS, seed=8, heldout_fraction=0.2)
    assert other.heldout != a.heldout and other.fingerprint() != a.fingerprint()


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1])
def test_split_refuses_degenerate_fractions(fraction: float) -> None:
    with pytest.raises(InputError):
        split_ids(IDS, heldout_fraction=fraction)


def test_id_list_round_trips_and_skips_comments(tmp_path: Path) -> None:
    path = write_ids(tmp_path / "heldout.txt", ["b", "a"], header="held-out products\nseed 7")
    assert read_ids(path) == ["b", "a"]
    with pytest.raises(InputError):
        read_ids(tmp_path / "missing.txt")


def test_seller_bullets_lose_boilerplate_html_and_duplicates() -> None:
    raw = "Make sure this fits by entering your model number. | <b>SOFT</b> plush &amp; cuddly | | Soft plush & cuddly | 12 inches tall"
    assert clean_bullets(raw) == ["SOFT plush & cuddly", "12 inches tall"]


def test_real_catalog_split_is_stable(amazon_csv: Path) -> None:
    bullets = read_seller_bullets(amazon_csv)
    split = split_ids(bullets)
    again = split_ids(read_seller_bullets(amazon_csv))
    assert split.fingerprint() == again.fingerprint()
    assert 0.15 < len(split.heldout) / len(bullets) < 0.25
    assert all(not b.lower().startswith("make sure this fits") for bs in bullets.values() for b in bs)
