"""Declared schema of every layer in the Weihai dataset (one declaration per layer).

A schema states the fields (type, allowed values, nullability), the allowed geometry types, how many rows
the plan (《威海市精致城市建设新三年行动方案(2025-2027年)》) expects, and which gaps are to be reported
rather than treated as errors. The validator (:mod:`weihai_gis.layers.validate`) checks layers against
these declarations; nothing else in the package hard-codes a layer's columns.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "FIELD_TYPES",
    "SCHEMAS",
    "STATUS_VALUES",
    "TOWN_TYPES",
    "FieldSpec",
    "LayerSchema",
    "PlanCount",
]

STATUS_VALUES = ("official", "approximate", "indicative", "candidate", "parameter")
"""How authoritative a feature's geometry is (column ``status`` of every layer)."""

TOWN_TYPES = ("城郊融合型", "区域支撑型", "工业引领型", "文旅康养型", "生态农业型", "unassigned", "n/a")
"""Plan §9 town types; ``unassigned`` = a town the plan does not name, ``n/a`` = a 街道 (not a 镇)."""

FIELD_TYPES = ("str", "float", "bool", "int")
"""Logical field types a schema may declare."""


@dataclass(frozen=True)
class FieldSpec:
    """One attribute field of a layer.

    Attributes
    ----------
    name
        Column name.
    dtype
        Logical type: ``"str"``, ``"float"``, ``"bool"`` or ``"int"``.
    allowed
        The permitted values, or None for any value of the type.
    nullable
        Whether missing values are allowed.
    required
        Whether the column must exist (optional columns are checked only when present).
    pattern
        Regular expression every non-null value must match (e.g. a 12-digit code), or None.
    """

    name: str
    dtype: str = "str"
    allowed: tuple[object, ...] | None = None
    nullable: bool = False
    required: bool = True
    pattern: str | None = None


@dataclass(frozen=True)
class PlanCount:
    """A number of rows with ``field == value`` that the plan states.

    More rows than the plan states is an error; fewer is a *gap* (reported honestly, not an error) because
    the plan often gives a count without naming every member.
    """

    field: str
    value: object
    expected: int
    note: str


@dataclass(frozen=True)
class LayerSchema:
    """Declaration of one layer.

    Attributes
    ----------
    name
        Layer name in the GeoPackage.
    title_zh
        Chinese title for tables.
    title_en
        English title (maps and legends show ``"中文 / English"``).
    geometry_types
        Allowed shapely geometry type names.
    fields
        Declared fields; ``id`` is always unique.
    expected_count
        Rows the plan or the official source expects, or None when no number is stated.
    count_note
        Where ``expected_count`` comes from.
    authored
        True for layers authored from the plan text (indicative or candidate geometry): fewer rows than
        expected is a gap; False for official layers, where any difference is an error.
    null_geometry_when
        ``(field, value)``: rows with this value must have a null geometry and only they may; None means
        every row needs a geometry.
    counts_by
        ``(field, {value: expected})``: official row counts per category (e.g. 48 towns, 24 streets).
    plan_counts
        Per-category plan counts reported as gaps when fewer.
    plan_names
        Names (``name_zh``) the plan gives for members of this layer; absent ones are reported as a gap.
    map_title_zh
        Shorter Chinese title for the map layer control and legend; empty means ``title_zh``.
    """

    name: str
    title_zh: str
    title_en: str
    geometry_types: tuple[str, ...]
    fields: tuple[FieldSpec, ...]
    expected_count: int | None = None
    count_note: str = ""
    authored: bool = False
    null_geometry_when: tuple[str, object] | None = None
    counts_by: tuple[str, dict[object, int]] | None = None
    plan_counts: tuple[PlanCount, ...] = ()
    plan_names: tuple[str, ...] = ()
    map_title_zh: str = ""

    def field(self, name: str) -> FieldSpec | None:
        """Return the declared field called ``name`` (None when not declared)."""
        return next((f for f in self.fields if f.name == name), None)

    @property
    def map_title(self) -> str:
        """Bilingual title of the layer on maps and legends, e.g. ``"区市 / counties"``."""
        return f"{self.map_title_zh or self.title_zh} / {self.title_en}"

    @property
    def geometry_label(self) -> str:
        """The allowed geometry types joined with ``/`` (for tables)."""
        return "/".join(self.geometry_types)


_POLY = ("Polygon", "MultiPolygon")
_LINE = ("LineString", "MultiLineString")


def _common(*extra: FieldSpec, id_pattern: str | None = None) -> tuple[FieldSpec, ...]:
    """``id``, ``name_zh`` + ``extra`` + ``status``, ``basis`` (the columns every layer has)."""
    return (
        FieldSpec("id", pattern=id_pattern),
        FieldSpec("name_zh"),
        *extra,
        FieldSpec("status", allowed=STATUS_VALUES),
        FieldSpec("basis"),
    )


_NAME_EN = FieldSpec("name_en", nullable=True)
_COUNTY_CODES = ("371002", "371003", "371082", "371083")
_ADMIN_CODES = (*_COUNTY_CODES, "371071", "371072", "371073")
_PLAN = "《威海市精致城市建设新三年行动方案(2025-2027年)》"

_schemas = (
    LayerSchema(
        "city_boundary",
        "威海市界",
        "city boundary",
        _POLY,
        _common(_NAME_EN),
        expected_count=1,
        count_note="one city outline (official land area 5,797.74 km²)",
        map_title_zh="市界",
    ),
    LayerSchema(
        "counties",
        "区市",
        "counties",
        _POLY,
        _common(_NAME_EN, id_pattern=r"^\d{6}$"),
        expected_count=4,
        count_note="环翠区, 文登区, 荣成市, 乳山市 (statistics-bureau codes)",
    ),
    LayerSchema(
        "towns",
        "镇/街道驻地",
        "town & street seats",
        ("Point",),
        _common(
            _NAME_EN,
            FieldSpec("kind", allowed=("town", "street")),
            FieldSpec("admin_code", allowed=_ADMIN_CODES),
            FieldSpec("admin_zh"),
            FieldSpec("town_type", allowed=TOWN_TYPES),
            FieldSpec("provincial_pilot", "bool"),
            FieldSpec("urban_integration", "bool"),
            FieldSpec("location_status", allowed=("geonames", "missing", "surveyed")),
            FieldSpec("geonames_id", nullable=True, required=False),
            id_pattern=r"^\d{12}$",
        ),
        expected_count=72,
        count_note=f"{_PLAN} §9: 48个建制镇; statistics bureau: 48 镇 + 24 街道",
        null_geometry_when=("location_status", "missing"),
        counts_by=("kind", {"town": 48, "street": 24}),
        plan_counts=(
            PlanCount("town_type", "城郊融合型", 10, "§9 names 张村镇、羊亭镇、温泉镇 '等10个镇'"),
            PlanCount("town_type", "区域支撑型", 8, "§9 names 大水泊镇、泽库镇、宋村镇 '等8个镇'"),
            PlanCount("town_type", "工业引领型", 3, "§9 names all 3: 蔄山(苘山)镇、人和镇、下初镇"),
            PlanCount("town_type", "文旅康养型", 8, "§9 names 海阳所镇、乳山寨镇、界石镇 '等8个镇'"),
            PlanCount("provincial_pilot", True, 5, "§2 '实施5个山东省小城镇创新提升行动试点镇' names none"),
            PlanCount("urban_integration", True, 4, "§9 names 张村、羊亭、初村、草庙子"),
        ),
        map_title_zh="镇街驻地",
    ),
    LayerSchema(
        "town_areas",
        "镇街范围(近似)",
        "town areas (approx.)",
        _POLY,
        _common(FieldSpec("kind", allowed=("town", "street")), id_pattern=r"^\d{12}$"),
        count_note="one cell per located town seat (Voronoi, approximate until the bureau's file is loaded)",
    ),
    LayerSchema(
        "renewal_districts",
        "重点片区",
        "renewal districts",
        _POLY,
        _common(
            _NAME_EN,
            FieldSpec("group", allowed=("一带", "五心", "两镇")),
            FieldSpec("axis", allowed=("都市山海漫游带", "中央都市服务轴", "精致新城")),
            FieldSpec("admin_zh", nullable=True),
            FieldSpec("location_status", allowed=("located", "missing"), required=False),
            id_pattern=r"^RD\d{2}$",
        ),
        expected_count=10,
        null_geometry_when=("location_status", "missing"),
        count_note=f"{_PLAN} §3: 完成10个重点片区更新 (一带塑造、五心强化、两镇提升)",
        authored=True,
        plan_names=(
            "小石岛及西海岸",
            "东山",
            "远遥科技湾",
            "卫城—金线顶",
            "威海公园—会展中心",
            "西苑—皇冠",
            "山大哈工大",
            "文登城区中心",
            "羊亭工业园—嵩山珠海路南",
            "张村沈阳路沿线",
        ),
        map_title_zh="城市更新片区",
    ),
    LayerSchema(
        "feature_streets",
        "特色街区",
        "feature streets",
        (*_LINE, *_POLY),
        _common(_NAME_EN, id_pattern=r"^FS\d{2}$"),
        expected_count=8,
        count_note=f"{_PLAN} §3: 打造8处特色街区 (the plan does not list them)",
        authored=True,
    ),
    LayerSchema(
        "bays",
        "海湾综合提升",
        "bays",
        (*_POLY, *_LINE, "Point"),
        _common(_NAME_EN, FieldSpec("works_zh", nullable=True), id_pattern=r"^BAY\d{2}$"),
        expected_count=20,
        count_note=f"{_PLAN} §5: 中心城区20个海湾综合提升工程 (names only two works)",
        authored=True,
        plan_names=("金线顶", "幸福门—悦海公园"),
        map_title_zh="海湾",
    ),
    LayerSchema(
        "coastline",
        "海岸线",
        "coastline",
        _LINE,
        _common(),
        count_note="GSHHG shoreline clipped to Weihai",
    ),
    LayerSchema(
        "coastal_zones",
        "海岸带管控分区",
        "coastal control zones",
        _POLY,
        (
            FieldSpec("id"),
            FieldSpec("zone", allowed=("core_setback", "general_control", "seaward")),
            FieldSpec("name_zh"),
            FieldSpec("inner_m", "float"),
            FieldSpec("outer_m", "float"),
            FieldSpec("status", allowed=STATUS_VALUES),
            FieldSpec("rule_ref"),
            FieldSpec("basis"),
        ),
        count_note="derived from the coastline by weihai_gis.sightlines.coastal_zones (distances are parameters)",
        authored=True,
    ),
    LayerSchema(
        "ridgelines",
        "山脊线",
        "ridgelines",
        _LINE,
        _common(),
        count_note=f"{_PLAN} §5 '山脊线' (no ridge is named)",
        authored=True,
    ),
    LayerSchema(
        "hsr_corridor",
        "高铁沿线",
        "HSR corridor",
        _LINE,
        _common(),
        count_note=f"{_PLAN} §5 '高铁沿线' (the line is not drawn in the plan)",
        authored=True,
        map_title_zh="高铁廊道",
    ),
    LayerSchema(
        "view_corridors",
        "通山达海视觉廊道",
        "view corridors",
        ("LineString",),
        _common(
            FieldSpec("from_zh"),
            FieldSpec("to_zh"),
            FieldSpec("width_m", "float"),
        ),
        count_note=f"{_PLAN} §5 '通山达海视觉廊道' (none is named)",
        authored=True,
        map_title_zh="视线通廊",
    ),
    LayerSchema(
        "viewpoints",
        "观景点",
        "viewpoints",
        ("Point",),
        _common(FieldSpec("observer_height_m", "float")),
        count_note=f"{_PLAN} names no viewpoint",
        authored=True,
    ),
)

SCHEMAS: dict[str, LayerSchema] = {s.name: s for s in _schemas}
"""Every layer of the dataset, in display order."""
