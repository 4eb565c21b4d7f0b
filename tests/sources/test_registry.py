"""A vendor is one module: discovery finds its stream and settings, the configuration follows."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import get_args

import pytest

import connector.sources as sources
from connector.config import VENDORS, parse_config


def test_the_five_vendors_are_discovered_with_their_settings() -> None:
    assert set(sources.STREAMS) == {"convoso-productivity", "convoso-user-activity", "vonage", "koreai", "rocketchat"}
    assert set(VENDORS) == set(sources.STREAMS)
    for vendor, stream in sources.STREAMS.items():
        (literal,) = get_args(stream.settings_model.model_fields["vendor"].annotation)
        assert literal == vendor


def test_a_sixth_vendor_module_is_found_by_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "acme_wfm.py").write_text(textwrap.dedent('''
        from typing import ClassVar, Literal
        from connector.sources.settings import SourceSettings

        class AcmeSource(SourceSettings):
            vendor: Literal["acme-wfm"]
            api_key: str

        class AcmeStream:
            vendor: ClassVar[str] = "acme-wfm"
            settings_model: ClassVar[type[SourceSettings]] = AcmeSource

            def __init__(self, config, *, drop_personal_data=True):
                self.config = config

            def handle_response(self, cursor, request, body, now):
                raise RuntimeError("not called in this test")
    '''))
    monkeypatch.setattr(sources, "__path__", [*sources.__path__, str(tmp_path)])
    monkeypatch.delitem(sys.modules, "connector.sources.acme_wfm", raising=False)
    found = sources._discover()
    assert set(found) == {*sources.STREAMS, "acme-wfm"}
    settings = found["acme-wfm"].settings_model(vendor="acme-wfm", name="acme", tenant="t",
                                                base_url="https://acme.example", api_key="k")
    assert sources.make_stream.__module__ == "connector.sources"  # the same factory builds it
    assert found["acme-wfm"](settings).config.api_key == "k"
    sys.modules.pop("connector.sources.acme_wfm", None)


def test_config_errors_list_the_discovered_vendors() -> None:
    with pytest.raises(ValueError, match="vendor must be one of convoso-productivity, convoso-user-activity, koreai"):
        parse_config({"sources": [{"vendor": "zendesk", "name": "z", "tenant": "t"}]}, env={})
