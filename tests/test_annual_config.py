"""The annual study config: JSON Schema as the one home of its structure, every problem listed at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gridscope.annual.config import SCHEMA_PATH, StudyConfigError, config_from_dict, load_config, schema_problems

ROOT = Path(__file__).resolve().parents[1]


def test_schema_is_valid_json_and_its_facts_match_the_code():
    from gridscope.grid.defaults import ZONES, reliability_defaults
    from gridscope.reliability.scenarios import SCENARIO_OPTIONS

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    props = schema["properties"]
    assert props["targets"]["propertyNames"]["enum"] == list(ZONES)
    assert props["default_zone"]["enum"] == list(ZONES)
    assert set(props["reliability_data"]["properties"]) == set(reliability_defaults().index)
    assert set(props["scenarios"]["additionalProperties"]["properties"]) == set(SCENARIO_OPTIONS)


def test_every_problem_is_listed_at_once(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("""
networks = ["rbts2", "cigre_mvv", "grids/*.json", "missing.json"]
yeer = 2026
[reliability]
method = "monte-carlo"
years = "many"
seed = -1
[targets]
B = 99.9
F = 90
[scenarios.x]
failure_rate_scal = 0.85
[capacity]
line_limit = true
""", encoding="utf-8")
    with pytest.raises(StudyConfigError) as err:
        load_config(config)
    problems = err.value.problems
    assert err.value.exit_code == 2
    expected = ["unknown key 'yeer' (did you mean 'year'?)", "reliability.years: expected integer",
                "reliability.seed: must be ≥ 0", "targets key 'F'", "unknown key 'failure_rate_scal'",
                "capacity.line_limit: expected number, got bool", "unknown network 'cigre_mvv'",
                "did you mean 'cigre_mv'?", "no file matches 'grids/*.json'", "missing.json does not exist"]
    text = "\n".join(problems)
    for piece in expected:
        assert piece in text, piece
    assert len(problems) == 9  # one per mistake (the cigre_mvv line carries the suggestion)


def test_toml_syntax_error_and_missing_file(tmp_path):
    bad = tmp_path / "syntax.toml"
    bad.write_text("networks = [rbts2\n", encoding="utf-8")
    with pytest.raises(StudyConfigError, match="TOML syntax"):
        load_config(bad)
    with pytest.raises(StudyConfigError, match="no such file"):
        load_config(tmp_path / "nope.toml")


def test_paths_resolve_against_the_config_folder_and_globs_are_sorted(tmp_path):
    import gridscope as gs

    grids = tmp_path / "grids"
    grids.mkdir()
    for name in ("b_north", "a_south"):
        gs.save_network(gs.load_network("cigre_mv"), grids / f"{name}.json")
    (tmp_path / "zones.csv").write_text("feeder,zone\n", encoding="utf-8")
    cfg_file = tmp_path / "s.toml"
    cfg_file.write_text('networks = ["grids/*.json", {source = "rbts2", name = "bus2"}]\n'
                        'zone_mapping = "zones.csv"\n[reliability]\nmethod = "monte-carlo"\n', encoding="utf-8")
    cfg = load_config(cfg_file)
    assert [n.name for n in cfg.networks] == ["a_south", "b_north", "bus2"]
    assert cfg.networks[0].source == str((grids / "a_south.json").resolve()) and cfg.networks[0].is_file
    assert cfg.networks[0].zone_mapping == str((tmp_path / "zones.csv").resolve())
    from gridscope.settings import MC_YEARS

    assert cfg.reliability.years == MC_YEARS  # Monte Carlo without a stopping rule: the one default
    # the normalised config (what the manifest records) reads back to the same config
    assert config_from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


def test_semantic_rules():
    with pytest.raises(StudyConfigError) as err:
        config_from_dict({"network": "rbts2", "networks": ["rbts2"]})
    assert "not both" in str(err.value)
    with pytest.raises(StudyConfigError) as err:
        config_from_dict({"networks": ["rbts2", "rbts2"], "reliability": {"years": 10}})
    text = str(err.value)
    assert "name 'rbts2' is used 2 times" in text and "only for method = 'monte-carlo'" in text
    with pytest.raises(StudyConfigError, match="not both"):
        config_from_dict({"network": "rbts2", "reliability": {"method": "monte-carlo", "years": 5,
                                                              "target_cov": 0.1}})


def test_schema_validator_keywords():
    schema = {"type": "object", "additionalProperties": False, "required": ["a"],
              "properties": {"a": {"anyOf": [{"type": "string"}, {"type": "integer", "minimum": 3}]},
                             "b": {"type": "array", "minItems": 1, "items": {"enum": ["x", "y"]}}}}
    assert schema_problems({"a": "s", "b": ["x"]}, schema) == []
    assert schema_problems({"a": 5}, schema) == []
    assert schema_problems({"a": 1}, schema) == ["a: must be ≥ 3, got 1"]
    assert schema_problems({"b": []}, schema) == ["config: missing key 'a'", "b: needs at least 1 item(s)"]
    assert schema_problems({"a": True, "b": ["z"]}, schema)[1] == "b[0]: 'z' is not one of x, y"


@pytest.mark.parametrize("path", sorted((ROOT / "examples" / "studies").glob("*.toml")), ids=lambda p: p.stem)
def test_example_studies_are_valid(path):
    cfg = load_config(path)
    assert cfg.networks


def test_docs_describe_every_config_key():
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    docs = (ROOT / "docs" / "annual.md").read_text(encoding="utf-8")
    missing = []
    for key, spec in schema["properties"].items():
        if f"`{key}" not in docs:
            missing.append(key)
        for sub in spec.get("properties", {}):
            if sub not in docs:
                missing.append(f"{key}.{sub}")
    assert missing == []
