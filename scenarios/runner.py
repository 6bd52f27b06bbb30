"""Closed loop: the supervisor advises, the plant (simulator) takes the setpoints.

Each step: the simulator's state under the last applied setpoints and this step's disturbances
gives the snapshot (optionally with sensor noise); ``Supervisor.step`` proposes; the proposal is
applied for the next step. A failure in one step is recorded and the loop goes on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from optimizer.proposal import Proposal
from optimizer.supervisor import Supervisor
from scenarios.plant.apply import setpoints_from_proposal
from scenarios.plant.inputs import Disturbances, Setpoints
from scenarios.plant.practice import todays_practice
from scenarios.plant.simulator import PlantSimulator, PlantState
from scenarios.plant.snapshots import snapshot_from_state

log = logging.getLogger(__name__)


@dataclass
class LoopStep:
    snapshot: dict
    proposal: Proposal
    realised: PlantState


def run_closed_loop(supervisor: Supervisor, simulator: PlantSimulator, disturbances: list[Disturbances],
                    noise: float = 0.0, seed: int = 0, progress: bool = False) -> list[LoopStep]:
    """Run the supervisor against the plant over a profile; start from today's practice."""
    site = simulator.site
    rng = np.random.default_rng(seed)
    setpoints: Setpoints = todays_practice(site, disturbances[0])
    steps: list[LoopStep] = []
    for d in tqdm(disturbances, desc="closed loop", unit="step", disable=not progress):
        before = simulator.simulate(setpoints, d)
        snap = snapshot_from_state(site, before, d, noise=noise, rng=rng)
        proposal = supervisor.step(snap)
        if proposal.ok:
            setpoints = setpoints_from_proposal(site, proposal, setpoints)
        realised = simulator.simulate(setpoints, d)
        steps.append(LoopStep(snap, proposal, realised))
    return steps
