"""Issue 14, finding 9: files and sizes. Deeply nested TOML/JSON and tables that expand far
beyond their size on disk are refused with one clear line (exit 2 from the CLI), before they
are parsed or loaded; unknown or ill-typed HiGHS options are refused when the Supervisor is built."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from optimizer.site import SiteError, load_site, parse_site
from optimizer.supervisor import TUNED_HIGHS_OPTIONS, Supervisor, SupervisorConfig
from scenarios.cli import main
from surrogate import safe_read
from surrogate.drift import validated_bands
from surrogate.manifest import MANIFEST_NAME, load_model_dir, read_manifest
from surrogate.onnx_io import SurrogateFileError

ROOT = Path(__file__).resolve().parents[1]
SITE_FILE = ROOT / "scenarios" / "sites" / "reference_olefins.toml"
MODELS_DIR = ROOT / "scenarios" / "models" / "reference_olefins"
SNAPSHOT = ROOT / "scenarios" / "snapshots" / "reference_olefins.json"
LIMIT = safe_read.MAX_NESTING_DEPTH

# TOML nested 1,000 deep, four ways: arrays, inline tables, dotted keys, a table header. The first
# two make tomllib recurse; the last two parse, and the nested result broke repr()/json.dumps later.
DEEP_TOML = {
    "arrays": "a = " + "[" * 1000 + "]" * 1000 + "\n",
    "inline_tables": "a = " + "{b = " * 1000 + "1" + "}" * 1000 + "\n",
    "dotted_keys": "a." + ".".join(["b"] * 1000) + " = 1\n",
    "table_header": "[a." + ".".join(["b"] * 1000) + "]\nx = 1\n",
}


def _one_error_line(err: str, *fragments: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "Traceback" not in err, err
    for f in fragments:
        assert f in lines[0], (f, lines[0])
    return lines[0]


# =====================================================================================  TOML


@pytest.mark.parametrize("kind", sorted(DEEP_TOML))
def test_site_check_refuses_deep_toml(tmp_path, capsys, kind):
    bad = tmp_path / f"{kind}.toml"
    bad.write_text(DEEP_TOML[kind])
    assert main(["site", "check", str(bad)]) == 2
    line = _one_error_line(capsys.readouterr().err, str(bad), "nested", f"at most {LIMIT} levels")
    if kind in ("arrays", "inline_tables"):
        assert "1000 levels deep" in line  # measured on the text, before parsing
    with pytest.raises(SiteError, match="nested"):
        parse_site(DEEP_TOML[kind], "text")


def test_site_check_deep_toml_no_traceback_as_a_user_runs_it(tmp_path):
    bad = tmp_path / "deep.toml"
    bad.write_text(DEEP_TOML["arrays"])
    proc = subprocess.run([sys.executable, "-m", "scenarios.cli", "site", "check", str(bad)], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert proc.returncode == 2
    _one_error_line(proc.stderr, str(bad), "TOML arrays/tables nested 1000 levels deep", f"at most {LIMIT} levels")


@pytest.mark.parametrize("reader", ["adapter", "scenario"])
def test_other_toml_files_refuse_deep_nesting(tmp_path, reader):
    """The siblings: the OPC UA adapter configuration and scenario files use the same reader."""
    bad = tmp_path / "deep.toml"
    bad.write_text(DEEP_TOML["inline_tables"])
    if reader == "adapter":
        from optimizer.opcua.config import load_adapter_config as load
    else:
        from scenarios.scenario import load_scenario as load
    with pytest.raises(ValueError, match=f"nested 1000 levels deep: at most {LIMIT} levels are allowed"):
        load(bad)


@pytest.mark.parametrize("kind", sorted(DEEP_TOML))
def test_manifest_refuses_deep_toml(tmp_path, capsys, kind):
    models = tmp_path / "models"
    shutil.copytree(MODELS_DIR, models)
    (models / MANIFEST_NAME).write_text(DEEP_TOML[kind])
    with pytest.raises(SurrogateFileError, match=f"{MANIFEST_NAME}: TOML .* nested .* at most {LIMIT} levels"):
        read_manifest(models)
    with pytest.raises(SurrogateFileError, match="nested"):
        load_model_dir(models)
    rc = main(["step", "--site", str(SITE_FILE), "--models", str(models), "--snapshot", str(SNAPSHOT)])
    assert rc == 2
    _one_error_line(capsys.readouterr().err, str(models / MANIFEST_NAME), "nested")


def test_nesting_counts_brackets_outside_strings_and_comments_only():
    """No false refusal: brackets inside strings and comments do not count (a real file with
    them still loads), and the bundled site is far below the limit."""
    deep = "[" * 200
    text = (f'a = "{deep}"\nb = \'{deep}\'\nc = """\n{deep}\n"""\nd = \'\'\'{deep}\'\'\'\n# {deep}\n'
            f'e = "x\\"{deep}"\nf = [[1, 2], [3]]\nh = {{ i = {{ j = 1 }} }}\n[[g]]\nk = 1\n')
    assert safe_read.toml_text_depth(text) == 2
    data = safe_read.loads_toml(text)
    assert data["a"] == deep and data["e"] == 'x"' + deep and data["h"] == {"i": {"j": 1}}
    assert safe_read.value_depth(data) == 3  # document -> f -> [1, 2]; document -> h -> i; document -> g -> table
    assert safe_read.json_text_depth(json.dumps({"k": deep, "l": [[1], {"m": "]]]"}]})) == 3
    site_text = SITE_FILE.read_text()
    assert safe_read.toml_text_depth(site_text) <= 3
    # exactly at the limit passes, one more is refused
    at_limit = "a = " + "[" * (LIMIT - 1) + "]" * (LIMIT - 1)  # the document is one level
    assert safe_read.value_depth(safe_read.loads_toml(at_limit)) == LIMIT
    with pytest.raises(safe_read.DataLimitError, match=f"nested {LIMIT + 1} levels|more than {LIMIT}"):
        safe_read.loads_toml("a = " + "[" * LIMIT + "]" * LIMIT)


# =====================================================================================  JSON


def test_step_refuses_deeply_nested_snapshot(tmp_path, capsys):
    bad = tmp_path / "deep.json"
    bad.write_text("[" * 100_000 + "]" * 100_000)
    rc = main(["step", "--site", str(SITE_FILE), "--models", str(MODELS_DIR), "--snapshot", str(bad)])
    assert rc == 2
    _one_error_line(capsys.readouterr().err, str(bad), "snapshot (JSON arrays/objects) nested 100000 levels deep", f"at most {LIMIT} levels")


@pytest.mark.parametrize("content, fragment", [(None, "snapshot cannot be read"), (b"{\"timestamp\": ", "snapshot is not valid JSON"),
                                               (b"\xff\xfe{}", "snapshot is not UTF-8")])
def test_step_unreadable_snapshot_exits_2(tmp_path, capsys, content, fragment):
    path = tmp_path / "snap.json"
    if content is not None:
        path.write_bytes(content)
    rc = main(["step", "--site", str(SITE_FILE), "--models", str(MODELS_DIR), "--snapshot", str(path)])
    assert rc == 2
    _one_error_line(capsys.readouterr().err, str(path), fragment)
    assert capsys.readouterr().out == ""  # no proposal printed


def test_step_bundled_snapshot_still_answers(capsys):
    rc = main(["step", "--site", str(SITE_FILE), "--models", str(MODELS_DIR), "--snapshot", str(SNAPSHOT)])
    assert rc == 0
    proposal = json.loads(capsys.readouterr().out)
    assert proposal["status"] == "optimal" and proposal["setpoints"]


def test_deep_accuracy_report_is_a_clear_error(tmp_path):
    models_dir = tmp_path / "models"
    shutil.copytree(MODELS_DIR, models_dir)
    (models_dir / "accuracy.json").write_text("[" * 5000 + "]" * 5000)
    models = load_model_dir(models_dir)
    with pytest.raises(ValueError, match=f"accuracy.json: accuracy report \\(JSON arrays/objects\\) nested 5000 levels deep; at most {LIMIT}"):
        validated_bands(models)


def test_deep_json_in_onnx_metadata_is_a_clear_error():
    """The sibling inside a model file: its inputs/outputs metadata is JSON."""
    import onnx

    from surrogate.onnx_io import read_model_bytes

    model = onnx.load(str(MODELS_DIR / "B1_fuel.onnx"))
    prop = next(p for p in model.metadata_props if p.key == "inputs")
    prop.value = "[" * 5000 + "]" * 5000
    with pytest.raises(SurrogateFileError, match=f"bad.onnx: metadata 'inputs': JSON arrays/objects nested 5000 levels deep; at most {LIMIT}"):
        read_model_bytes(model.SerializeToString(), "bad.onnx")


# =====================================================================================  Parquet, CSV


def _expanding_parquet(path: Path, rows: int) -> Path:
    """A Parquet table of ``rows`` rows x 2 columns of zeros (16 bytes a row decoded), a few kB on disk."""
    pd.DataFrame({"B1.steam_tph": np.zeros(rows), "B2.steam_tph": np.zeros(rows)}).to_parquet(path, compression="zstd")
    return path


HISTORIAN_COMMANDS = {
    "drift": ["surrogate", "drift", "--site", str(SITE_FILE), "--models", str(MODELS_DIR)],
    "train": ["surrogate", "train", "--site", str(SITE_FILE), "--quiet"],
    "retrain": ["surrogate", "retrain", "--site", str(SITE_FILE), "--models", str(MODELS_DIR)],
    "historian_replay": ["historian", "replay", "--site", str(SITE_FILE), "--models", str(MODELS_DIR), "--quiet"],
}


@pytest.mark.parametrize("command", sorted(HISTORIAN_COMMANDS))
def test_parquet_expanding_past_the_limit_is_refused_before_loading(tmp_path, capsys, monkeypatch, command):
    """The 1.9 MB file that expands to 3.2 GB, scaled down: 200,000 rows x 2 columns (3.2 MB
    decoded) against a limit of 1 MB. Refused from the metadata: no data page is read."""
    path = _expanding_parquet(tmp_path / "bomb.parquet", 200_000)
    assert path.stat().st_size < 100_000
    monkeypatch.setattr("scenarios.training.MAX_HISTORIAN_DECODED_BYTES", 1_000_000, raising=False)

    def no_data_read(*a, **k):
        raise AssertionError("the table's data was read")

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", no_data_read)
    monkeypatch.setattr(pq.ParquetFile, "read", no_data_read)
    monkeypatch.setattr(pd, "read_parquet", no_data_read)
    argv = HISTORIAN_COMMANDS[command] + ["--data", str(path)]
    if command in ("train", "retrain", "historian_replay"):
        argv += ["--out", str(tmp_path / "out")]
    assert main(argv) == 2
    _one_error_line(capsys.readouterr().err, str(path), "200000 rows x 2 columns", "3200000 bytes decoded",
                    "at most 1000000 bytes decoded", "refused before reading its data")
    assert not (tmp_path / "out").exists()


def test_csv_passing_the_limit_in_memory_is_refused(tmp_path, capsys, monkeypatch):
    path = tmp_path / "hist.csv"
    idx = pd.date_range("2026-01-01", periods=50_000, freq="s", name="timestamp")
    pd.DataFrame({"B1.steam_tph": np.zeros(50_000), "B2.steam_tph": np.zeros(50_000)}, index=idx).to_csv(path)
    monkeypatch.setattr("scenarios.training.MAX_HISTORIAN_DECODED_BYTES", 500_000, raising=False)
    monkeypatch.setattr(safe_read, "CSV_CHUNK_ROWS", 10_000)
    assert main(["surrogate", "drift", "--site", str(SITE_FILE), "--models", str(MODELS_DIR), "--data", str(path)]) == 2
    _one_error_line(capsys.readouterr().err, str(path), "CSV table passed 500000 bytes in memory after 30000 rows")  # 24 bytes a row


def test_bounded_readers_return_what_pandas_returns(tmp_path):
    """Under the limit, the bounded readers give the same frame as pandas (a simulated historian)."""
    from scenarios.training import read_historian

    assert main(["simulate", "--site", str(SITE_FILE), "--hours", "3", "--step-min", "15", "--seed", "2", "--quiet",
                 "--out", str(tmp_path)]) == 0
    parquet, csv = tmp_path / "historian.parquet", tmp_path / "historian.csv"
    pd.testing.assert_frame_equal(read_historian(parquet), pd.read_parquet(parquet))
    pd.testing.assert_frame_equal(read_historian(csv), pd.read_csv(csv, index_col=0, parse_dates=True))
    size = safe_read.parquet_size(parquet)
    frame = pd.read_parquet(parquet)
    assert (size.rows, size.columns) == (12, frame.shape[1] + 1)  # + the timestamp index
    assert size.decoded_bytes_estimate == 12 * 8 * (frame.shape[1] + 1)


def test_repeated_long_text_is_held_once(tmp_path):
    """A text column repeating one long string on every row is tiny on disk and in the metadata;
    it is read dictionary-encoded (one copy of the string), so it stays small in memory too."""
    rows, text = 20_000, "x" * 10_000  # 200 MB if every row held its own copy
    path = tmp_path / "text.parquet"
    table = pa.table({"v": pa.array(np.arange(rows, dtype=float)),
                      "note": pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, dtype=np.int32)), pa.array([text]))})
    pq.write_table(table, path)
    assert path.stat().st_size < 200_000
    frame = safe_read.read_parquet(path, 5_000_000)
    assert len(frame) == rows and (frame["note"] == text).all() and frame["v"].iloc[-1] == rows - 1
    assert frame.memory_usage(deep=True).sum() < 2_000_000


# =====================================================================================  solver options

SITE = load_site(SITE_FILE)
MODELS = load_model_dir(MODELS_DIR)


@pytest.mark.parametrize(
    "options, fragments",
    [
        ({"presolv": "off"}, ["solver_options['presolv'] = 'off'", "not a HiGHS option", "did you mean 'presolve'"]),
        ({"mip_heuristic_efort": 0.1}, ["'mip_heuristic_efort'", "not a HiGHS option"]),
        ({"threads": 1.5}, ["solver_options['threads'] = 1.5", "takes an integer, got float"]),
        ({"mip_allow_restart": 1}, ["'mip_allow_restart'", "takes a bool"]),
        ({"mip_rel_gap_x": True, "presolve": 0}, ["'mip_rel_gap_x'", "['presolve'] = 0", "takes a string"]),
        ({"presolve": "bogus"}, ["['presolve'] = 'bogus'", 'is not one of "off", "choose" or "on"']),
        ({"mip_feasibility_tolerance": -1.0}, ["['mip_feasibility_tolerance'] = -1.0", "below lower bound"]),
        ({"mip_feasibility_tolerance": float("nan")}, ["['mip_feasibility_tolerance'] = nan", "takes a number"]),
        ({"time_limit": 5.0}, ["'time_limit'", "SupervisorConfig.time_budget_s"]),
    ],
)
def test_bad_solver_options_refused_when_the_supervisor_is_built(options, fragments):
    with pytest.raises(ValueError) as err:
        Supervisor(SITE, MODELS, SupervisorConfig(solver_options={**TUNED_HIGHS_OPTIONS, **options}))
    message = str(err.value)
    assert len(message.splitlines()) == len(options)  # one line per bad option, the good ones not named
    for f in fragments:
        assert f in message, (f, message)


def test_good_solver_options_reach_highs():
    from optimizer.highs_direct import check_solver_options

    plain = check_solver_options({**TUNED_HIGHS_OPTIONS, "threads": np.int64(1), "mip_feasibility_tolerance": np.float32(1e-6)})
    assert type(plain["threads"]) is int and type(plain["mip_feasibility_tolerance"]) is float
    sup = Supervisor(SITE, MODELS, SupervisorConfig(solver_options={**TUNED_HIGHS_OPTIONS, "presolve": "off", "threads": np.int64(1)}))
    proposal = sup.step(json.loads(SNAPSHOT.read_text()))
    assert proposal.status == "optimal"
    g = sup._solver._instances["opt"]  # the optimisation's HiGHS instance
    assert g.getOptionValue("presolve")[1] == "off" and g.getOptionValue("mip_heuristic_run_rins")[1] is False
