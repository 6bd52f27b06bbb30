"""Simulator and profile timings (pytest-benchmark). Run: make bench-quick.

Figures reported: one steady-state step, a 24 h / 15 min run (the `steamopt simulate` target is
under 30 s), and a 90-day training profile.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from optimizer.site import compute_properties, load_site
from scenarios.plant.historian import run_policy
from scenarios.plant.inputs import Disturbances
from scenarios.plant.practice import todays_practice
from scenarios.plant.profiles import ProfileConfig, generate_disturbances
from scenarios.plant.simulator import PlantSimulator

SITE_FILE = Path(__file__).resolve().parents[1] / "scenarios" / "sites" / "reference_olefins.toml"


def test_site_load_and_properties(benchmark):
    benchmark(lambda: compute_properties(load_site(SITE_FILE)))


def test_simulate_one_step(benchmark):
    site = load_site(SITE_FILE)
    sim = PlantSimulator(site)
    d = Disturbances(timestamp=pd.Timestamp("2026-03-02 10:00"), ambient_temp_c=31.0)
    sp = todays_practice(site, d)
    benchmark(sim.simulate, sp, d)


def test_simulate_24h_practice(benchmark):
    site = load_site(SITE_FILE)
    sim = PlantSimulator(site)
    profile = generate_disturbances(site, ProfileConfig(hours=24, step_min=15, seed=1))
    benchmark.pedantic(run_policy, args=(sim, todays_practice, profile), rounds=5, iterations=1)


def test_profile_90_days(benchmark):
    site = load_site(SITE_FILE)
    benchmark.pedantic(generate_disturbances, args=(site, ProfileConfig(hours=90 * 24, step_min=15, seed=1)), rounds=3, iterations=1)
