"""The action catalogue file: what sense and respond may send, read and checked at load.

A workspace uses the file named by ``catalogue`` in the ``[sense]`` section of its
``outsidein.toml`` (relative to the workspace folder), or else the catalogue shipped with
Outside-In (``default_catalogue.toml`` beside this module: a few messages for each need).
A bad file stops the load with a :class:`~outsidein.errors.ConfigError` that names the
file, the line, the field and the problem, e.g.::

    catalogue.toml line 14: [[actions]] #2 'cart_advice', field template: unknown
    placeholder {firstname}; known: customer_id, first_name, ...

The format (TOML)
-----------------
The same fields may be written in YAML, in a file named ``.yaml`` or ``.yml``: ``actions:``
a list of messages, ``timing:`` a list of rules.  ``version = 1`` (optional), then one
``[[actions]]`` table per message:

``name`` (required)
    Unique name of the message (what decisions and the outbox record).
``need`` (required)
    The message need it meets: ``awareness``, ``advice``, ``sales``, ``retention`` or
    ``service``.
``template`` (required), ``subject`` (optional)
    The content, with ``{placeholders}`` among :data:`~outsidein.sense.catalogue.
    TEMPLATE_FIELDS` (``customer_id``, ``first_name``, ``product_name``, ...); a literal
    brace is written ``{{`` or ``}}``.  An unknown placeholder is an error at load.
``channels``
    The channels it can go by, in order of preference (default ``["email"]``).
``stages``
    Eligibility: the buying stages it is for (default: any).
``segments``
    Eligibility: the segments it is for (default: any).
``value_deciles``
    Eligibility: ``[lowest, highest]`` customer value decile, 1-10 (default ``[1, 10]``).
``consent``
    Whether it needs the customer's consent for the channel (default ``true``; ``false``
    only for service messages the customer asked for).
``value``, ``weight``
    Value if it works and business weight, for arbitration (propensity x value x weight).
``follow_up``
    ``{ action = "...", after_hours = N, unless = ["checkout", ...] }``: send that action of
    the file N hours after this one unless one of those event types arrives first.

and any number of ``[[timing]]`` tables, each a timing rule:

``name``, ``on`` (an interaction type), ``action`` (required)
    After an event ``on``, send ``action``.
``channel``
    Only for events on this channel (default: any channel).
``after_hours``, ``within_hours``
    Send that many hours after the event (default 0); ``within_hours`` is the promise made
    and ``after_hours`` may not exceed it.
``unless``
    Event types that cancel the message if they arrive before it is sent.

>>> cat = load_catalogue()
>>> sorted({e.need for e in cat.entries})
['advice', 'awareness', 'retention', 'sales', 'service']

What a queued message says, and whether it may go
-------------------------------------------------
The outbox and the deliverer share these: :func:`fill_message` (through
:func:`render_text`) fills a message's template with what is known, neutral words for a
fact about the customer that is not (:data:`NEUTRAL`: "Hi there,"), and names the
placeholders left blank (``{brand}``, ``{unsubscribe_url}``: the ``[sense]`` settings
``brand`` and ``unsubscribe_url``; :func:`missing_words` says which to set);
:func:`check_message` applies the contact policy to one message at one time.
"""

from __future__ import annotations

import json
import logging
import string
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

from outsidein.errors import ConfigError, WorkspaceNotFoundError
from outsidein.sense.catalogue import (
    Catalogue,
    CatalogueProblem,
    build_catalogue,
    every_problem,
)
from outsidein.sense.policy import (
    CatalogAction,
    ContactPolicy,
    CustomerContacts,
    eligible_actions,
)
from outsidein.services.sense.catalogue_yaml import YAML_SUFFIXES, parse_yaml_catalogue
from outsidein.services.sense.checks import known_zone
from outsidein.tomltext import line_of, parse_toml, problem_error
from outsidein.workspace import Workspace

__all__ = ["DEFAULT_CATALOGUE", "KEEP_SENT", "NEUTRAL", "ProductNames", "catalogue_path",
           "check_message", "contacts_of", "fill_message", "line_of", "load_catalogue",
           "message_settings", "missing_words", "parse_catalogue", "policy_doc", "policy_of",
           "product_names", "profile_fields", "render_text", "setting_fields", "utc_of"]

#: the catalogue shipped with Outside-In (used when the workspace names none)
DEFAULT_CATALOGUE = "default_catalogue.toml"

def parse_catalogue(text: str, source: str = "catalogue") -> Catalogue:
    """Check and build the catalogue in TOML *text*; *source* names it in errors."""
    doc = parse_toml(text, source)
    try:
        return build_catalogue(doc)
    except CatalogueProblem as p:
        raise ConfigError(every_problem(
            p, lambda q: str(problem_error(source, text, doc, q.path, q.field, q.problem)))
        ) from p



def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """Read the catalogue file at *path* (default: the one shipped with Outside-In): YAML
    when its name ends in ``.yaml`` or ``.yml``
    (:mod:`~outsidein.services.sense.catalogue_yaml`), else TOML."""
    if path is None:
        text = files("outsidein.services.sense").joinpath(DEFAULT_CATALOGUE).read_text("utf-8")
        return parse_catalogue(text, DEFAULT_CATALOGUE)
    p = Path(path)
    try:
        text = p.read_text("utf-8")
    except OSError as exc:
        raise ConfigError(f"{p}: the action catalogue cannot be read ({exc.strerror}); fix "
                          "[sense] catalogue in outsidein.toml") from exc
    if p.suffix.lower() in YAML_SUFFIXES:
        return parse_yaml_catalogue(text, str(p))
    return parse_catalogue(text, str(p))


def catalogue_path(sense_section: Mapping[str, Any] | None, root: Path) -> Path | None:
    """The file ``[sense] catalogue`` names (relative to the workspace *root*), or None."""
    name = (sense_section or {}).get("catalogue")
    if name is None:
        return None
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"outsidein.toml [sense] catalogue must be a file name, got {name!r}")
    p = Path(name)
    return p if p.is_absolute() else root / p


#: neutral words for a fact about the customer the product does not know: a message never
#: goes with a hole ("Hi ,"), it says "Hi there," instead
NEUTRAL: dict[str, str] = {"first_name": "there", "name": "the customer",
                           "product_name": "your item"}
#: placeholders filled from ``[sense]`` settings: without the setting the message is held
_SETTINGS = {"brand": 'brand = "Your brand"',
             "unsubscribe_url": 'unsubscribe_url = "https://.../unsubscribe?c={customer_id}"'}
#: policy rules that end a message for good (the others postpone it)
_FINAL = frozenset({"opt_out", "suppressed", "consent", "channels", "stage"})


def _ends_sentence(text: str) -> bool:
    t = text.rstrip()
    return not t or t.endswith((".", "!", "?"))


def render_text(text: str, fields: Mapping[str, Any]) -> tuple[str, list[str]]:
    """*text* with its placeholders filled from *fields*, else with neutral words
    (:data:`NEUTRAL`); and the placeholders left with neither.

    >>> render_text("Hi {first_name}, {product_name} is in stock", {"product_name": "Kettle"})
    ('Hi there, Kettle is in stock', [])
    >>> render_text("{product_name} ships today. Meet {brand}", {})
    ('Your item ships today. Meet ', ['brand'])
    """
    out: list[str] = []
    missing: list[str] = []
    for literal, name, _spec, _conv in string.Formatter().parse(text):
        out.append(literal)
        if name is None:
            continue
        value = fields.get(name)
        word = str(value).strip() if value is not None else ""
        if not word:
            word = NEUTRAL.get(name, "")
            if not word:
                missing.append(name)
            elif _ends_sentence("".join(out)):
                word = word[0].upper() + word[1:]
        out.append(word)
    return "".join(out), missing


def fill_message(payload: dict[str, Any], fields: Mapping[str, Any]) -> list[str]:
    """Fill a queued message's ``text`` (from its ``template``) and ``subject`` (from its
    ``subject_template``, when it has one) with *fields*, in place (:func:`render_text`);
    the placeholders left blank.  A payload without a template is left as it is.  The one
    way a message's words are made: when it is queued and again when it is sent.

    >>> p = {"template": "Hi {first_name}", "subject_template": "{brand} news"}
    >>> fill_message(p, {}), p["text"], p["subject"]
    (['brand'], 'Hi there', ' news')
    """
    if "template" not in payload:
        return []
    payload["text"], missing = render_text(str(payload["template"]), fields)
    if "subject_template" in payload:
        payload["subject"], more = render_text(str(payload["subject_template"] or ""), fields)
        missing += more
    return missing


def missing_words(names: Sequence[str]) -> str:
    """Why a message is held: each blank placeholder and the setting that fills it.

    >>> missing_words(["brand"])
    'held: {brand} would be blank: set brand = "Your brand" in [sense] of outsidein.toml'
    """
    parts = [f"{{{n}}} would be blank: set {_SETTINGS[n]} in [sense] of outsidein.toml"
             if n in _SETTINGS else f"{{{n}}} would be blank: nothing fills it"
             for n in dict.fromkeys(names)]
    return "held: " + "; ".join(parts)


def policy_doc(policy: ContactPolicy, default_consent: Sequence[str]) -> dict[str, Any]:
    """The contact rules as a row's payload keeps them (``contact_policy``)."""
    return {"channel_caps": {ch: [n, d] for ch, (n, d) in policy.channel_caps.items()},
            "global_cap": list(policy.global_cap), "min_gap_hours": policy.min_gap_hours,
            "quiet_hours": list(policy.quiet_hours),
            "quiet_channels": list(policy.quiet_channels), "max_ignored": policy.max_ignored,
            "default_timezone": policy.default_timezone,
            "default_consent": list(default_consent)}


_POLICIES: dict[str, tuple[ContactPolicy, tuple[str, ...]]] = {}


def policy_of(doc: Mapping[str, Any]) -> tuple[ContactPolicy, tuple[str, ...]]:
    """The rules and default consent of a :func:`policy_doc` (parsed once per text)."""
    key = json.dumps(doc, sort_keys=True)
    found = _POLICIES.get(key)
    if found is None:
        rules = {k: v for k, v in doc.items() if k != "default_consent"}
        if len(_POLICIES) > 256:
            _POLICIES.clear()
        found = _POLICIES[key] = (ContactPolicy.from_mapping(rules, "a queued message's rules"),
                                  tuple(doc.get("default_consent", ())))
    return found


#: Messages kept in a customer's contact facts (``state["contacts"]["sent"]``), newest last.
KEEP_SENT = 20


def profile_fields(state: Mapping[str, Any]) -> dict[str, str]:
    """The message fields a customer's state knows: ``first_name`` and ``name`` from what
    the events told (``state["profile"]``).

    >>> profile_fields({"profile": {"first_name": "Ada", "name": ""}})
    {'first_name': 'Ada'}
    """
    prof = state.get("profile") or {}
    return {k: v for k in ("first_name", "name") if isinstance(v := prof.get(k), str) and v}


def contacts_of(d: Mapping[str, Any] | None, default_consent: Sequence[str]
                ) -> CustomerContacts:
    """The contact facts kept in a customer's state (``state["contacts"]``); a time zone
    this machine does not know reads as none (the policy's default): one kept before the
    events API refused them would fail every decision and delivery of the customer."""
    if not d:
        return CustomerContacts(consent=frozenset(default_consent))
    zone = d.get("timezone")
    return CustomerContacts(consent=frozenset(d.get("consent", default_consent)),
                            opted_out=bool(d.get("opted_out", False)),
                            preferred_channel=d.get("preferred_channel"),
                            timezone=zone if isinstance(zone, str) and known_zone(zone)
                            else None,
                            sent=tuple([(float(t), str(c)) for t, c in d.get("sent", ())]),
                            ignored_in_a_row=int(d.get("ignored_in_a_row", 0)))


def _cap_end(contacts: CustomerContacts, channel: str, policy: ContactPolicy,
             at: float) -> float | None:
    """When the channel's cap lets a message through again (None: never)."""
    c_max, c_days = policy.channel_caps.get(channel, (0, 0.0))
    window = c_days * 86400.0
    times = sorted(t for t, ch in contacts.sent if ch == channel and at - t < window)
    if c_max <= 0 or len(times) < c_max:
        return None
    return times[len(times) - c_max] + window


def utc_of(ts: float) -> datetime:
    """Unix seconds as a naive UTC time (the store's convention)."""
    return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None)


def check_message(channel: str, contacts: CustomerContacts, policy: ContactPolicy, when: float,
                  *, needs_consent: bool = True, own: bool = False
                  ) -> tuple[str, float | None, str] | None:
    """Whether one message may go to the customer by *channel* at *when* (Unix seconds).

    None: it may.  Else ``("cancelled", None, words)`` (opt-out, suppression, no consent)
    or ``("pending", later, words)`` (quiet hours, a cap or the minimum gap: *later* is
    the first time the rules allow).  *own*: the message is the decision's own, already
    counted in the customer's recent messages (so caps, gap and suppression were applied
    when it was decided).  *needs_consent* False: the catalogue's ``consent = false`` (a
    service the customer asked for); opt-out and quiet hours still hold.

    >>> c = CustomerContacts(consent=frozenset({"email"}), opted_out=True)
    >>> check_message("email", c, ContactPolicy(), 1767258000.0)
    ('cancelled', None, 'cancelled: the customer opted out of all messages')
    """
    if own:
        contacts = contacts._replace(sent=(), ignored_in_a_row=0)
    if not needs_consent and channel not in contacts.consent:
        contacts = contacts._replace(consent=contacts.consent | {channel})
    action = [CatalogAction("message", "service", (channel,))]
    at, notes = when, []
    for _ in range(8):
        res = eligible_actions(action, contacts, at, policy)
        if res.eligible:
            break
        f = res.filtered[0]
        if f.rule in _FINAL:
            return "cancelled", None, f"cancelled: {f.reason}"
        later = f.retry_at if f.retry_at is not None else _cap_end(contacts, channel, policy, at)
        if later is None:
            return "cancelled", None, f"cancelled: {f.reason} (it never lets this one through)"
        notes.append(f.reason)
        at = later if later > at else at + 60.0  # never the same time again
    else:
        return "cancelled", None, "cancelled: the rules leave no time for it: " + "; ".join(notes)
    if not notes:
        return None
    return "pending", at, (f"postponed to {utc_of(at):%Y-%m-%d %H:%M} UTC: "
                           + "; ".join(dict.fromkeys(notes)))


def message_settings(section: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """``[sense] brand`` and ``unsubscribe_url`` (an http(s) URL; ``{customer_id}`` in it
    is replaced by the customer's id); a bad one raises :class:`ConfigError`."""
    brand, url = section.get("brand"), section.get("unsubscribe_url")
    if brand is not None and (not isinstance(brand, str) or not brand.strip()):
        raise ConfigError(f"outsidein.toml [sense] brand must be a text, got {brand!r}")
    if url is not None:
        parts = urlparse(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"outsidein.toml [sense] unsubscribe_url must be an http(s) URL "
                              f"(e.g. \"https://example.com/unsubscribe?c={{customer_id}}\"), "
                              f"got {url!r}")
    return (brand.strip() if brand else None), url


def setting_fields(brand: str | None, unsubscribe_url: str | None, customer_id: str
                   ) -> dict[str, str]:
    """The ``{brand}`` and ``{unsubscribe_url}`` fields of one customer's message, from the
    ``[sense]`` settings (:func:`message_settings`); a setting not given gives no field.

    >>> setting_fields("Acme", "https://a.example/u?c={customer_id}", "acct/42")
    {'brand': 'Acme', 'unsubscribe_url': 'https://a.example/u?c=acct%2F42'}
    """
    out: dict[str, str] = {}
    if brand:
        out["brand"] = brand
    if unsubscribe_url:
        out["unsubscribe_url"] = unsubscribe_url.replace("{customer_id}",
                                                         quote(customer_id, safe=""))
    return out


def product_names(ws: Workspace) -> dict[str, str]:
    """Product id -> name from the workspace's warehouse ``products`` (for
    ``{product_name}``); empty when there is no warehouse or no such table."""
    rows: list[tuple[Any, Any]] = []
    if ws.config.warehouse_backend == "duckdb":
        with ws.duckdb_reader() as con:
            if con is not None and ("products",) in con.execute("SHOW TABLES").fetchall():
                rows = con.execute("SELECT product_id, name FROM products "
                                   "WHERE name IS NOT NULL").fetchall()
    else:
        with ws.reader(missing_ok=True) as con:
            if con is not None and "products" in con.list_tables():
                df = con.table("products").select("product_id", "name").execute()
                rows = list(zip(df["product_id"], df["name"], strict=True))
    return {str(p): str(n).strip() for p, n in rows if n is not None and str(n).strip()}


log = logging.getLogger(__name__)


class ProductNames(Mapping[str, str]):
    """Product id -> name as the warehouse has them now (for ``{product_name}``): read at
    start, and again when a DuckDB warehouse has changed since (a products load while the
    server runs), looked at no more than once every *every* seconds.

    What changed is told by :meth:`~outsidein.workspace.Workspace.warehouse_stamp` (a few
    ``stat`` calls, no query).  Another backend gives no such cheap sign: its names are
    read at start only (restart the server after loading products there).  A read that
    fails (the warehouse busy with a load) keeps the names read before and tries again at
    the next look.

    >>> names = ProductNames("/no/such/workspace")
    >>> names.get("P1") is None, len(names)
    (True, 0)
    """

    def __init__(self, root: str | Path, every: float = 30.0) -> None:
        self.every = every
        try:
            self._ws: Workspace | None = Workspace.open(Path(root))
        except WorkspaceNotFoundError:
            self._ws = None
        self._stamp = self._ws.warehouse_stamp() if self._ws is not None else None
        self._names = self._read() if self._ws is not None else {}
        self._looked = time.monotonic()

    def _read(self) -> dict[str, str]:
        assert self._ws is not None
        try:
            return product_names(self._ws)
        finally:
            self._ws.close()

    def _fresh(self) -> dict[str, str]:
        now = time.monotonic()
        if self._stamp is not None and now - self._looked >= self.every:
            assert self._ws is not None
            self._looked = now
            stamp = self._ws.warehouse_stamp()
            if stamp != self._stamp:
                try:
                    self._names = self._read()
                except Exception:  # a load holds the warehouse: keep the names, look again
                    log.warning("product names: the warehouse could not be read now; the "
                                "names read before are used", exc_info=True)
                else:
                    self._stamp = stamp
        return self._names

    def __getitem__(self, key: str) -> str:
        return self._fresh()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fresh())

    def __len__(self) -> int:
        return len(self._fresh())
