"""An asyncua client set up from an :class:`~optimizer.opcua.config.AdapterConfig`: security
policy, certificates and credentials; and the conversion of values to the written nodes' types."""

from __future__ import annotations

import logging
import math
from typing import Any

from asyncua import Client, ua
from asyncua.crypto import security_policies

from optimizer.opcua.advisory import STATUS_CODES
from optimizer.opcua.config import AdapterConfig

log = logging.getLogger(__name__)

_INT_TYPES = {ua.VariantType.SByte: (-2**7, 2**7 - 1), ua.VariantType.Byte: (0, 2**8 - 1),
              ua.VariantType.Int16: (-2**15, 2**15 - 1), ua.VariantType.UInt16: (0, 2**16 - 1),
              ua.VariantType.Int32: (-2**31, 2**31 - 1), ua.VariantType.UInt32: (0, 2**32 - 1),
              ua.VariantType.Int64: (-2**63, 2**63 - 1), ua.VariantType.UInt64: (0, 2**64 - 1)}
_FLOAT_TYPES = (ua.VariantType.Double, ua.VariantType.Float)
# abstract data types (Number, Integer, UInteger, BaseDataType): written as Double / Int64 / UInt32
_ABSTRACT = {26: ua.VariantType.Double, 27: ua.VariantType.Int64, 28: ua.VariantType.UInt32, 24: ua.VariantType.Double}


async def make_client(config: AdapterConfig) -> Client:
    """A client for ``config.endpoint`` with its security policy, certificates and credentials
    (not connected yet). Raises :class:`~optimizer.opcua.config.ConfigError` when a named
    environment variable is missing."""
    client = Client(config.endpoint, timeout=config.timeout_s)
    client.application_uri = config.application_uri
    client.name = client.description = "steamopt"
    if config.username:
        client.set_user(config.username)
        client.set_password(config.password())
    if config.security_policy != "None":
        name, mode = config.security_policy.split("_", 1)
        policy = getattr(security_policies, f"SecurityPolicy{name}")
        await client.set_security(policy, str(config.certificate), str(config.private_key),
                                  private_key_password=config.private_key_password(),
                                  server_certificate=str(config.server_certificate),
                                  mode=getattr(ua.MessageSecurityMode, mode))
    return client


def variant_type(data_type: object) -> ua.VariantType | None:
    """The variant type to write to a node whose DataType attribute is ``data_type`` (a NodeId of
    namespace 0); None when it is not a built-in scalar type."""
    if not isinstance(data_type, ua.NodeId) or data_type.NamespaceIndex != 0 or not isinstance(data_type.Identifier, int):
        return None
    ident = data_type.Identifier
    if ident in _ABSTRACT:
        return _ABSTRACT[ident]
    try:
        return ua.VariantType(ident)
    except ValueError:
        return None


def to_variant(value: float | str | None, vtype: ua.VariantType | None) -> ua.Variant:
    """``value`` as a variant of the node's type. Raises ValueError with the reason when it
    cannot be represented (e.g. NaN on an integer node). ``None`` becomes NaN on float nodes."""
    if vtype is None:
        vtype = ua.VariantType.String if isinstance(value, str) else ua.VariantType.Double
    if vtype == ua.VariantType.String:
        return ua.Variant("" if value is None else str(value), vtype)
    if isinstance(value, str):  # a status on a numeric node: its code
        if value not in STATUS_CODES:
            raise ValueError(f"{value!r} cannot be written to a {vtype.name} node")
        value = STATUS_CODES[value]
    if vtype in _FLOAT_TYPES:
        return ua.Variant(math.nan if value is None else float(value), vtype)
    if value is None or not math.isfinite(float(value)):
        raise ValueError(f"no value ({value!r}) cannot be written to a {vtype.name} node")
    if vtype == ua.VariantType.Boolean:
        return ua.Variant(float(value) >= 0.5, vtype)
    if vtype in _INT_TYPES:
        lo, hi = _INT_TYPES[vtype]
        i = int(round(float(value)))
        if not lo <= i <= hi:
            raise ValueError(f"{i} is outside the range of a {vtype.name} node [{lo}, {hi}]")
        return ua.Variant(i, vtype)
    raise ValueError(f"a number cannot be written to a {vtype.name} node")


def next_heartbeat(value: Any, vtype: ua.VariantType | None) -> int:
    """The watchdog counter after ``value``: +1, wrapping to 0 at the node type's maximum."""
    try:
        n = int(value) + 1
    except (TypeError, ValueError):
        n = 1
    hi = 2**53 if vtype in _FLOAT_TYPES else _INT_TYPES.get(vtype, (0, 2**31 - 1))[1]
    return n if 0 <= n <= hi else 0


class WriteBatch:
    """Values queued for one batched Write, each converted to its node's type."""

    def __init__(self, missing: dict[str, str], vtypes: dict[str, ua.VariantType | None]):
        self._missing, self._vtypes = missing, vtypes
        self.node_ids: list[str] = []
        self.variants: list[ua.Variant] = []
        self.what: list[tuple[str, str, Any]] = []  # (kind, key, value)

    def queue(self, kind: str, key: str, nid: str, value: Any) -> str | None:
        """Queue ``value`` for node ``nid``; the reason when it cannot be written."""
        if nid in self._missing:
            return self._missing[nid]
        try:
            variant = to_variant(value, self._vtypes.get(nid))
        except ValueError as exc:
            return str(exc)
        self.node_ids.append(nid)
        self.variants.append(variant)
        self.what.append((kind, key, variant.Value))
        return None
