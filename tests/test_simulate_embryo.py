"""The embryo simulator: the lineage is the real one, truth agrees with the pictures, files are written."""
import time

import cv2
import numpy as np
import pandas as pd
import pytest
from skimage.measure import label as cc_label

from devocore import cli
from devocore.errors import DevocoreError
from devocore.simulate import embryo, lineage_tree
from devocore.simulate.embryo_render import DEFAULTS, Appearance, _keep_largest_parts


@pytest.fixture(scope="module")
def history():
    return embryo.simulate(seed=5, n_frames=240, reporter="E")


def test_sulston_names_of_the_founders():
    assert lineage_tree.daughters("P0") == ("AB", "P1")
    assert lineage_tree.daughters("AB") == ("ABa", "ABp")
    assert lineage_tree.daughters("P1") == ("EMS", "P2")
    assert lineage_tree.daughters("EMS") == ("MS", "E")
    assert lineage_tree.daughters("P2") == ("C", "P3")
    assert lineage_tree.daughters("P3") == ("D", "P4")
    assert lineage_tree.daughters("P4") == ("Z2", "Z3")
    assert lineage_tree.daughters("ABa") == ("ABal", "ABar")  # left/right, as in EPIC
    assert lineage_tree.daughters("MSp") == ("MSpa", "MSpp")
    assert [lineage_tree.lineage_group(c) for c in ("ABplp", "EMS", "Ea", "MSa", "P3", "Cpa", "Dp", "Z2")] \
        == ["A", "E", "E", "M", "P", "C", "D", "Z"]


def test_every_cell_has_its_parent_and_is_named_after_it(history):
    cells = history.cells
    names = set(cells["cell"])
    starters = {"AB", "P1"}  # daughters of P0, which divides before the recording
    for name, parent in zip(cells["cell"], cells["parent"]):
        if name in starters:
            continue
        assert parent in names, name
        assert name in lineage_tree.daughters(parent)
    assert cells["cell"].is_unique
    # a parent's division time is its daughters' birth time
    division = dict(zip(cells["cell"], cells["division_s"]))
    for name, parent, born in zip(cells["cell"], cells["parent"], cells["birth_s"]):
        if name not in starters:
            assert division[parent] == pytest.approx(born)


def test_populations_count_the_cells_of_each_lineage_and_never_decrease(history):
    pops = history.populations()
    assert list(pops.columns) == ["frame", "A", "E", "M", "P", "C", "D", "Z"]
    for t in (0, 50, 120, 239):
        groups = pd.Series([lineage_tree.lineage_group(n) for n in history.names(t)]).value_counts()
        row = pops.iloc[t]
        for g in lineage_tree.GROUPS:
            assert row[g] == groups.get(g, 0)
    total = pops[list("AEMCDZ")].sum(axis=1).to_numpy()
    assert (np.diff(total) >= 0).all()
    for g in "AMCD":
        assert (np.diff(pops[g].to_numpy()) >= 0).all(), g
    assert pops["Z"].max() == 2


def test_development_reaches_hundreds_of_cells_on_the_epic_schedule(history):
    counts = history.counts()
    assert counts[0] <= 4 and counts[-1] >= 350
    hits = embryo.ab_milestones(history.populations())
    # EPIC tables (75 s frames): AB reaches 32 cells near frame 75 and 128 near frame 153
    assert 60 <= hits[32] <= 90 and 135 <= hits[128] <= 175


def test_max_cells_caps_divisions():
    h = embryo.simulate(seed=1, n_frames=150, max_cells=50)
    assert h.counts().max() <= 50


def test_nuclei_stay_in_the_eggshell_and_do_not_pile_up(history):
    fs = history.frame(199)
    a, b, c = history.shell
    q = (fs.xyz[:, 0] / a) ** 2 + (fs.xyz[:, 1] / b) ** 2 + (fs.xyz[:, 2] / c) ** 2
    assert (q <= 1.0 + 1e-6).all()
    d = np.sqrt(((fs.xyz[:, None] - fs.xyz[None]) ** 2).sum(-1)) + np.eye(len(fs.xyz)) * 99
    assert d.min() > 1.0  # um: the mechanics keeps nuclei apart
    # nuclei shrink as the embryo divides
    assert history.frame(0).diameter.mean() > 1.5 * fs.diameter.mean()


def test_cells_table_is_epic_format(history):
    table = history.cells_table()
    assert list(table.columns) == embryo.EPIC_COLUMNS
    assert len(table) == history.counts().sum()
    assert table["cellTime"].iloc[0] == f"{table['cell'].iloc[0]}:1"
    assert table["size"].between(15, 110).all()
    assert table.loc[table["cell"].str.startswith("E") & (table["time"] == 240), "blot"].gt(0).all()
    assert table.loc[table["cell"].str.startswith("AB"), "blot"].eq(0).all()


def test_same_seed_gives_byte_identical_output():
    a, b = embryo.simulate(seed=9, n_frames=60), embryo.simulate(seed=9, n_frames=60)
    assert a.cells_table().equals(b.cells_table())
    assert np.array_equal(embryo.render_timelapse_frame(a, 59), embryo.render_timelapse_frame(b, 59))
    for fn in (embryo.nucleus_slice, embryo.membrane_image):
        (i1, l1), (i2, l2) = fn(3, size=96), fn(3, size=96)
        assert i1.tobytes() == i2.tobytes() and l1.tobytes() == l2.tobytes()
    assert not np.array_equal(embryo.nucleus_slice(3, size=96)[0], embryo.nucleus_slice(4, size=96)[0])


def _assert_instances_ok(labels: np.ndarray) -> None:
    assert labels.dtype == np.uint16
    ids = np.unique(labels[labels > 0])
    assert list(ids) == list(range(1, len(ids) + 1))  # unique, consecutive
    for i in ids:
        assert cc_label(labels == i, connectivity=1).max() == 1, f"instance {i} is split"


@pytest.mark.parametrize("seed", range(6))
def test_nucleus_masks_match_the_image(seed):
    image, labels = embryo.nucleus_slice(seed, size=128)
    _assert_instances_ok(labels)
    assert labels.max() >= 1
    assert image.shape == labels.shape and image.dtype in (np.uint8, np.uint16)
    fg, bg = image[labels > 0].astype(float), image[labels == 0].astype(float)
    assert fg.mean() > bg.mean()


def test_nucleus_slice_of_a_history_is_brighter_inside_every_big_instance(history):
    clean = Appearance(noise=0.0, photons=1e6, speckle=0.0, haze=0.0, blur_px=0.5, brightness_spread=0.0)
    image, labels = embryo.nucleus_slice(0, size=256, appearance=clean, history=history, t=150, z_um=0.0)
    _assert_instances_ok(labels)
    assert labels.max() >= 10
    bg = np.median(image[labels == 0])
    for i in range(1, labels.max() + 1):
        if (labels == i).sum() >= 20:
            assert np.median(image[labels == i]) > bg + 20


@pytest.mark.parametrize("seed", range(4))
def test_membrane_masks_are_cells_bounded_by_bright_membranes(seed):
    image, labels = embryo.membrane_image(seed, size=128)
    _assert_instances_ok(labels)
    assert labels.max() >= 2
    # boundaries between cells are brighter than cell interiors
    edge = cv2.morphologyEx(labels, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
    interior = cv2.erode((labels > 0).astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool) & ~edge
    assert image[edge].mean() > image[interior].mean()


def test_keep_largest_parts_drops_the_smaller_piece():
    labels = np.zeros((8, 8), np.int32)
    labels[1:4, 1:4] = 5
    labels[6, 6] = 5  # a stray pixel of the same instance
    labels[5:7, 1:3] = 9
    kept, source = _keep_largest_parts(labels)
    assert kept[6, 6] == 0 and kept.max() == 2 and list(source) == [5, 9]


def test_timelapse_frame_is_green_nuclei_with_a_red_reporter(history):
    frame = embryo.render_timelapse_frame(history, 199, size=256)
    assert frame.shape == (256, 256, 3) and frame.dtype == np.uint8
    red, green = frame[..., 0].astype(float), frame[..., 1].astype(float)
    assert green.mean() > red.mean() > 0
    assert np.percentile(green, 99) > 100 and np.median(green) < 40
    wide = embryo.render_timelapse_frame(history, 10, size=(128, 192))
    assert wide.shape == (128, 192, 3)


def test_one_frame_renders_under_50_ms(history):
    embryo.render_timelapse_frame(history, 199)
    start = time.perf_counter()
    for _ in range(5):
        embryo.render_timelapse_frame(history, 199)
    assert (time.perf_counter() - start) / 5 < 0.05 * 2  # 2x slack for a busy CI machine


def test_sample_appearance_covers_ranges_and_names_the_options():
    looks = [embryo.sample_appearance(np.random.default_rng(i), "nuclei") for i in range(50)]
    assert min(a.pixel_um for a in looks) < 0.25 < max(a.pixel_um for a in looks)
    assert {a.bit_depth for a in looks} == {8, 16}
    with pytest.raises(DevocoreError, match="Available options"):
        embryo.sample_appearance(0, "worm")
    assert isinstance(DEFAULTS["timelapse"], Appearance)


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(DevocoreError, match="n_frames"):
        embryo.simulate(n_frames=0)
    with pytest.raises(DevocoreError, match="frame 5"):
        embryo.simulate(n_frames=3).frame(5)


def test_cli_writes_every_file(tmp_path, capsys):
    out = tmp_path / "sim"
    code = cli.main(["simulate", "embryo", "--frames", "40", "--size", "96", "--seed", "3", "--out", str(out),
                     "--slices", "2", "--json"])
    assert code == 0
    video = next(out.glob("timelapse.*"))
    cap = cv2.VideoCapture(str(video))
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == 40
    assert len(pd.read_csv(out / "populations.csv")) == 40
    assert list(pd.read_csv(out / "cells.csv").columns) == embryo.EPIC_COLUMNS
    for folder in ("nuclei", "nuclei_masks", "membrane", "membrane_masks"):
        assert len(list((out / folder).glob("*.png"))) == 2
    mask = cv2.imread(str(next((out / "membrane_masks").glob("*.png"))), cv2.IMREAD_UNCHANGED)
    assert mask.dtype == np.uint16 and mask.max() >= 2
    assert '"frames": 40' in capsys.readouterr().out


def test_cli_bad_input_is_one_line_and_exit_2(capsys):
    assert cli.main(["simulate", "embryo", "--frames", "0", "--out", "x"]) == 2
    assert capsys.readouterr().err.strip().startswith("error: n_frames")


def test_positions_follow_the_names(history):
    """Anterior daughters lie at lower x, left ones at lower y, as in the EPIC tables."""
    fs = history.frame(150)
    names = np.array(history.names(150))

    def mean(prefix, axis):
        return fs.xyz[np.char.startswith(names.astype(str), prefix), axis].mean()

    assert mean("ABa", 0) < mean("ABp", 0)
    assert mean("ABpl", 1) < mean("ABpr", 1) and mean("ABal", 1) < mean("ABar", 1)
    first = history.frame(0)
    if len(first.ids) == 4:  # the 4-cell stage is flat, like the EPIC embryos
        assert np.ptp(first.xyz[:, 2]) < 2.0


@pytest.mark.slow
def test_examples_are_small_and_complete(tmp_path):
    paths = embryo.write_examples(tmp_path)
    assert sum(p.stat().st_size for p in paths) < 3_000_000
    assert {p.parent.name for p in paths} == {"segmentation", "lineage", "pca"}


def test_bench_command_reports_figures(capsys):
    assert cli.main(["bench", "simulate-embryo", "--repeats", "1", "--json"]) == 0
    import json

    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["nuclei_late"] >= 350 and figures["frame_ms_256_late"] > 0
