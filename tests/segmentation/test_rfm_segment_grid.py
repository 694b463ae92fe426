"""docs/SEGMENTS.md "RFM": the rfm_segment grid from the R and F scores."""

import pytest
from conftest import contact, days_before, deal, run_segmentation

GRID = {
    5: ["new_customer", "potential_loyalist", "potential_loyalist", "champion", "champion"],
    4: ["promising", "potential_loyalist", "potential_loyalist", "loyal", "loyal"],
    3: ["about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"],
    2: ["hibernating", "hibernating", "at_risk", "at_risk", "cannot_lose"],
    1: ["hibernating", "hibernating", "at_risk", "at_risk", "cannot_lose"],
}
# thresholds: recency 5/15/25/35/45 days -> R 5..1; frequency 1..5 -> F 1..5
RECENCY = {5: 5, 4: 15, 3: 25, 2: 35, 1: 45}


@pytest.fixture(scope="module")
def grid_tags(tmp_path_factory):
    contacts, deals = [], []
    for r, rec in RECENCY.items():
        for f in range(1, 6):
            cid = f"r{r}f{f}"
            contacts.append(contact(cid))
            deals += [deal(f"{cid}-{k}", 1, days_before(rec + k), cid) for k in range(f)]
    return run_segmentation(
        tmp_path_factory.mktemp("grid"),
        contacts,
        deals,
        rfm_method="thresholds",
        rfm_r_edges=[9, 19, 29, 39],
        rfm_f_edges=[1, 2, 3, 4],
        rfm_m_edges=[10, 20, 30, 40],
    )


@pytest.mark.parametrize("r", [5, 4, 3, 2, 1])
@pytest.mark.parametrize("f", [1, 2, 3, 4, 5])
def test_rfm_segment_follows_the_r_f_grid(grid_tags, r, f):
    tags = grid_tags[f"r{r}f{f}"]
    assert (tags["rfm_r"], tags["rfm_f"]) == (r, f)
    assert tags["rfm_segment"] == GRID[r][f - 1]
    assert tags["rfm_score"] == f"{r}{f}1"


def test_rfm_segment_with_quantile_scores(seg):
    # n = 2: the better customer scores 3 in R and F -> need_attention; the other 1,1
    tags = seg(
        [contact("a"), contact("b")],
        [
            deal("a1", 1, days_before(5), "a"),
            deal("a2", 1, days_before(6), "a"),
            deal("b1", 1, days_before(50), "b"),
        ],
    )
    assert tags["a"]["rfm_segment"] == "need_attention"
    assert tags["b"]["rfm_segment"] == "hibernating"
