"""Checks shared by every YAML file of cited records (profiles, the 体检 catalogue, the plan's targets).

Each such file holds a list of mappings, one per record, with an ``id``, a ``citation`` and a ``verified`` flag.
The checks here are written once so that every file reports a bad record the same way: the message names the
file, the record and the field, and says what was expected.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import Any

from weihai_gis.errors import StandardsError

__all__ = [
    "citation_text",
    "iter_records",
    "read_records_file",
    "require_bool",
    "require_choice",
    "require_kinds",
]

CITATION_KEYS = ("document", "clause", "url")


def read_records_file(path: str | Path | None, packaged: str, what: str) -> tuple[dict[str, Any], str]:
    """Return (mapping, file name) of ``path``, or of the packaged ``packaged`` file when ``path`` is None.

    Parameters
    ----------
    path
        A user's edited copy (YAML), or None for the packaged file.
    packaged
        File name inside ``weihai_gis/standards``.
    what
        What the file is, for messages (e.g. ``"indicator catalogue"``).

    Raises
    ------
    StandardsError
        When the file is missing, not YAML, or not a mapping at the top level.
    """
    import yaml

    if path is None:
        from weihai_gis.standards import _read_yaml

        return _read_yaml(packaged), packaged
    p = Path(path)
    if not p.is_file():
        raise StandardsError(f"{what} {str(p)!r} does not exist.")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise StandardsError(f"{what} {str(p)!r} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise StandardsError(f"{what} {str(p)!r}: expected a mapping at the top level.")
    return data, p.name


def iter_records(
    data: dict[str, Any],
    key: str,
    file: str,
    label: str,
    required: Sequence[str],
    *,
    identifier: bool = True,
) -> Iterator[tuple[str, dict[str, Any], str]]:
    """Yield ``(id, record, where)`` for every record of the list ``data[key]``, each checked first.

    Parameters
    ----------
    data
        The file's top-level mapping.
    key
        The field holding the list (``"categories"``, ``"indicators"``, ``"targets"``).
    file
        File name, for messages.
    label
        What one record is (``"category"``), for messages: ``"<file>, <label> '<id>'"``.
    required
        Fields every record must have.
    identifier
        Require ids to be Python identifiers (letters, digits, _).

    Raises
    ------
    StandardsError
        When the list is missing or empty, or a record is not a mapping, lacks a required field, repeats an id
        or (with ``identifier``) has an id that is not an identifier.
    """
    raw = data.get(key)
    if not isinstance(raw, list) or not raw:
        raise StandardsError(f"{file}: field {key!r} must be a non-empty list.")
    seen: set[str] = set()
    for i, rec in enumerate(raw):
        rid = rec.get("id", f"#{i}") if isinstance(rec, dict) else f"#{i}"
        where = f"{file}, {label} {rid!r}"
        if not isinstance(rec, dict):
            raise StandardsError(f"{where}: expected a mapping.")
        for field in required:
            if field not in rec:
                raise StandardsError(f"{where}: missing field {field!r}.")
        if identifier and not str(rid).isidentifier():
            raise StandardsError(f"{where}, field 'id': must be an identifier (letters, digits, _).")
        if rid in seen:
            raise StandardsError(f"{where}: duplicate {label} id.")
        seen.add(rid)
        yield rid, rec, where


def require_bool(rec: dict[str, Any], field: str, where: str) -> bool:
    """Return ``rec[field]`` when it is true or false (StandardsError naming the field otherwise)."""
    value = rec.get(field)
    if not isinstance(value, bool):
        raise StandardsError(f"{where}, field {field!r}: expected true or false, got {value!r}.")
    return value


def require_choice(rec: dict[str, Any], field: str, allowed: Collection[Any], where: str) -> Any:
    """Return ``rec[field]`` when it is one of ``allowed`` (StandardsError listing them otherwise)."""
    value = rec.get(field)
    if value not in allowed:
        raise StandardsError(f"{where}, field {field!r}: {value!r}; expected one of {allowed}.")
    return value


def require_kinds(rec: dict[str, Any], vocabulary: Collection[str], where: str) -> tuple[str, ...]:
    """Return ``rec["kinds"]`` as a tuple when it is a non-empty list of known facility kinds."""
    kinds = rec.get("kinds")
    if not isinstance(kinds, list) or not kinds:
        raise StandardsError(f"{where}, field 'kinds': expected a non-empty list of facility kinds.")
    if unknown := sorted(set(kinds) - set(vocabulary)):
        raise StandardsError(
            f"{where}, field 'kinds': unknown facility kinds {unknown} (see facility-kinds.yaml)."
        )
    return tuple(kinds)


def citation_text(citation: Any, where: str) -> str:
    """Return ``"document, clause — url"`` from a citation mapping (StandardsError when a key is missing)."""
    if not isinstance(citation, dict) or any(k not in citation for k in CITATION_KEYS):
        raise StandardsError(
            f"{where}, field 'citation': expected a mapping with keys {list(CITATION_KEYS)}."
        )
    text = f"{citation['document']}, {citation['clause']}"
    return f"{text} — {citation['url']}" if citation["url"] else text
