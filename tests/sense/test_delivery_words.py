"""What a delivered message says: no blank placeholder ever reaches a receiver.

Through ``outsidein sense deliver`` with a webhook receiver on 127.0.0.1: the product's
name from the warehouse's ``products``, the first name the customer gave (even after the
message was queued), ``[sense] brand`` and ``unsubscribe_url``; neutral words where the
product knows nothing; a message held, saying which setting is missing, where a setting
is needed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from oi_testkit import Webhook
from outsidein.sense.bandit import ControlGroup
from outsidein.services.sense.events import EventIn, apply_events
from outsidein.services.sense.respond import Responder
from outsidein.store.db import session_scope
from outsidein.store.models.sense import Delivery
from outsidein.warehouse.load import load_file
from outsidein.workspace import Workspace

OFFER = '''
[[actions]]
name = "offer"
need = "sales"
channels = ["web"]
subject = "{brand}: {product_name} for {first_name}"
template = "Hi {first_name}, {product_name} is back at {brand}. Unsubscribe: {unsubscribe_url}"
'''


def _setup(ws: Workspace, receiver: Webhook, sense: str = "", catalogue: str | None = None
           ) -> Responder:
    """Products in the warehouse, the [sense] settings and webhooks; the live decider."""
    csv = ws.root / "products.csv"
    csv.write_text("product_id,name,product_type,unit_cost\nP0002,Blue Kettle,kitchen,10\n")
    load_file(ws.warehouse(), "products", csv)
    ws.close()
    if catalogue is not None:
        (ws.root / "catalogue.toml").write_text(catalogue)
        sense += '\ncatalogue = "catalogue.toml"'
    cfg = ws.root / "outsidein.toml"
    cfg.write_text(cfg.read_text() + f"\n[sense]\n{sense}\n\n[sense.webhooks]\n"
                   f'web = "{receiver.url}"\nemail = "{receiver.url}"\n')
    again = Workspace.open(ws.root)
    again.close()
    r = Responder.for_workspace(again.root, again.config.extra)
    r.control = ControlGroup(share=0.0)
    return r


def _apply(ws: Workspace, r: Responder, *events: EventIn) -> list[dict[str, Any]]:
    with session_scope(ws.store_url) as s:
        return [x.decision for x in apply_events(s, list(events), r, plan=r.plan)]


def _deliver(ws: Workspace) -> dict[str, Any]:
    exe = Path(sys.executable).parent / "outsidein"
    out = subprocess.run([str(exe), "--workspace", str(ws.root), "sense", "deliver", "--once",
                          "--json"], capture_output=True, text=True, timeout=60,
                         env={k: v for k, v in os.environ.items()
                              if not k.startswith("OUTSIDEIN_")})
    assert out.returncode == 0, out.stderr
    return dict(json.loads(out.stdout))


def _ago(minutes: float) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=minutes)


def test_placeholders_are_filled_from_the_warehouse_the_customer_and_the_settings(
        workspace, receiver):
    """QA: subject ": ready when you are", text "Hi ,  is in stock".  The first name told
    after the message was queued is in it too."""
    r = _setup(workspace, receiver, 'brand = "Acme"\n'
               'unsubscribe_url = "https://acme.example/unsubscribe?c={customer_id}"',
               catalogue=OFFER)
    [d] = _apply(workspace, r, EventIn("e1", "C 7", _ago(20), "web", "cart_add",
                                       product_id="P0002"))
    assert d["action"] == "offer", d["reasons"]
    _apply(workspace, r, EventIn("e2", "C 7", _ago(10), "web", "visit",
                                 attributes={"first_name": "Ada"}))
    assert _deliver(workspace)["sent"] == 1
    [body] = receiver.bodies()
    assert body["message"]["subject"] == "Acme: Blue Kettle for Ada"
    assert body["message"]["text"] == ("Hi Ada, Blue Kettle is back at Acme. Unsubscribe: "
                                       "https://acme.example/unsubscribe?c=C%207")
    assert "contact_policy" not in body["message"]  # the deliverer's, not the receiver's


def test_a_message_needing_a_missing_setting_is_held_and_says_which(workspace, receiver):
    r = _setup(workspace, receiver, catalogue=OFFER)
    [d] = _apply(workspace, r, EventIn("e1", "C1", _ago(10), "web", "cart_add",
                                       product_id="P0002"))
    assert d["action"] == "offer", d["reasons"]
    got = _deliver(workspace)
    assert got["sent"] == 0 and receiver.posts == []
    with session_scope(workspace.store_url, write=False) as s:
        [row] = s.scalars(select(Delivery))
    assert row.status == "held"
    assert row.last_error == (
        'held: {brand} would be blank: set brand = "Your brand" in [sense] of outsidein.toml; '
        '{unsubscribe_url} would be blank: set unsubscribe_url = '
        '"https://.../unsubscribe?c={customer_id}" in [sense] of outsidein.toml')


def test_what_the_product_does_not_know_is_said_in_neutral_words(workspace, receiver):
    """The shipped catalogue, a customer who never gave a name, a product not in the
    warehouse: "Hi there, your item is in stock", never "Hi ,  is in stock"."""
    r = _setup(workspace, receiver)
    [d] = _apply(workspace, r, EventIn("e1", "C1", _ago(10), "web", "cart_add",
                                       product_id="P9999"))
    assert d["action"] == "offer_deciding", d["reasons"]
    assert _deliver(workspace)["sent"] == 1
    [body] = receiver.bodies()
    assert body["message"]["subject"] == "Ready when you are: your item"
    assert body["message"]["text"] == ("Hi there, your item is in stock; order today and it "
                                       "ships tomorrow.")


def test_a_product_loaded_while_the_decider_runs_is_named_in_its_messages(
        workspace, receiver):
    """The decider of a running server read the product names once, at start: a product
    loaded afterwards stayed "your item" until a restart.  It reads them again when the
    warehouse has changed (looked at every 30 s; at once here)."""
    r = _setup(workspace, receiver, 'brand = "Acme"\n'
               'unsubscribe_url = "https://acme.example/unsubscribe?c={customer_id}"',
               catalogue=OFFER)
    r.product_names.every = 0  # type: ignore[attr-defined]
    ws = Workspace.open(workspace.root)
    csv = ws.root / "products-new.csv"
    csv.write_text("product_id,name,product_type,unit_cost\n"
                   "P0002,Blue Kettle,kitchen,10\nP0003,Red Teapot,kitchen,12\n")
    load_file(ws.warehouse(), "products", csv)
    ws.close()
    [d] = _apply(workspace, r, EventIn("e1", "C8", _ago(20), "web", "cart_add",
                                       product_id="P0003", attributes={"first_name": "Bo"}))
    assert d["action"] == "offer", d["reasons"]
    assert _deliver(workspace)["sent"] == 1
    [body] = receiver.bodies()
    assert body["message"]["subject"] == "Acme: Red Teapot for Bo"
