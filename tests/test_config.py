"""Settings: every OUTSIDEIN_* variable read when settings are built, and checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from outsidein.config import Config, Settings, read_config, write_config
from outsidein.errors import ConfigError
from outsidein.workspace import Workspace


def test_a_variable_set_after_import_is_honoured(tmp_path, monkeypatch):
    ws = Workspace.init(tmp_path / "ws")
    ws.close()
    assert Workspace.open(ws.root).config.time_unit == "weeks"
    monkeypatch.setenv("OUTSIDEIN_TIME_UNIT", "days")
    monkeypatch.setenv("OUTSIDEIN_STORE_URL", "sqlite:///elsewhere.sqlite")
    again = Workspace.open(ws.root)
    assert again.config.time_unit == "days"
    assert again.store_url == "sqlite:///" + str(ws.root / "elsewhere.sqlite")


def test_the_workspace_folder_comes_from_the_environment_when_none_is_given(tmp_path,
                                                                            monkeypatch):
    Workspace.init(tmp_path / "acme").close()
    monkeypatch.setenv("OUTSIDEIN_WORKSPACE", str(tmp_path / "acme"))
    assert Workspace.open().root == (tmp_path / "acme").resolve()


@pytest.mark.parametrize(("env", "message"), [
    ({"OUTSIDEIN_SMTP_PORT": "abc"},
     "OUTSIDEIN_SMTP_PORT='abc': expected a port number like 25 or 587"),
    ({"OUTSIDEIN_TIME_UNIT": "months"},
     "OUTSIDEIN_TIME_UNIT='months': expected one of days, weeks"),
    ({"OUTSIDEIN_LOAD_MEMORY_LIMIT": "lots"},
     "OUTSIDEIN_LOAD_MEMORY_LIMIT='lots': expected a size such as 2GB"),
    ({"OUTSIDEIN_HTTPS": "maybe"}, "OUTSIDEIN_HTTPS='maybe': expected 1 or 0"),
    ({"OUTSIDEIN_WEBHOOK_URL": "hooks.example"},
     "OUTSIDEIN_WEBHOOK_URL='hooks.example': expected an http:// or https:// URL"),
    ({"OUTSIDEIN_WEB_THREADS": "0"},
     "OUTSIDEIN_WEB_THREADS='0': expected a number of threads from 1 to 256"),
])
def test_a_bad_value_is_one_clear_config_error(env, message):
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env)
    assert message in str(info.value)
    assert str(info.value).endswith("fix or unset the environment variable")


def test_several_bad_values_are_named_in_one_error():
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"OUTSIDEIN_SMTP_PORT": "abc", "OUTSIDEIN_TIME_UNIT": "months"})
    assert "OUTSIDEIN_SMTP_PORT='abc'" in str(info.value)
    assert "OUTSIDEIN_TIME_UNIT='months'" in str(info.value)


def test_a_bad_value_stops_opening_a_workspace(tmp_path, monkeypatch):
    Workspace.init(tmp_path / "ws").close()
    monkeypatch.setenv("OUTSIDEIN_TIME_UNIT", "months")
    with pytest.raises(ConfigError, match="OUTSIDEIN_TIME_UNIT='months'"):
        Workspace.open(tmp_path / "ws")


def test_every_variable_is_parsed():
    s = Settings.from_env({
        "OUTSIDEIN_WORKSPACE": "~/acme", "OUTSIDEIN_WAREHOUSE_BACKEND": "pyspark",
        "OUTSIDEIN_WAREHOUSE_PATH": "w.duckdb", "OUTSIDEIN_STORE_URL": "sqlite:///s.sqlite",
        "OUTSIDEIN_TIME_UNIT": "days", "OUTSIDEIN_LOAD_MEMORY_LIMIT": "512MB",
        "OUTSIDEIN_HTTPS": "1", "OUTSIDEIN_WEBHOOK_URL": "https://hooks.example/x",
        "OUTSIDEIN_SMTP_HOST": "mx", "OUTSIDEIN_SMTP_PORT": "587",
        "OUTSIDEIN_SMTP_PASSWORD": "s3cret", "OUTSIDEIN_CHROMIUM": "/opt/chromium",
        "OUTSIDEIN_DEBUG": "0", "OUTSIDEIN_WEB_THREADS": "4", "UNRELATED": "x",
    })
    assert s == Settings(
        workspace=Path("~/acme").expanduser(), warehouse_backend="pyspark",
        warehouse_path="w.duckdb", store_url="sqlite:///s.sqlite", time_unit="days",
        load_memory_limit="512MB", https=True, webhook_url="https://hooks.example/x",
        smtp_host="mx", smtp_port=587, smtp_password="s3cret", chromium="/opt/chromium",
        debug=False, web_threads=4)
    assert "s3cret" not in repr(s)


def test_empty_variables_count_as_unset():
    assert Settings.from_env({"OUTSIDEIN_SMTP_PORT": "", "OUTSIDEIN_TIME_UNIT": " "}) == Settings()


def test_the_environment_overrides_the_file(tmp_path):
    write_config(tmp_path, Config(warehouse_path="a.duckdb"))
    cfg = read_config(tmp_path, Settings(warehouse_path="b.duckdb", warehouse_backend="pyspark"))
    assert (cfg.warehouse_path, cfg.warehouse_backend) == ("b.duckdb", "pyspark")
    assert read_config(tmp_path, Settings()).warehouse_path == "a.duckdb"


def test_a_bad_time_unit_in_the_file_says_where_to_fix_it(tmp_path):
    write_config(tmp_path, Config(time_unit="months"))
    with pytest.raises(ConfigError, match=r"set \[analysis\] time_unit in outsidein.toml"):
        read_config(tmp_path, Settings())
