"""The settings object: mem0's vocabulary in, clear refusals naming the key out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from memerase.errors import ConfigError
from memerase.settings import OpenSearchStore, S3VectorsStore, load_settings

EXAMPLE = {
    "targets": [
        {
            "name": "s3",
            "vector_store": {
                "provider": "s3_vectors",
                "config": {
                    "vector_bucket_name": "mem0-prod",
                    "collection_name": "mem0",
                    "embedding_model_dims": 1536,
                    "region_name": "eu-west-1",
                },
            },
        },
        {
            "name": "os",
            "vector_store": {
                "provider": "opensearch",
                "config": {
                    "host": "search-x.eu-west-1.es.amazonaws.com",
                    "port": 443,
                    "collection_name": "mem0",
                    "embedding_model_dims": 1536,
                    "use_ssl": True,
                },
            },
        },
    ],
    "history": {"table_name": "memerase-history"},
    "allow_reset": False,
}


def test_the_issue_example_parses_from_inline_json() -> None:
    # Given the configuration example of the issue, as inline JSON
    # When it is loaded
    settings = load_settings(json.dumps(EXAMPLE))
    # Then both targets, the history table and allow_reset are read
    assert isinstance(settings.targets[0].vector_store, S3VectorsStore)
    assert isinstance(settings.targets[1].vector_store, OpenSearchStore)
    assert settings.history is not None and settings.history.table_name == "memerase-history"
    assert settings.allow_reset is False


def test_yaml_and_json_files_are_read(tmp_path: Path) -> None:
    import yaml

    # Given the same configuration as a YAML file and as a JSON file
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(EXAMPLE))
    (tmp_path / "c.json").write_text(json.dumps(EXAMPLE))
    # When both are loaded
    # Then the settings are equal
    assert load_settings(str(tmp_path / "c.yaml")) == load_settings(str(tmp_path / "c.json"))


def test_settings_come_from_memerase_config(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given MEMERASE_CONFIG holding the configuration
    monkeypatch.setenv("MEMERASE_CONFIG", json.dumps(EXAMPLE))
    # When settings are loaded without an argument
    # Then they come from it
    assert load_settings().targets[0].name == "s3"


@pytest.mark.parametrize(
    ("mutate", "named"),
    [
        (lambda c: c.update(surprise=1), "surprise"),
        (lambda c: c["targets"][0]["vector_store"]["config"].update(bucket="x"), "bucket"),
        (lambda c: c["targets"][1]["vector_store"]["config"].update(port="not-a-port"), "port"),
        (lambda c: c["targets"][0]["vector_store"].update(provider="qdrant"), "provider"),
        (lambda c: c["history"].update(table_name=7), "table_name"),
        (lambda c: c.update(allow_reset="maybe"), "allow_reset"),
        (lambda c: c["targets"][1].update(name="s3"), "unique"),
        (lambda c: c.update(targets=[]), "targets"),
    ],
)
def test_unknown_keys_and_wrong_types_are_refused_naming_the_key(mutate: object, named: str) -> None:
    # Given the example with one unknown key or one wrong type
    config = json.loads(json.dumps(EXAMPLE))
    mutate(config)  # type: ignore[operator]
    # When it is loaded
    with pytest.raises(ConfigError) as refused:
        load_settings(json.dumps(config))
    # Then it is refused naming the key
    assert named in str(refused.value)


def test_missing_config_unreadable_file_and_bad_json_are_refused(tmp_path: Path) -> None:
    # Given no configuration, a missing file, a file that is not JSON, and JSON that is not an object
    # When each is loaded
    # Then each is refused with a reason saying which
    with pytest.raises(ConfigError, match="MEMERASE_CONFIG is not set"):
        load_settings("")
    with pytest.raises(ConfigError, match="no such file"):
        load_settings(str(tmp_path / "absent.json"))
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_settings(str(tmp_path / "bad.json"))
    with pytest.raises(ConfigError, match="must be an object"):
        load_settings(str((tmp_path / "list.json").write_text("[]") and tmp_path / "list.json"))
