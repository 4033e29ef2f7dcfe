"""Odd but common tables from spreadsheets and typos: read them right, or refuse them naming the file and column."""
import io
import re

import numpy as np
import pandas as pd
import pytest

from devocore import cli
from devocore import forecast as fc
from devocore.embedding import read_cells
from devocore.errors import EmptyTableError, MissingColumnsError, NonNumericError, TableError, UnreadableFileError
from devocore.forecast.series import MIN_STEPS
from devocore.io import read_table
from devocore.lineage.measure import read_populations

LINEAGE_HEADER = "frame,A,E,M,P,C,D,Z\n"
EPIC_HEADER = "cell,time,x,y,z,size\n"


def write(path, text: str, encoding: str = "utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def behaviour_csv(n: int = 60, sep: str = ",", decimal: str = ".") -> str:
    """A forecastable table ``time_s, curvature, speed`` written with the given separator and decimal mark."""
    t = np.arange(n) * 0.04
    frame = pd.DataFrame({"time_s": t, "curvature": np.sin(t * 5), "speed": 1.0 + 0.1 * np.cos(t * 3)})
    return frame.to_csv(index=False, sep=sep, decimal=decimal, lineterminator="\n")


def last_error(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


# 1. UTF-16 text ("Unicode Text" from Excel), either byte order, with its byte order mark

@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_utf16_table_is_read_like_the_utf8_one(tmp_path, encoding):
    text = "\ufeff" + behaviour_csv(sep="\t").replace("\n", "\r\n")  # Excel: BOM, tabs, CRLF
    path = write(tmp_path / "unicode.txt", text, encoding)
    assert path.read_bytes()[:2] in (b"\xff\xfe", b"\xfe\xff")
    table = read_table(path)
    expected = pd.read_csv(io.StringIO(behaviour_csv()))
    assert list(table.columns) == ["time_s", "curvature", "speed"]
    np.testing.assert_allclose(table.to_numpy(float), expected.to_numpy(float))
    series = fc.load_series(path, name="unicode.txt")
    assert series.time_column == "time_s" and series.step == pytest.approx(0.04) and len(series.frame) == 60


def test_utf16_annotation_table_is_read(tmp_path):
    path = write(tmp_path / "labels.csv", LINEAGE_HEADER + "2,4,1,1,1,1,0,0\n1,2,1,1,1,1,0,0\n", "utf-16")
    table = read_populations(path)
    assert table["frame"].tolist() == [1, 2] and table["A"].tolist() == [2, 4]


def test_truncated_utf16_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "cut.csv"
    path.write_bytes("a,b\n1,2\n".encode("utf-16")[:-1])  # an odd number of bytes
    with pytest.raises(UnreadableFileError, match="'cut.csv' starts like UTF-16 text but cannot be decoded"):
        read_table(path)


# 2. ';'-separated tables with decimal commas (European spreadsheets); clear words for what stays text

def test_semicolon_table_with_decimal_commas_is_read_as_numbers(tmp_path):
    path = write(tmp_path / "eu.csv", behaviour_csv(sep=";", decimal=","))
    assert "0,04;" in path.read_text()
    table = read_table(path, numeric=["time_s", "curvature", "speed"])
    expected = pd.read_csv(io.StringIO(behaviour_csv()))
    np.testing.assert_allclose(table.to_numpy(float), expected.to_numpy(float))
    series = fc.load_series(path, name="eu.csv")
    assert series.step == pytest.approx(0.04) and list(series.frame.columns) == ["time_s", "curvature", "speed"]


def test_semicolon_skeletons_with_decimal_commas_are_read(tmp_path):
    from devocore.commands.eval_tracking import read_skeletons

    path = write(tmp_path / "skel.csv", "frame;point;x;y\n0;0;122,429;55,714\n0;1;120,669;-54,6\n")
    table = read_skeletons(path)
    assert table[["x", "y"]].to_numpy().tolist() == [[122.429, 55.714], [120.669, -54.6]]


@pytest.mark.parametrize("cell,column", [("122,4.5", "x"), ("abc", "y")])
def test_eval_tracking_checks_x_and_y_before_tracking(tmp_path, capsys, cell, column):
    row = {"x": f'"{cell}"', "y": "55.7"} if column == "x" else {"x": "122.4", "y": cell}
    path = write(tmp_path / "skel.csv", f"frame,point,x,y\n0,0,1.5,2.5\n0,1,{row['x']},{row['y']}\n")
    code = cli.main(["eval", "tracking", "--frames", str(tmp_path / "no_frames"), "--skeletons", str(path)])
    error = last_error(capsys)
    assert code == 2
    assert f"'skel.csv': column '{column}' must hold numbers, but row 3 holds '{cell}'" in error
    assert ("decimal comma or thousands separators" in error) == (cell == "122,4.5")


def test_thousands_separators_are_named_in_the_message(tmp_path):
    path = write(tmp_path / "thousands.csv", 'time_s,curvature\n0.0,"1,012.6"\n0.04,"1,112.1"\n0.08,"998.0"\n')
    with pytest.raises(NonNumericError, match=r"column 'curvature' must hold numbers, but row 2 holds '1,012.6' "
                                              r"\(it looks like a number with a decimal comma or thousands"):
        read_table(path, numeric=["curvature"])
    with pytest.raises(TableError, match=r"'thousands.csv' has no numeric column besides the time column 'time_s': "
                                         r"'curvature' holds text such as '1,012.6' in row 2 \(it looks like"):
        fc.load_series(path, name="thousands.csv")


# 3. an annotation table with a lineage column empty in every row

def test_annotation_with_an_empty_lineage_column_is_refused(tmp_path):
    path = write(tmp_path / "labels.csv", LINEAGE_HEADER + "1,,1,1,1,1,0,0\n2,,1,1,1,1,0,0\n")
    with pytest.raises(EmptyTableError, match="'labels.csv': the column A is empty in every row"):
        read_populations(path)


def test_annotation_without_a_complete_row_is_refused(tmp_path):
    path = write(tmp_path / "labels.csv", LINEAGE_HEADER + "1,,1,1,1,1,0,0\n2,3,,1,1,1,0,0\n")
    with pytest.raises(EmptyTableError, match="'labels.csv': no row has all of frame, A, E, M, P, C, D, Z filled"):
        read_populations(path)


def test_annotation_that_counts_frames_from_0_is_refused_with_the_step(tmp_path):
    # its frame 0 met no frame of the movie and was dropped in silence; every other row met the frame after its own
    path = write(tmp_path / "labels.csv", LINEAGE_HEADER + "0,1,0,0,1,0,0,0\n1,2,0,0,1,0,0,0\n")
    with pytest.raises(TableError, match=r"'labels.csv' lists frame 0, but frames count from 1 .* add 1 to every "
                                         r"frame number"):
        read_populations(path)


# 4. an EPIC cell table with a coordinate beyond float32 (or infinite)

@pytest.mark.parametrize("value,shown", [("1e300", "holds 1e+300 in row 3, beyond ±1e+30"),
                                         ("inf", "holds an infinite value ('inf') in row 3")])
def test_epic_table_with_a_huge_coordinate_is_refused(tmp_path, value, shown):
    path = write(tmp_path / "huge.csv", EPIC_HEADER + "ABa,1,10,20,3,40\nABp,1," + value + ",22,3,40\n")
    with pytest.raises(NonNumericError, match=re.escape(f"'huge.csv': column 'x' {shown}")):
        read_cells(path)


# 5. forecast: one absurd value, or all of them, are refused before any model runs

@pytest.mark.parametrize("scale,row", [(None, 9), (1e300, 2)])
def test_forecast_refuses_values_beyond_a_sane_magnitude(tmp_path, scale, row):
    table = pd.read_csv(io.StringIO(behaviour_csv()))
    if scale is None:
        table.loc[7, "curvature"] = 1e308
    else:
        table["curvature"] = (table["curvature"] + 2) * scale
    path = tmp_path / "huge.csv"
    table.to_csv(path, index=False)
    with pytest.raises(NonNumericError, match=f"'huge.csv': column 'curvature' holds .* in row {row}, beyond ±1e"):
        fc.load_series(path, name="huge.csv")


# 6. forecast messages: an empty target column, and a table too short to forecast

def test_an_empty_target_column_is_named_as_empty_not_absent(tmp_path):
    text = behaviour_csv().splitlines()
    rows = [",".join(["" if i == 1 else cell for i, cell in enumerate(line.split(","))]) for line in text[1:]]
    path = write(tmp_path / "nan_target.csv", "\n".join([text[0], *rows]) + "\n")
    series = fc.load_series(path, name="nan_target.csv")
    config = fc.ForecastConfig(target="curvature", horizon=5, hidden=4, epochs=1, n_models=1)
    with pytest.raises(MissingColumnsError, match=r"^The column 'curvature' is in the table but cannot be forecast: "
                                                  r"it is empty in 60 of its 60 rows \(empty in more than 50%"):
        fc.forecast(series, config)
    assert list(series.frame.columns) == ["time_s", "speed"]
    assert series.left_out["curvature"].startswith("is empty in 60 of its 60 rows")


def test_a_table_with_one_row_says_how_many_rows_a_forecast_needs(tmp_path):
    path = write(tmp_path / "one_row.csv", "time_s,curvature\n0,1\n")
    with pytest.raises(TableError, match=r"^'one_row.csv' has only 1 row; a forecast needs at least 30 rows\.$"):
        fc.load_series(path, name="one_row.csv")


def test_the_least_rows_named_are_the_least_a_forecast_accepts():
    config = fc.ForecastConfig(target="x", horizon=1, lookback=1, train_fraction=0.95, hidden=4, epochs=1,
                               n_models=1)
    t = np.arange(MIN_STEPS) * 0.1
    series = fc.to_series(pd.DataFrame({"time_s": t, "x": np.sin(3 * t)}))
    assert fc.forecast(series, config).split["n_steps"] == MIN_STEPS == 30
    with pytest.raises(TableError, match="too short"):
        fc.forecast(fc.to_series(pd.DataFrame({"time_s": t[:-1], "x": np.sin(3 * t[:-1])})), config)


def test_an_excel_workbook_given_as_a_table_is_named_with_the_step_that_makes_a_csv():
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as book:  # the parts every .xlsx holds
        book.writestr("[Content_Types].xml", "<Types/>")
        book.writestr("xl/workbook.xml", "<workbook/>")
    for data in (buffer.getvalue(), b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)):  # .xlsx, and the old .xls
        with pytest.raises(UnreadableFileError, match=r"'cells.xlsx' is not a text table .*: an Excel workbook\. "
                                                      r"Save the sheet as CSV \(Excel: File > Save As > CSV UTF-8\)"):
            read_table(data, name="cells.xlsx")


def test_other_binary_files_given_as_a_table_are_named():
    import gzip
    import zipfile

    parquet = io.BytesIO()
    pd.DataFrame({"time_s": [0.0, 0.04], "curvature": [0.1, 0.2]}).to_parquet(parquet)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("series.csv", "time_s,curvature\n0,0.1\n")
    cases = {
        "features.hdf5": (b"\x89HDF\r\n\x1a\n" + bytes(600), "an HDF5 file (Tierpsy writes its features so)"),
        "series.mat": (b"MATLAB 5.0 MAT-file, Platform: GLNXA64" + bytes(600), "a MATLAB file. Save the table as CSV"),
        "summary.parquet": (parquet.getvalue(), "a Parquet table. Save it as CSV"),
        "series.csv.gz": (gzip.compress(b"time_s,curvature\n0,0.1\n" * 50), "a gzip archive. Unpack it"),
        "series.zip": (archive.getvalue(), "a ZIP archive. Unpack it and give the CSV inside"),
    }
    for name, (data, kind) in cases.items():
        with pytest.raises(UnreadableFileError, match=rf"^'{re.escape(name)}' is not a text table \(it holds binary "
                                                      rf"data\): {re.escape(kind)}"):
            read_table(data, name=name)


def test_required_columns_in_other_capitals_are_read_under_their_own_names(tmp_path):
    # a header typed in Excel as "Frame" or "Cell, Time, X, ..." was refused: "lacks the column frame; it has Frame"
    from devocore.io import read_epic

    path = write(tmp_path / "labels.csv", LINEAGE_HEADER.replace("frame", "Frame") + "1,2,0,0,1,0,0,0\n")
    assert read_populations(path)["frame"].tolist() == [1]
    cells = read_epic(b"Cell,Time,X,Y,Z,Size\nABa,1,1,2,3,4\nABp,1,2,2,3,4\n", "embryo.csv")
    assert {"cell", "time", "x", "y", "z", "size"} <= set(cells.columns) and cells["z"].tolist() == [3, 3]
    two = b"Frame,FRAME,A,E,M,P,C,D,Z\n1,1,2,0,0,1,0,0,0\n"  # two could be meant: refused as before
    with pytest.raises(MissingColumnsError, match="lacks the column frame"):
        read_populations(two, "two.csv")


def test_a_missing_column_names_the_column_the_user_likely_meant(tmp_path):
    # "lacks the column size; it has cell, time, x, y, z, cell_size" left the user to spot the near name
    from devocore.io import read_epic

    with pytest.raises(MissingColumnsError, match=r"lacks the column size \(did you mean 'cell_size'\?\); it has"):
        read_epic(b"cell,time,x,y,z,cell_size\nABa,1,1,2,3,4\n", "embryo.csv")
    with pytest.raises(MissingColumnsError, match=r"lacks the column frame \(did you mean 'frames'\?\)"):
        read_populations(write(tmp_path / "labels.csv", LINEAGE_HEADER.replace("frame", "frames") + "1,2,0,0,1,0,0,0\n"))
    with pytest.raises(MissingColumnsError) as nothing_near:
        read_epic(b"cell,time,x,y,z,volume\nABa,1,1,2,3,4\n", "embryo.csv")
    assert "did you mean" not in str(nothing_near.value)


def test_an_annotation_with_a_repeated_frame_a_fractional_frame_or_a_negative_count_names_the_row(tmp_path):
    # before: "lists a frame more than once" without which; 4.5 met no frame ("no annotated frame among ... 4-6");
    # a count of -2 cells was scored as if it were true
    cases = {
        "twice.csv": ("4,2,0,0,1,0,0,0\n5,2,0,0,1,0,0,0\n4,2,0,0,1,0,0,0\n",
                      r"^'twice.csv' lists frame 4 more than once \(rows 2, 4\); each frame needs one row\.$"),
        "half.csv": ("4,2,0,0,1,0,0,0\n5.5,2,0,0,1,0,0,0\n",
                     r"^'half.csv': frame numbers must be whole numbers, but row 3 holds 5\.5\.$"),
        "minus.csv": ("4,2,0,0,1,0,0,0\n5,2,-1,0,1,0,0,0\n",
                      r"^'minus.csv': column 'E' holds -1 in row 3; a number of cells cannot be negative\.$"),
    }
    for name, (rows, message) in cases.items():
        with pytest.raises(TableError, match=message):
            read_populations(write(tmp_path / name, LINEAGE_HEADER + rows))
    averaged = read_populations(write(tmp_path / "mean.csv", LINEAGE_HEADER + "4,2.5,0,0,1,0,0,0\n"))
    assert averaged["A"].tolist() == [2.5]  # counts averaged over annotators stay as they are


def test_an_epic_table_with_a_negative_size_or_no_positions_is_refused():
    # before: a size of -3 was used as it was, and a table with every nucleus at (0, 0, 0) scored accuracy 0.07
    from devocore.io import read_epic

    with pytest.raises(NonNumericError, match=r"^'e.csv': column 'size' holds -3 in row 3; a nucleus's size cannot "
                                              r"be negative\.$"):
        read_epic(b"cell,time,x,y,z,size\nABa,1,1,2,3,4\nABp,1,2,2,3,-3\n", "e.csv")
    with pytest.raises(NonNumericError, match=r"^'e.csv': every row has the same position \(x 0, y 0\); the "
                                              r"positions are missing"):
        read_epic(b"cell,time,x,y,z,size\nABa,1,0,0,0,4\nABp,1,0,0,0,4\nEMS,1,0,0,0,5\n", "e.csv")
    flat = read_epic(b"cell,time,x,y,z,size\nABa,1,1,2,0,4\nABp,1,5,2,0,4\n", "e.csv")  # one focal plane: taken
    assert flat["x"].tolist() == [1, 5]
