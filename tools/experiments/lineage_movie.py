"""What the lineage experiments share: a movie with its exact populations, and its nMAE under the lineage model."""
import argparse

import numpy as np

from devocore import io, lineage, registry


def movie_with_truth(video: str, labels: str):
    """(frames as a list of arrays, the populations table, the shipped lineage model on the CPU)."""
    truth = lineage.read_populations(labels)
    net = registry.load_model("lineage", "cpu")
    with io.open_frames(video, time_lapse=True) as source:
        frames = [np.asarray(frame) for frame in source]
    return frames, truth, net


def nmae(result: lineage.LineageResult, truth) -> float:
    """nMAE of ``result`` (frames numbered from 1) against the populations ``truth`` of the frames it covers."""
    table = result.table.assign(frame=np.arange(1, len(result.table) + 1))
    return float(lineage.evaluate(table, truth[truth["frame"].isin(table["frame"])])["nmae"])


def movie_parser(doc: str) -> argparse.ArgumentParser:
    """A command line parser with ``--video``, ``--labels`` and ``--json``, described by ``doc``'s first line."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--video", required=True)
    parser.add_argument("--labels", required=True)
    parser.add_argument("--json", action="store_true")
    return parser
