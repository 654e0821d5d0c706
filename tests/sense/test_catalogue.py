"""The action catalogue file: the shipped one loads; every error names file, line and field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from outsidein.errors import ConfigError
from outsidein.sense.policy import CatalogAction
from outsidein.services.sense.catalogue import catalogue_path, line_of, load_catalogue

GOOD = """\
version = 1

[[actions]]
name = "tips"
need = "advice"
channels = ["email", "web"]
template = "Hi {first_name}, about {product_name}"

[[actions]]
name = "offer"
need = "sales"
stages = ["deciding"]
value = 20.0
template = "Buy {product_name}"
follow_up = { action = "tips", after_hours = 24, unless = ["checkout"] }

[[timing]]
name = "abandoned_cart"
on = "cart_add"
action = "tips"
after_hours = 1
unless = ["checkout"]
"""


def _error(tmp_path: Path, text: str) -> tuple[str, int]:
    """Load *text* from a file; the error message and the line number it names."""
    f = tmp_path / "my_catalogue.toml"
    f.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_catalogue(f)
    msg = str(info.value)
    assert str(f) in msg, msg  # the file
    m = re.search(r" line (\d+)", msg)
    assert m, msg
    return msg, int(m.group(1))


def _line(text: str, needle: str, nth: int = 1) -> int:
    """1-based line of the nth line containing *needle* (the test's own count)."""
    hits = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    return hits[nth - 1]


def test_shipped_catalogue_has_messages_for_every_need_and_the_issue_timing_rules():
    cat = load_catalogue()
    assert {e.need for e in cat.entries} == {"awareness", "advice", "sales", "retention",
                                             "service"}
    complaint = cat.rules_for("complaint", "call_center")
    assert len(complaint) == 1 and cat[complaint[0].action].need == "service"
    assert complaint[0].after_hours <= 2 and complaint[0].within_hours == 2
    assert cat.rules_for("complaint", "web") == []  # only the call centre's complaints
    cart = cat.rules_for("cart_add", "web")
    assert len(cart) == 1 and cat[cart[0].action].need == "advice"
    assert cart[0].after_hours == 1 and cart[0].unless == ("checkout",)
    assert all(isinstance(a, CatalogAction) for a in cat.policy_actions())


def test_valid_file_loads_with_its_values(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text(GOOD)
    cat = load_catalogue(f)
    assert [e.name for e in cat.entries] == ["tips", "offer"]
    offer = cat["offer"]
    assert offer.as_policy_action() == CatalogAction("offer", "sales", ("email",),
                                                     ("deciding",), 20.0, 1.0)
    assert offer.follow_up is not None and offer.follow_up.after_hours == 24
    assert cat["tips"].render({"first_name": "Ada", "product_name": "a kettle"}) == \
        "Hi Ada, about a kettle"
    assert cat["tips"].eligible("considering") and not offer.eligible("loyal")


def test_unknown_placeholder_names_line_and_field(tmp_path):
    text = GOOD.replace("Buy {product_name}", "Buy {produkt}")
    msg, line = _error(tmp_path, text)
    assert line == _line(text, "Buy {produkt}")
    assert "template" in msg and "{produkt}" in msg and "'offer'" in msg


def test_bad_need_names_line_and_field(tmp_path):
    text = GOOD.replace('need = "sales"', 'need = "gossip"')
    msg, line = _error(tmp_path, text)
    assert line == _line(text, 'need = "gossip"')
    assert "field need" in msg and "gossip" in msg


def test_missing_required_field_points_at_its_table(tmp_path):
    text = GOOD.replace('template = "Buy {product_name}"\n', "")
    msg, line = _error(tmp_path, text)
    assert line == _line(text, "[[actions]]", nth=2)
    assert "template" in msg and "missing" in msg


def test_unknown_key_and_bad_channel(tmp_path):
    text = GOOD.replace("value = 20.0", "valu = 20.0")
    msg, line = _error(tmp_path, text)
    assert line == _line(text, "valu = 20.0") and "valu" in msg and "unknown" in msg
    text = GOOD.replace('channels = ["email", "web"]', 'channels = ["email", "fax"]')
    msg, line = _error(tmp_path, text)
    assert line == _line(text, '"fax"') and "channels" in msg and "fax" in msg


def test_follow_up_to_an_unknown_action_names_the_inline_field(tmp_path):
    text = GOOD.replace('follow_up = { action = "tips"', 'follow_up = { action = "nope"')
    msg, line = _error(tmp_path, text)
    assert line == _line(text, "follow_up =") and "follow_up.action" in msg and "nope" in msg


def test_follow_up_as_a_sub_table(tmp_path):
    text = GOOD.replace('follow_up = { action = "tips", after_hours = 24, unless = '
                        '["checkout"] }\n', "")
    text = text.replace("[[timing]]", '[actions.follow_up]\naction = "tips"\n'
                        'after_hours = -3\n\n[[timing]]')
    msg, line = _error(tmp_path, text)
    assert line == _line(text, "after_hours = -3") and "after_hours" in msg


def test_timing_rule_errors(tmp_path):
    text = GOOD.replace('on = "cart_add"', 'on = "cart_abandon"')
    msg, line = _error(tmp_path, text)
    assert line == _line(text, "cart_abandon") and "field on" in msg and "[[timing]] #1" in msg
    text = GOOD.replace("after_hours = 1\n", "after_hours = 3\nwithin_hours = 2\n")
    msg, line = _error(tmp_path, text)
    assert line == _line(text, "after_hours = 3") and "within_hours" in msg


def test_duplicate_name_points_at_the_second(tmp_path):
    text = GOOD.replace('name = "offer"', 'name = "tips"')
    msg, line = _error(tmp_path, text)
    assert line == _line(text, 'name = "tips"', nth=2) and "twice" in msg


def test_toml_syntax_error_names_its_line(tmp_path):
    text = GOOD.replace("value = 20.0", "value = = 20")
    msg, line = _error(tmp_path, text)
    assert line == _line(text, "value = = 20") and "TOML" in msg


def test_multiline_strings_do_not_confuse_the_line_finder():
    text = ('[[actions]]\nname = "a"\ntemplate = """\nneed = fake\n"""\nneed = "x"\n')
    assert line_of(text, ("actions", 0, "need")) == 6


def test_value_deciles_must_be_a_range(tmp_path):
    text = GOOD.replace("value = 20.0", "value = 20.0\nvalue_deciles = [8, 3]")
    msg, line = _error(tmp_path, text)
    assert line == _line(text, "value_deciles") and "value_deciles" in msg


def test_workspace_names_its_catalogue(tmp_path):
    assert catalogue_path({}, tmp_path) is None
    assert catalogue_path({"catalogue": "c.toml"}, tmp_path) == tmp_path / "c.toml"
    with pytest.raises(ConfigError, match="cannot be read"):
        load_catalogue(tmp_path / "missing.toml")


@pytest.mark.parametrize("field,value", [("value", "nan"), ("weight", "inf"),
                                         ("value", "+inf"), ("weight", "nan")])
def test_a_value_or_weight_that_is_not_a_finite_number_is_refused(tmp_path, field, value):
    """QA: ``value = nan`` loaded, and NaN then won every choice ("expected score nan")."""
    text = GOOD.replace("value = 20.0", f"{field} = {value}")
    msg, line = _error(tmp_path, text)
    assert line == _line(text, f"{field} = {value}")
    assert f"field {field}: must be a finite number" in msg and "'offer'" in msg


def test_an_agent_task_is_never_offered_on_a_customer_channel(tmp_path):
    """QA: the call-back task "Call ... back about their complaint" was emailed to the
    customer.  An agent's task goes to the call centre only."""
    text = GOOD.replace('template = "Buy {product_name}"',
                        'template = "Call {name} back"\naudience = "agent"\n'
                        'channels = ["call_center", "email"]')
    msg, line = _error(tmp_path, text)
    assert line == _line(text, 'channels = ["call_center", "email"]')
    assert "agent task" in msg and "never to the customer by email" in msg
    shipped = load_catalogue()
    agents = {e.name: e.channels for e in shipped.entries if e.audience == "agent"}
    assert agents == {"win_back_call": ("call_center",), "service_callback": ("call_center",)}


def test_consent_false_is_only_for_a_service_message(tmp_path):
    text = GOOD.replace("value = 20.0", "value = 20.0\nconsent = false")
    msg, line = _error(tmp_path, text)
    assert line == _line(text, "consent = false") and "need service" in msg
