"""Deterministic sites of growing size, made from the reference site, for the benchmark suite.

A site of size ``n`` is the reference site as a multi-plant complex: ``n`` copies of every
boiler, gas turbine (with its HRSG), steam turbine (with its condensers), letdown, by-product
(TLE) source and process consumer, all on the same four headers (SHP/HP/MP/LP) and the same grid
connection. The first copy keeps the reference ids (``B1``), copy ``k >= 2`` gets the suffix
``_k`` (``B1_2``, ``CGC_COND_2``, ``TLE_2``). Shared components are scaled by ``n``: the
vents' capacities, the limited fuels' availability, the site electrical load, the import and
export limits and the contract minimum import. Today's practice is copied per unit.

The surrogates are copied the same way: every reference network keeps its weights, biases and
training domain; its input and output tags are renamed to the copy's ids (``B1.steam_tph`` ->
``B1_2.steam_tph``; site-wide tags such as ``ambient_temp_c`` are shared), it is written with
:func:`surrogate.onnx_io.save_network` and listed by :func:`surrogate.manifest.write_manifest`.

    S = reference (n=1), M = 3x, L = 10x, XL = 30x

Generated sites and models are cached under ``out/bench/sites/<size>-<hash>/`` (the hash covers
the reference site file, the reference models and this generator's version): never committed.

    from benchmarks.site_generator import generate
    site, model_dir = generate("M")
    sup = Supervisor(site, load_model_dir(model_dir))
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import tempfile
import tomllib
from pathlib import Path

from optimizer.site import site_from_dict
from optimizer.site.model import Site
from surrogate.manifest import load_model_dir, read_manifest, write_manifest
from surrogate.network import ReluNetwork, Variable
from surrogate.onnx_io import save_network

ROOT = Path(__file__).resolve().parents[1]
REFERENCE_SITE = ROOT / "scenarios" / "sites" / "reference_olefins.toml"
REFERENCE_MODELS = ROOT / "scenarios" / "models" / "reference_olefins"
CACHE = ROOT / "out" / "bench" / "sites"
SIZES: dict[str, int] = {"S": 1, "M": 3, "L": 10, "XL": 30}
GENERATOR_VERSION = "1"

#: collections copied per plant (component ids renamed)
COPIED = ("boilers", "gas_turbines", "turbines", "condensers", "letdowns", "byproduct_sources", "consumers")


def copy_id(uid: str, k: int) -> str:
    """The id of copy ``k`` (1-based) of component ``uid``: ``B1``, ``B1_2``, ``B1_3`` ..."""
    return uid if k == 1 else f"{uid}_{k}"


def rename_tag(tag: str, mapping: dict[str, str]) -> str:
    """``B1.steam_tph`` -> ``B1_2.steam_tph`` for a renamed unit; site-wide tags unchanged."""
    unit, dot, rest = tag.partition(".")
    return f"{mapping[unit]}{dot}{rest}" if dot and unit in mapping else tag


def site_dict(n: int, reference: dict | None = None) -> dict:
    """The site data (as parsed from TOML) of the ``n``-plant complex."""
    ref = reference if reference is not None else tomllib.loads(REFERENCE_SITE.read_text(encoding="utf-8"))
    if n < 1:
        raise ValueError(f"n = {n}: must be >= 1")
    if n == 1:
        return copy.deepcopy(ref)
    d = copy.deepcopy({k: v for k, v in ref.items() if k not in COPIED})
    d["name"] = f"{ref['name']}_x{n}"
    maps = [{uid: copy_id(uid, k) for coll in COPIED for uid in ref.get(coll, {})} for k in range(1, n + 1)]
    for coll in COPIED:
        out: dict = {}
        for k, mp in enumerate(maps, start=1):
            for uid, comp in ref.get(coll, {}).items():
                c = copy.deepcopy(comp)
                if coll == "turbines":  # condensing sections exhaust into the copy's own condenser
                    for sec in c.get("sections", []):
                        sec["outlet"] = mp.get(sec["outlet"], sec["outlet"])
                out[copy_id(uid, k)] = c
        d[coll] = out
    for vent in d.get("vents", {}).values():
        vent["max_flow_tph"] = vent["max_flow_tph"] * n
    for fuel in d.get("fuels", {}).values():
        if "max_gj_h" in fuel:
            fuel["max_gj_h"] = fuel["max_gj_h"] * n
    el = d.get("electricity")
    if el:
        for key in ("site_load_mw", "max_import_mw", "max_export_mw", "contract_min_import_mw"):
            if key in el:
                el[key] = el[key] * n
    pr = ref.get("practice", {})
    if pr:
        d["practice"] = {
            key: {copy_id(u, k): copy.deepcopy(v) for k in range(1, n + 1) for u, v in pr[key].items()}
            for key in ("duct_firing_tph", "turbine_power_mw", "extraction_tph") if key in pr
        }
        if "drivers_on_motor" in pr:
            d["practice"]["drivers_on_motor"] = [copy_id(u, k) for k in range(1, n + 1) for u in pr["drivers_on_motor"]]
    sur = ref.get("surrogates")
    if sur and sur.get("exclude"):
        d["surrogates"]["exclude"] = [copy_id(u, k) for k in range(1, n + 1) for u in sur["exclude"]]
    return d


def _renamed_network(net: ReluNetwork, mapping: dict[str, str]) -> ReluNetwork:
    ren = lambda vs: [Variable(rename_tag(v.name, mapping), v.unit, v.lower, v.upper) for v in vs]  # noqa: E731
    return ReluNetwork(weights=[w.copy() for w in net.weights], biases=[b.copy() for b in net.biases],
                       inputs=ren(net.inputs), outputs=ren(net.outputs), metadata=dict(net.metadata))


def write_models(n: int, directory: Path, reference_dir: Path = REFERENCE_MODELS, site_name: str | None = None) -> Path:
    """Write the ``n``-plant model directory: every reference surrogate once per copy, its tags
    renamed to the copy's ids. Returns ``directory``."""
    ref_site = tomllib.loads(REFERENCE_SITE.read_text(encoding="utf-8"))
    units = [uid for coll in COPIED for uid in ref_site.get(coll, {})]
    served = load_model_dir(reference_dir)
    directory.mkdir(parents=True, exist_ok=True)
    entries: dict[str, tuple[str, list[str], list[str]]] = {}
    for k in range(1, n + 1):
        mapping = {u: copy_id(u, k) for u in units}
        for name, model in served.items():
            net = _renamed_network(model.network, mapping)
            unit = model.output_names[0].partition(".")[0]
            new_name = name if k == 1 else name.replace(unit, mapping.get(unit, unit), 1) if name.startswith(unit) else f"{name}_{k}"
            file = f"{new_name}.onnx"
            save_network(net, directory / file, new_name)
            entries[new_name] = (file, net.input_names, net.output_names)
    write_manifest(directory, entries, site=site_name)
    return directory


def _fingerprint() -> str:
    h = hashlib.sha256(GENERATOR_VERSION.encode())
    h.update(REFERENCE_SITE.read_bytes())
    for e in sorted(read_manifest(REFERENCE_MODELS).models.values(), key=lambda e: e.name):
        h.update(f"{e.name}:{e.sha256}".encode())
    return h.hexdigest()[:12]


def generate(size: str | int, cache: Path | None = None) -> tuple[Site, Path]:
    """The validated site of ``size`` (``S``/``M``/``L``/``XL`` or a number of plants) and its
    model directory, generated once and cached (``cache``, default ``out/bench/sites``)."""
    n = SIZES[size] if isinstance(size, str) else int(size)
    if n == 1:
        return site_from_dict(site_dict(1), str(REFERENCE_SITE)), REFERENCE_MODELS
    cache = Path(cache) if cache is not None else CACHE
    target = cache / f"x{n}-{_fingerprint()}"
    site_file = target / "site.json"
    if not (site_file.is_file() and (target / "models" / "manifest.toml").is_file()):
        cache.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".x{n}-", dir=cache))
        try:
            data = site_dict(n)
            site_from_dict(data, f"generated x{n}")  # validate before caching
            (tmp / "site.json").write_text(json.dumps(data, indent=1), encoding="utf-8")
            write_models(n, tmp / "models", site_name=data["name"])
            if target.exists():
                shutil.rmtree(target)
            os.replace(tmp, target)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    data = json.loads(site_file.read_text(encoding="utf-8"))
    return site_from_dict(data, str(site_file)), target / "models"


def consumer_site_dict(n_consumers: int, reference: dict | None = None) -> dict:
    """The reference site with ``n_consumers`` process consumers (for the build-time benchmark).

    The flexible consumers are kept as they are; the fixed ones are replaced by
    ``n_consumers - flexible`` consumers ``C00001``, ``C00002`` ... spread round-robin over the
    headers the reference's fixed consumers draw from. Each header keeps its total nominal demand
    and returned condensate: a consumer on header ``H`` draws ``D_H / n_H`` at the header's
    demand-weighted return fraction ``R_H / D_H``. So the site's model has the same optimum as
    the reference when each header's readings are in the proportion of the nominal demands
    (:func:`consumer_snapshot`). The plant connection's read nodes of the removed consumers are
    dropped."""
    ref = reference if reference is not None else tomllib.loads(REFERENCE_SITE.read_text(encoding="utf-8"))
    d = copy.deepcopy(ref)
    cons = ref.get("consumers", {})
    flex = {c: v for c, v in cons.items() if v.get("flexible")}
    default_ret = ref.get("steam", {}).get("condensate_return_fraction", 0.0)
    demand: dict[str, float] = {}
    returned: dict[str, float] = {}
    for c, v in cons.items():
        if c not in flex:
            ret = v.get("condensate_return_fraction", default_ret)
            demand[v["header"]] = demand.get(v["header"], 0.0) + v["demand_tph"]
            returned[v["header"]] = returned.get(v["header"], 0.0) + ret * v["demand_tph"]
    headers = list(demand)
    n_fixed = n_consumers - len(flex)
    if n_fixed < len(headers):
        raise ValueError(f"n_consumers = {n_consumers}: must be >= {len(flex) + len(headers)} "
                         f"(the {len(flex)} flexible consumers and one per header of the fixed ones)")
    per_header = {h: len(range(i, n_fixed, len(headers))) for i, h in enumerate(headers)}
    out: dict = {}
    for i in range(n_fixed):
        h = headers[i % len(headers)]
        out[f"C{i + 1:05d}"] = {"header": h, "demand_tph": demand[h] / per_header[h],
                                "condensate_return_fraction": returned[h] / demand[h] if demand[h] > 0 else 0.0}
    out.update(copy.deepcopy(flex))
    d["consumers"] = out
    d["name"] = f"{ref['name']}_c{n_consumers}"
    pc = d.get("plant_connection")
    if pc and "read_nodes" in pc:
        gone = {f"{c}.steam_tph" for c in cons if c not in flex}
        pc["read_nodes"] = {t: node for t, node in pc["read_nodes"].items() if t not in gone}
    return d


def consumer_snapshot(snapshot: dict, reference: Site, site: Site) -> tuple[dict, dict]:
    """A reference snapshot made to fit a :func:`consumer_site_dict` site: (the reference
    snapshot with each header's fixed consumers reading in the proportion of their nominal
    demands, the generated site's snapshot with each header's total split evenly). The two
    have the same header totals and the same returned condensate, so the same optimum."""
    ref_snap, new_snap = dict(snapshot), {k: v for k, v in snapshot.items() if not _is_fixed_consumer(k, reference)}
    for h in {c.header for c in reference.consumers.values() if not c.flexible}:
        on_h = [c for c in reference.consumers.values() if c.header == h and not c.flexible]
        total = sum(float(snapshot.get(f"{c.id}.steam_tph", c.demand_tph)) for c in on_h)
        nominal = sum(c.demand_tph for c in on_h)
        for c in on_h:
            ref_snap[f"{c.id}.steam_tph"] = c.demand_tph * total / nominal
        new_on_h = [c for c in site.consumers.values() if c.header == h and not c.flexible]
        for c in new_on_h:
            new_snap[f"{c.id}.steam_tph"] = total / len(new_on_h)
    return ref_snap, new_snap


def _is_fixed_consumer(tag: str, site: Site) -> bool:
    unit, _, rest = tag.partition(".")
    return rest == "steam_tph" and unit in site.consumers and not site.consumers[unit].flexible


def unit_count(site: Site) -> int:
    """Units of a site for the growth exponent: boilers, GTs, steam turbines, letdowns, consumers."""
    return len(site.boilers) + len(site.gas_turbines) + len(site.turbines) + len(site.letdowns) + len(site.consumers)


if __name__ == "__main__":  # python -m benchmarks.site_generator [SIZE ...]
    import sys

    for s in sys.argv[1:] or list(SIZES):
        site, d = generate(s)
        print(f"{s}: {site.name}: {unit_count(site)} units, {len(site.boilers)} boilers, models in {d}")
