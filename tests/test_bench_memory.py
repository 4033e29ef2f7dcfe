"""bench memory: the peak-RSS report of segment, lineage and track (issue #31), on tiny inputs."""
import json
import sys

from devocore import cli
from devocore.commands import bench_memory


def test_bench_memory_reports_every_command_finished_or_refused(tmp_path, capsys):
    assert cli.main(["bench", "memory", "--scale", "0.002", "--timeout", "120", "--workdir", str(tmp_path),
                     "--parallel", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    names = {"segment_nucleus", "segment_membrane", "lineage", "track"}
    assert {"peak_rss_mb", "limit_mb", "within_limit", "inputs", "status"} <= set(figures)
    assert figures["limit_mb"] == 2048
    assert set(figures["peak_rss_mb"]) == set(figures["within_limit"]) == set(figures["status"]) == names
    assert set(figures["inputs"]) == {"image", "stack", "video"}
    for name in names:
        assert figures["status"][name] in ("finished", "refused"), (name, figures.get("messages"))
        assert figures["peak_rss_mb"][name] > 10


def test_exit_code_2_counts_as_refused_with_its_message(tmp_path):
    script = "import sys; print('error: too large', file=sys.stderr); sys.exit(2)"
    result = bench_memory.measure([sys.executable, "-c", script], 30, {}, tmp_path / "err.txt")
    assert result["status"] == "refused" and result["message"] == "error: too large"
    assert result["peak_rss_mb"] > 0
