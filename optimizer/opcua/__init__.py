"""The plant link: an OPC UA adapter around :class:`~optimizer.supervisor.Supervisor`.

* :mod:`optimizer.opcua.config` - the adapter's run-time configuration (TOML; security, mode,
  allow-list), validated with one clear line per problem;
* :mod:`optimizer.opcua.limits` - the closed-loop write guard (no start or stop unless enabled per
  setpoint, no write for a unit with a bad reading, equipment and move limits; re-checked
  independently of the optimiser);
* :mod:`optimizer.opcua.advisory` - what a Proposal publishes to the advisory nodes;
* :mod:`optimizer.opcua.connection` - the asyncua client with its security settings, value types,
  batched writes;
* :mod:`optimizer.opcua.report` - what one cycle did (:class:`~optimizer.opcua.report.CycleReport`);
* :mod:`optimizer.opcua.adapter` - :class:`PlantAdapter`: read, step, publish, guard, write, loop.
* :mod:`optimizer.opcua.commissioning`, :mod:`optimizer.opcua.plant_read`,
  :mod:`optimizer.opcua.plant_write` - the adapter's commissioning switch, its read of the
  snapshot and its writes (advisory, watchdog, guarded setpoints).

Needs the ``opcua`` extra (``pip install -e .[opcua]``: asyncua); the configuration and the write
guard import without it.
"""

from optimizer.opcua.config import (
    AdapterConfig,
    ConfigError,
    check_against_site,
    load_adapter_config,
)

__all__ = ["AdapterConfig", "ConfigError", "check_against_site", "load_adapter_config"]
