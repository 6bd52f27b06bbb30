"""Cross-component rules of a site's site-wide sections: electricity and its tariff, today's
practice, the time zone, surrogates, the fuel system (:mod:`optimizer.site.fuel_rules`), the N-1
cover, and the tags and OPC UA nodes of measurements and the plant connection.

Part of :class:`optimizer.site.loader.SiteRules`; each ``_check_*`` adds issues, none raises.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from optimizer.site.rule_base import RuleContext

# an OPC UA node id in its string form (OPC UA part 6, 5.3.1.10)
_NODE_ID = re.compile(r"(?:ns=\d+;|nsu=[^;]+;)?(?:i=\d+|s=.+|g=[0-9A-Fa-f-]{36}|b=[A-Za-z0-9+/=]+)")


class SiteWideRules(RuleContext):
    """The site-wide sections' rules (see the module docstring)."""

    def _check_electricity(self) -> None:
        e = self.site.electricity
        if e is None:
            if self.site.gas_turbines or any(t.drive == "generator" or t.motor for t in self.site.turbines.values()):
                self.b.error("electricity", None, "required: the site generates or uses power (gas turbines, generators or motors)")
            return
        self._limits("electricity", e.contract_min_import_mw, e.max_import_mw, "contract_min_import_mw", "max_import_mw")
        for i, p in enumerate(e.tariff):
            if p.end_hour <= p.start_hour:
                self.b.error(f"electricity.tariff[{i}].end_hour", p.end_hour, f"must be after start_hour = {p.start_hour}")

    def _check_practice(self) -> None:
        pr, site = self.site.practice, self.site
        for gt in pr.duct_firing_tph:
            if self._ref(f"practice.duct_firing_tph.{gt}", gt, "gas_turbines"):
                hrsg = site.gas_turbines[gt].hrsg
                cap = hrsg.duct_max_steam_tph if hrsg else 0.0
                if pr.duct_firing_tph[gt] > cap:
                    self.b.error(f"practice.duct_firing_tph.{gt}", pr.duct_firing_tph[gt], f"must not exceed the duct burner's {cap:g} t/h")
        for tid, p in pr.turbine_power_mw.items():
            if self._ref(f"practice.turbine_power_mw.{tid}", tid, "turbines"):
                t = site.turbines[tid]
                if t.drive != "generator":
                    self.b.error(f"practice.turbine_power_mw.{tid}", p, "only generator turbines take a power setpoint (machine power is set by the process)")
                elif t.max_power_mw is not None and not t.min_power_mw <= p <= t.max_power_mw:
                    self.b.error(f"practice.turbine_power_mw.{tid}", p, f"must lie in [{t.min_power_mw:g}, {t.max_power_mw:g}] MW")
        for tid, flows in pr.extraction_tph.items():
            if self._ref(f"practice.extraction_tph.{tid}", tid, "turbines"):
                n = len(site.turbines[tid].sections) - 1
                if len(flows) != n:
                    self.b.error(f"practice.extraction_tph.{tid}", flows, f"needs {n} value(s), one per extraction of a {n + 1}-section turbine")
        for i, tid in enumerate(pr.drivers_on_motor):
            if self._ref(f"practice.drivers_on_motor[{i}]", tid, "turbines") and site.turbines[tid].motor is None:
                self.b.error(f"practice.drivers_on_motor[{i}]", tid, "this drive has no motor alternative")

    def _check_timezone(self) -> None:
        zone = self.site.timezone
        if zone:
            try:
                ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError):
                self.b.error("timezone", zone, "must be an IANA time zone name (e.g. Asia/Bangkok)")

    def _check_surrogates(self) -> None:
        site = self.site
        units = {**site.boilers, **site.gas_turbines, **site.turbines}
        for i, uid in enumerate(site.surrogates.exclude):
            if uid not in units:
                self.b.error(f"surrogates.exclude[{i}]", uid, f"unknown unit (known: {', '.join(units)})")

    def _check_fuel_system(self) -> None:
        from optimizer.site.fuel_rules import check_fuel_system  # the fuel system's rules, in their own module

        check_fuel_system(self)

    def _check_n1_cover(self) -> None:
        from optimizer.n1_cover import cover_plan, default_sources, source_header  # the cover builds on the site model

        site, cov = self.site, self.site.n1_cover
        bad = False
        for i, sid in enumerate(cov.sources):
            path = f"n1_cover.sources[{i}]"
            if not self._ref(path, sid, "boilers|gas_turbines|byproduct_sources"):
                bad = True
            elif source_header(site, sid) is None:
                self.b.error(path, sid, "a gas turbine without an HRSG raises no steam: it is not a steam source to cover")
                bad = True
            if sid in cov.sources[:i]:
                self.b.error(path, sid, "must not repeat a source")
                bad = True
        for oid, opt in cov.options.items():
            if not self._ref(f"n1_cover.options.{oid}.header", opt.header, "headers"):
                bad = True
        if not cov.enabled or bad or self.b.issues:
            return
        if not cov.sources and not default_sources(site):
            self.b.error("n1_cover.sources", [], "names no source and the site has no boiler or gas turbine with an HRSG: nothing to cover")
            return
        # a by-product source always raises at least its minimum: a cover that can never reach that is a data error
        plan = cover_plan(site)
        for i, sid in enumerate(cov.sources):
            if plan.sources[sid] != "byproduct":
                continue
            best = sum(min(plan.reserve_max_tph[j], site.boilers[j].max_steam_tph - site.boilers[j].min_steam_tph)
                       for j in plan.reserves[sid]) + plan.options_tph[sid]
            need = site.byproduct_sources[sid].min_steam_tph
            if need > best:
                self.b.error(f"n1_cover.sources[{i}]", sid,
                             f"its loss (at least min_steam_tph = {need:g} t/h) exceeds the most the cover can reach within "
                             f"cover_time_min = {cov.cover_time_min:g} min: {best:.4g} t/h (every boiler that can reach its header "
                             f"running at its minimum, plus the options)")

    def _tags_measurements(self) -> None:
        from optimizer.snapshot import tag_rules  # the snapshot module builds on the site model

        known = tag_rules(self.site)
        for tag in self.site.measurements.sigma_rel:
            if tag not in known or not tag.endswith("_tph"):
                self.b.error(f"measurements.sigma_rel.{tag}", tag, "must be a flow tag (…_tph) of this site's snapshots")

    def _tags_plant_connection(self) -> None:
        from optimizer.snapshot import setpoint_names, tag_rules

        pc = self.site.plant_connection
        known, setpoints = tag_rules(self.site), set(setpoint_names(self.site))
        for tag, node in pc.read_nodes.items():
            if tag not in known:
                self.b.error(f"plant_connection.read_nodes.{tag}", tag, "not a snapshot tag of this site (see `steamopt site attributes`)")
            self._node(f"plant_connection.read_nodes.{tag}", node)
        for key, node in pc.advisory_nodes.items():
            self._node(f"plant_connection.advisory_nodes.{key}", node)
        for tag, node in pc.control_nodes.items():
            if tag not in setpoints:
                self.b.error(f"plant_connection.control_nodes.{tag}", tag, f"not a setpoint of this site (one of: {', '.join(sorted(setpoints))})")
            self._node(f"plant_connection.control_nodes.{tag}", node)
        for path, node in (("plant_connection.timestamp_node", pc.timestamp_node), ("plant_connection.watchdog_node", pc.watchdog_node)):
            if node:
                self._node(path, node)
        written = list(pc.advisory_nodes.values()) + list(pc.control_nodes.values()) + [pc.watchdog_node] * bool(pc.watchdog_node)
        read = set(pc.read_nodes.values())
        for node in sorted({n for n in written if written.count(n) > 1 or n in read}):
            self.b.error("plant_connection", node, "a node is written by one item only and never both read and written")

    def _node(self, path: str, node: str) -> None:
        if not _NODE_ID.fullmatch(node):
            self.b.error(path, node, "must be an OPC UA node id: [ns=<index>;|nsu=<uri>;](i=<number>|s=<name>|g=<guid>|b=<base64>)")

