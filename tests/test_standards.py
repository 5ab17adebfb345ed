"""Standards as data: profiles load, verified flags follow the evidence, validation names the problem."""

from __future__ import annotations

import pytest

from weihai_gis import standards
from weihai_gis.errors import StandardsError
from weihai_gis.standards import list_profiles, load_profile, profile_for_town_type

# values quoted with ✅ in standards-evidence.md (and only these) may be verified: true
VERIFIED_ALLOWED = {
    ("gb50180-2018", "park_10"),
    ("mofcom-15min", "restaurant"),
    ("mofcom-15min", "parcel"),
    ("mofcom-15min", "housekeeping"),
    ("mofcom-15min", "culture"),
    ("mofcom-15min", "fitness"),
    ("mofcom-15min", "elderly_care"),
}


def test_all_five_profiles_are_packaged():
    assert set(list_profiles()) == {
        "gb50180-2018",
        "tdt1062-2021-urban",
        "tdt1062-2021-rural",
        "complete-community",
        "mofcom-15min",
    }


@pytest.mark.parametrize("name", list_profiles())
def test_profile_categories_have_citations_types_and_only_evidenced_verified_flags(name):
    cats = load_profile(name).categories
    assert cats["id"].is_unique
    assert set(cats["type"]) <= {"基础保障", "品质提升"}
    assert (cats["citation"].str.len() > 10).all()
    assert (cats["max_walk_m"] > 0).all()
    verified = {(name, c) for c in cats.loc[cats["verified"], "id"]}
    assert verified <= VERIFIED_ALLOWED


def test_minute_limits_convert_with_the_walker_speed():
    cfg = standards.coverage_config()["walking_speed_m_per_min"]
    adult = load_profile("mofcom-15min").categories.set_index("id")
    elderly = load_profile("mofcom-15min", walker="elderly").categories.set_index("id")
    assert adult.loc["convenience", "max_walk_m"] == pytest.approx(5 * cfg["adult"], abs=0.05)
    assert elderly.loc["convenience", "max_walk_m"] == pytest.approx(5 * cfg["elderly"], abs=0.05)
    # distance-first profiles do not change with speed
    gb = load_profile("gb50180-2018", walker="elderly").categories.set_index("id")
    assert gb.loc["primary_school", "max_walk_m"] == 500


def test_town_types_map_to_urban_or_rural_profiles():
    assert profile_for_town_type("城郊融合型") == "tdt1062-2021-urban"
    assert profile_for_town_type("生态农业型") == "tdt1062-2021-rural"
    assert profile_for_town_type("文旅康养型") == "tdt1062-2021-rural"
    with pytest.raises(StandardsError, match="城郊型"):
        profile_for_town_type("城郊型")


def test_unknown_profile_and_walker_are_named():
    with pytest.raises(StandardsError, match="gb50180-2019"):
        load_profile("gb50180-2019")
    with pytest.raises(StandardsError, match="runner"):
        load_profile("gb50180-2018", walker="runner")


def test_invalid_category_field_is_named_with_file_and_category(monkeypatch):
    real = standards._read_yaml

    def broken(filename):
        data = real(filename)
        if filename == "profile-gb50180-2018.yaml":
            data["categories"][1] = {**data["categories"][1], "type": "必配"}
        return data

    monkeypatch.setattr(standards, "_read_yaml", broken)
    with pytest.raises(
        StandardsError, match=r"profile-gb50180-2018.yaml, category 'primary_school', field 'type'"
    ):
        load_profile("gb50180-2018")


def test_walkable_yaml_keeps_no_as_a_string():
    rules = standards.walkable_rules()
    assert "no" in rules["foot_forbidden"] and "motorway" in rules["barrier_highway"]


def test_a_caller_changing_a_cached_configuration_does_not_change_later_runs():
    from weihai_gis.sightlines.zones import load_controls
    from weihai_gis.standards import building_population, coverage_config, facility_kinds, walkable_rules

    snap = coverage_config()["snapping"]["max_snap_m"]
    coverage_config()["snapping"]["max_snap_m"] = snap * 1000  # nested change
    assert coverage_config()["snapping"]["max_snap_m"] == snap
    facility_kinds()["kinds"].clear()
    assert facility_kinds()["kinds"]
    walkable_rules()["walkable_highway"].append("motorway")
    assert "motorway" not in walkable_rules()["walkable_highway"]
    building_population()["default_floors"].clear()
    assert building_population()["default_floors"]
    seaward = load_controls()["coastal"]["seaward_m"]["value"]
    load_controls()["coastal"]["seaward_m"]["value"] = 1
    assert load_controls()["coastal"]["seaward_m"]["value"] == seaward


def _first_record_broken(tmp_path, packaged: str, key: str, change) -> str:
    import yaml

    from weihai_gis.standards import _read_yaml

    data = _read_yaml(packaged)
    change(data[key])
    path = tmp_path / packaged
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("packaged", "key", "label", "load"),
    [
        ("tijian-indicators.yaml", "indicators", "indicator", "weihai_gis.tijian.catalogue:load_catalogue"),
        ("plan-targets-2025-2027.yaml", "targets", "target", "weihai_gis.tijian.targets:load_targets"),
    ],
)
@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda recs: recs[0].pop("verified"), "missing field 'verified'"),
        (lambda recs: recs[0].update(verified="yes"), "field 'verified': expected true or false, got 'yes'"),
        (lambda recs: recs.append(dict(recs[0])), "duplicate {label} id"),
        (lambda recs: recs.insert(0, "text"), "{label} '#0': expected a mapping"),
    ],
)
def test_every_record_file_reports_a_bad_record_the_same_way(
    tmp_path, packaged, key, label, load, change, message
):
    # one set of record checks (standards/records.py) serves profiles, the 体检 catalogue and the plan targets
    from importlib import import_module

    module, func = load.split(":")
    path = _first_record_broken(tmp_path, packaged, key, change)
    with pytest.raises(StandardsError) as err:
        getattr(import_module(module), func)(path)
    text = str(err.value)
    assert text.startswith(f"{packaged}, {label} ") and message.format(label=label) in text, text


def test_record_checks_name_the_file_record_and_field():
    from weihai_gis.standards.records import iter_records, require_choice, require_kinds

    data = {"items": [{"id": "a", "kinds": ["clinic"], "tier": "x"}, {"id": "b-c", "kinds": []}]}
    records = iter_records(data, "items", "f.yaml", "item", ("id", "kinds"))
    rid, rec, where = next(records)
    assert (rid, where) == ("a", "f.yaml, item 'a'")
    assert require_kinds(rec, {"clinic"}, where) == ("clinic",)
    with pytest.raises(
        StandardsError, match=r"f.yaml, item 'a', field 'kinds': unknown facility kinds \['clinic'\]"
    ):
        require_kinds(rec, {"school"}, where)
    with pytest.raises(StandardsError, match=r"field 'tier': 'x'; expected one of \('y',\)"):
        require_choice(rec, "tier", ("y",), where)
    with pytest.raises(StandardsError, match=r"f.yaml, item 'b-c', field 'id': must be an identifier"):
        next(records)
    with pytest.raises(StandardsError, match=r"f\.yaml: field .none. must be a non-empty list"):
        next(iter_records(data, "none", "f.yaml", "item", ()))
