"""PCA explorer: cell-position tables and behaviour feature tables in a few dimensions."""
from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from devocore import style, ui_cache
from devocore.embedding import explore, synthetic
from devocore.embedding.align import EPIC_Z_SCALE
from devocore.embedding.project import SCALINGS
from devocore.embedding.tables import numeric_columns
from pages import common

common.route_through_app()  # a fresh server whose first visitor opens this page's URL: route via app.py

SIMULATED, TOY, BEHAVIOUR, UPLOAD_CELLS, UPLOAD_FEATURES = (
    "Example embryos (embryo simulator)", "Toy embryos (lineage territories)", "Example behaviour table (simulated)",
    "Upload cell tables (EPIC)", "Upload a feature table")
# The toy embryos come first: their lineages keep their places from embryo to embryo, as in real EPIC embryos,
# so the lineage classifier shows on them what it does on real tables. The embryo simulator places the nuclei
# of each lineage differently in every embryo, so position does not tell the lineage there.
SOURCES = (TOY, SIMULATED, BEHAVIOUR, UPLOAD_CELLS, UPLOAD_FEATURES)
EMBRYO_SOURCES = (TOY, SIMULATED, UPLOAD_CELLS)
#: Axis titles of the aligned body frame: positions are fractions of the embryo's length (see devocore.embedding.align).
BODY_AXES = {"ap": "ap (embryo lengths, posterior +)", "dv": "dv (embryo lengths, dorsal +)",
             "lr": "lr (embryo lengths, left +)", "size_rel": "nucleus diameter (embryo lengths)"}
N_EXAMPLE_EMBRYOS = 3


@ui_cache.data
def simulator_embryos() -> pd.DataFrame | None:
    """The embryo simulator's example tables (assets/examples/pca/embryo*.csv), or None when absent."""
    shipped = [p for name, p in common.examples("pca").items() if name.endswith(".csv") and "embryo" in name]
    if not shipped:
        return None
    return explore.load_embryos([(p.read_bytes(), p.name) for p in shipped[:N_EXAMPLE_EMBRYOS]])


@ui_cache.data
def toy_embryos(n: int = N_EXAMPLE_EMBRYOS, n_frames: int = 120) -> pd.DataFrame:
    """Toy embryos whose lineages keep fixed territories, each turned and shifted differently."""
    frames = [synthetic.embryo_table(seed=seed, n_frames=n_frames,
                                     rotation=synthetic.random_rotation(seed) if seed else None)
              .assign(embryo=f"toy embryo {seed + 1}") for seed in range(n)]
    return explore.tables_from_frames(frames)


@ui_cache.data
def example_behaviour() -> pd.DataFrame:
    return synthetic.behaviour_table(seed=0)


st.title("PCA explorer")
st.write("Project cell-position tables (one row per nucleus per time point, EPIC format) or behaviour feature "
         "tables onto their main axes of variation, colour them by lineage, time, embryo or any label, and "
         "see how well a classifier names each cell's founder lineage from its position alone.")

source = st.radio("Data", SOURCES, index=common.choice_index(SOURCES, common.param("pca_source", SOURCES[0])),
                  key="pca_source", horizontal=True)
common.set_param("pca_source", source)

cells = source in EMBRYO_SOURCES
labels: list[str] = []
simulated = False  # the embryo simulator's tables are shown (the lineage classifier cannot work on them)
with common.guard("reading the tables"):
    if source == SIMULATED:
        table = simulator_embryos()
        simulated = table is not None
        if not simulated:
            st.info("The embryo simulator's examples are not installed; showing the toy embryos.")
        else:
            st.caption(f"{table['embryo'].nunique()} embryos from the embryo simulator, aligned to a common body "
                       "frame (ap, dv, lr) by their lineage landmarks. The simulator places the nuclei of each "
                       "lineage (MS, E, C, D) in different places in every embryo, unlike real embryos, so the "
                       "lineage classifier below cannot work on them; the toy embryos show what it does.")
    if source in (TOY, SIMULATED) and not simulated:
        table = toy_embryos()
        st.caption(f"{table['embryo'].nunique()} toy embryos whose lineages keep fixed territories, each turned "
                   "and shifted differently; aligned to a common body frame (ap, dv, lr) by their lineage "
                   "landmarks. As in real EPIC embryos, each lineage keeps its place from embryo to embryo, "
                   "which is what the lineage classifier below learns.")
    elif source == BEHAVIOUR:
        table = example_behaviour()
        labels = ["strain", "well"]
        st.caption("90 simulated wells x 24 behaviour features, three strains (simulated values: the feature "
                   "names show what such a table holds, not measured behaviour).")
    elif source == UPLOAD_CELLS:
        uploads = st.file_uploader("EPIC cell tables (CSV with cell, time, x, y, z, size)", type=["csv"],
                                   accept_multiple_files=True, key="pca_upload_cells")
        common.limits_caption("table")
        z_scale = st.number_input("z step in pixel units (z is multiplied by this)", 0.01, 100.0,
                                  float(EPIC_Z_SCALE), key="pca_z_scale",
                                  help="EPIC tables give z as a focal-plane index about 15 pixels apart.")
        if not uploads:
            st.info("Upload one or several EPIC tables, or pick an example above.")
            st.stop()
        table = ui_cache.embryo_tables(tuple((u.getvalue(), u.name) for u in uploads), float(z_scale))
    elif source == UPLOAD_FEATURES:
        upload = st.file_uploader("Feature table (CSV: numeric features and label columns)", type=["csv", "tsv"],
                                  key="pca_upload_features")
        common.limits_caption("table")
        if upload is None:
            st.info("Upload a table with one row per sample (well, worm, cell), or pick an example above.")
            st.stop()
        table, _features, labels = ui_cache.feature_table(upload.getvalue(), upload.name)

numeric = numeric_columns(table, exclude=("generation",))
if cells:
    default_columns = [c for c in explore.ALIGNED if c in table.columns]
    colour_options = [c for c in explore.CELL_COLOURS if c in table.columns] + \
        [c for c in table.columns if c not in explore.CELL_COLOURS and not pd.api.types.is_numeric_dtype(table[c])
         and c not in ("cellTime", "parent")]
else:
    default_columns = [c for c in numeric if c not in labels]
    colour_options = labels + [c for c in numeric if c not in labels][:20]

METHODS, DIMS = ("PCA", "t-SNE"), (2, 3)
with st.sidebar:
    st.subheader("Projection")
    method = st.radio("Method", METHODS, index=common.choice_index(METHODS, common.param("pca_method", "PCA")),
                      key="pca_method", horizontal=True)
    dims = st.radio("Dimensions", DIMS, index=common.choice_index(DIMS, common.param("pca_dims", 2, int)),
                    key="pca_dims", horizontal=True)
    scaling = st.selectbox("Standardise columns", SCALINGS,
                           index=common.choice_index(list(SCALINGS), common.param("pca_scaling", SCALINGS[0])),
                           key="pca_scaling",
                           help="standard: zero mean, unit variance (columns in different units weigh the same); "
                                "robust: median and interquartile range; minmax: 0..1; none: centre only.")

# columns and colour from the URL when they exist in this table
url_columns = [c for c in common.param("pca_cols", "").split(",") if c in numeric]
# the multiselect keeps its choice when its options change: another table would start with no column chosen
if st.session_state.get("pca_columns_of") != tuple(numeric):
    st.session_state["pca_columns_of"] = tuple(numeric)
    st.session_state.pop("pca_columns", None)
columns = st.multiselect("Columns to project", numeric, default=url_columns or default_columns,
                         key="pca_columns")
colour = st.selectbox("Colour by", colour_options,
                      index=common.choice_index(colour_options, common.param("pca_colour", None)),
                      key="pca_colour")
window = None
if "time" in table.columns:
    t0, t1 = float(table["time"].min()), float(table["time"].max())
    if t1 > t0:
        lo, hi = common.param("pca_t0", t0, float), common.param("pca_t1", t1, float)
        lo, hi = max(t0, min(lo, t1)), min(t1, max(hi, t0))
        if (table["time"] % 1 == 0).all():  # EPIC time points are whole numbers: 1-120, not 1.00-120.00
            picked = st.slider("Time window (time points)", int(t0), int(t1), (int(round(lo)), int(round(hi))),
                               step=1, key="pca_window")
        else:
            picked = st.slider("Time window (time points)", t0, t1, (lo, hi), format="%g", key="pca_window")
        window = (float(picked[0]), float(picked[1]))
        common.set_param("pca_t0", f"{window[0]:g}")
        common.set_param("pca_t1", f"{window[1]:g}")
for key, value in (("pca_method", method), ("pca_dims", dims), ("pca_scaling", scaling),
                   ("pca_cols", ",".join(columns)), ("pca_colour", colour)):
    common.set_param(key, value)

cfg = explore.ProjectionConfig(columns=tuple(columns), method="pca" if method == "PCA" else "tsne",
                               n_components=int(dims), scaling=scaling, time_window=window)
with common.guard("projecting"):
    if len(columns) < int(dims):
        st.warning(f"Choose at least {dims} columns to project.")
        st.stop()
    used, projection = ui_cache.projection(table, cfg)

names = list(projection.coords.columns[: int(dims)])
plot_frame = pd.concat([used.reset_index(drop=True), projection.coords.reset_index(drop=True)[names]], axis=1)
if len(plot_frame) > 20000:
    plot_frame = plot_frame.sample(20000, random_state=0)
    st.caption("Showing 20,000 randomly chosen rows.")
hover = "cell" if "cell" in plot_frame.columns else (labels[0] if labels else None)
colour_kw = {}
if colour == "founder":  # lineage letters and colours of devocore.style, the founder name beside the letter
    founders = plot_frame["founder"].astype(str)
    plot_frame["founder"] = founders.map(style.founder_label)
    colour_kw = {"color_discrete_map": style.founder_colour_map(founders.unique()),
                 "category_orders": {"founder": style.founder_order(founders.unique())}}
elif colour in plot_frame.columns and isinstance(plot_frame[colour].dtype, pd.Int64Dtype):
    plot_frame[colour] = plot_frame[colour].astype(float)  # plotly cannot draw pandas' NA
elif colour in plot_frame.columns and plot_frame[colour].dtype.kind not in "if":
    plot_frame[colour] = plot_frame[colour].astype(str)
    colour_kw = {"color_discrete_map": style.group_colour_map(plot_frame[colour].unique())}
if int(dims) == 3:
    fig = px.scatter_3d(plot_frame, x=names[0], y=names[1], z=names[2], color=colour, hover_name=hover, **colour_kw)
    fig.update_traces(marker_size=3)
else:
    fig = px.scatter(plot_frame, x=names[0], y=names[1], color=colour, hover_name=hover, **colour_kw)
fig.update_layout(height=600, margin=dict(l=0, r=0, t=30, b=0))
st.plotly_chart(fig, key="pca_scatter")
if colour == "founder":
    st.caption("Founder lineages use the same letters and colours as the Lineage page: "
               + ", ".join(style.lineage_label(k).replace(" (", " = ").rstrip(")") for k in style.LINEAGES)
               + "; in cell tables P4 and its daughters Z2/Z3 are drawn as Z, the early P cells and EMS as P.")

if projection.explained is not None:
    left, right = st.columns(2)
    variance = pd.DataFrame({"component": projection.loadings.columns, "explained": projection.explained})
    variance["cumulative"] = variance["explained"].cumsum()
    bars = px.bar(variance, x="component", y="explained", title="Explained variance", hover_data=["cumulative"],
                  labels={"explained": "share of variance explained", "component": "component"})
    bars.update_yaxes(tickformat=".0%")
    left.plotly_chart(bars, key="pca_variance")
    top = projection.loadings.iloc[:, : int(dims)]
    top = top.loc[top.abs().max(axis=1).sort_values(ascending=False).index[:25]]
    title = f"Loadings (top {len(top)} of {len(projection.loadings)} columns)" \
        if len(projection.loadings) > len(top) else "Loadings"
    loadings = px.imshow(top, color_continuous_scale="RdBu_r", zmin=-1, zmax=1, aspect="auto",
                         labels=dict(x="component", y="column", color="loading"), title=title)
    # one label per row: plotly otherwise thins the labels of a tall heatmap to every other row
    loadings.update_yaxes(tickmode="array", tickvals=list(top.index), ticktext=list(top.index))
    loadings.update_layout(height=max(450, 120 + 22 * len(top)))
    right.plotly_chart(loadings, key="pca_loadings")

keep = [c for c in ("embryo", "cell", "time", "founder", *labels) if c in used.columns]
st.download_button("Download projected coordinates (CSV)",
                   explore.projected_table(used, projection, keep).to_csv(index=False).encode(),
                   file_name=f"{cfg.method}_coordinates.csv", mime="text/csv", key="pca_download")

if cells:
    st.header("Embryo in 3D")
    embryos = list(table["embryo"].unique())
    pick = st.selectbox("Embryo", embryos, index=common.choice_index(embryos, common.param("pca_embryo", None)),
                        key=f"pca_embryo_{abs(hash(tuple(embryos))) % 10**8}")
    one = table[table["embryo"] == pick]
    times = sorted(one["time"].unique())
    wanted = common.param("pca_time", None, float)
    at_time = st.select_slider("Time point", times, value=times[len(times) // 2] if wanted not in times else
                               times[times.index(wanted)], key="pca_time")
    common.set_param("pca_embryo", pick)
    common.set_param("pca_time", at_time)
    now = one[one["time"] == at_time].assign(founder=lambda d: d["founder"].astype(str))
    founders = now["founder"].unique()
    now = now.assign(founder=now["founder"].map(style.founder_label))
    view = px.scatter_3d(now, x="ap", y="lr", z="dv", color="founder", hover_name="cell", size="size_rel",
                         size_max=18, color_discrete_map=style.founder_colour_map(founders),
                         category_orders={"founder": style.founder_order(founders)},
                         labels={"ap": BODY_AXES["ap"], "lr": BODY_AXES["lr"], "dv": BODY_AXES["dv"],
                                 "size_rel": BODY_AXES["size_rel"]},
                         title=f"{pick}, time point {at_time:g}: {len(now)} nuclei")
    view.update_layout(height=550, scene_aspectmode="data", margin=dict(l=0, r=0, t=40, b=0))
    st.plotly_chart(view, key="pca_embryo3d")
    st.caption("Positions in the embryo's aligned body frame, in embryo lengths (the distance from the anterior to "
               "the posterior end, so 0.1 is a tenth of the embryo), measured from the centre of the nuclei present.")

    st.header("Lineage classifier")
    st.write("Names each nucleus's founder lineage (A = AB, M = MS, E, C, D, Z = P4, P) from its position in the embryo's own "
             "axes (scaled by the embryo's own extent), its size and the embryo's own clock (nuclei seen so far), "
             "then pools the calls along nuclei followed over time by position. Trained on some embryos, tested "
             "on the others; test embryos are oriented without their cell names (the classifier picks the "
             "orientation it is most confident in).")
    if simulated:
        st.info("On the embryo simulator's examples the classifier does no better than always answering AB: the "
                "simulator puts each lineage's nuclei in different places in every embryo, so position does not "
                "tell the lineage. Pick the toy embryos (or upload EPIC tables) to see what it does on embryos "
                "whose lineages keep their places.")
    if len(embryos) < 2:
        st.info("Load at least two embryos to train on one and test on another.")
    else:
        # the key follows the embryo set, so loading other embryos resets the choice
        train = st.multiselect("Train on", embryos, default=embryos[:-1],
                               key=f"pca_train_{abs(hash(tuple(embryos))) % 10**8}")
        test = [e for e in embryos if e not in train]
        st.caption(f"Test on: {', '.join(test) if test else 'nothing left; leave at least one embryo out'}")
        if st.button("Train and test", key="pca_classify", disabled=not (train and test)):
            with common.guard("training the classifier"), ui_cache.job(), st.spinner("Training..."):
                report = explore.train_and_test(table, train, test)
            st.session_state["pca_report"] = (tuple(embryos), tuple(train), report)
        saved = st.session_state.get("pca_report")
        if saved is not None and saved[:2] == (tuple(embryos), tuple(train)):  # only for the embryos shown
            report = saved[2]
            left, right = st.columns(2)
            majority = style.founder_label(report.majority_class)
            left.metric("Mean accuracy on test embryos", f"{report.accuracy:.3f}")
            right.metric(f"Majority-class rate (always '{majority}')",
                         f"{report.majority_accuracy:.3f}",
                         help="The accuracy of always answering the most common lineage of the training embryos: "
                              "the classifier is only useful above it.")
            if not report.useful:
                st.warning(f"The classifier is no better than always answering {majority} "
                           f"({report.majority_accuracy:.3f}): do not use its calls on this data.")
            else:
                st.success(f"The classifier is right on {report.accuracy:.3f} of the nuclei, {report.gain:.3f} more "
                           f"than always answering {majority} ({report.majority_accuracy:.3f}).")
                if report.weak_embryos:
                    st.warning("On " + ", ".join(report.weak_embryos) + " it is no better than always answering "
                               "the most common lineage: do not use its calls on that embryo.")
            st.dataframe(report.per_embryo, hide_index=True, column_config={
                "rows": st.column_config.NumberColumn("nuclei (rows)", format="%d"),
                "accuracy": st.column_config.NumberColumn("accuracy", format="%.3f"),
                "majority_accuracy": st.column_config.NumberColumn("majority-class rate", format="%.3f")})
            shares = report.confusion_shares.rename(index=style.founder_label, columns=style.founder_label)
            st.plotly_chart(px.imshow(shares, text_auto=".2f", color_continuous_scale="Blues",
                                      zmin=0, zmax=1, labels=dict(x="predicted", y="true", color="share"),
                                      title="Confusion matrix, normalised by row (share of each true lineage)"),
                            key="pca_confusion")
            st.download_button("Download confusion matrix (CSV, counts)", report.confusion.to_csv().encode(),
                               file_name="lineage_confusion.csv", mime="text/csv", key="pca_confusion_csv")
