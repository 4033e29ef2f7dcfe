"""Low-dimensional views of cell tables and behaviour feature tables.

* :mod:`~devocore.embedding.tables`: readers and lineage columns;
* :mod:`~devocore.embedding.align`: embryo alignment to a body frame;
* :mod:`~devocore.embedding.project`: PCA and t-SNE;
* :mod:`~devocore.embedding.classify`: the lineage classifier;
* :mod:`~devocore.embedding.synthetic`: toy tables with known answers.
"""
from devocore.embedding.align import EPIC_Z_SCALE, Alignment, align_embryo
from devocore.embedding.tables import (FeatureTable, add_lineage_columns, numeric_columns, numeric_matrix,
                                       read_cells, read_features)

__all__ = ["EPIC_Z_SCALE", "Alignment", "FeatureTable", "add_lineage_columns", "align_embryo",
           "numeric_columns", "numeric_matrix", "read_cells", "read_features"]
