"""A pallet's parameters: one record declared once, with its four faces.

* **storage**: the record under ``<pallet>.Parameters`` (the default until genesis sets it);
* **genesis**: the chain-spec keys, one per field, named by the field (``snake_case`` →
  ``camelCase``, a ``_parts`` suffix → ``Perbill``): ``bonding_duration_eras`` is
  ``bondingDurationEras``, ``author_share_parts`` is ``authorSharePerbill``;
* **the call**: ``set_parameters``, root origin, which governance may propose
  (``CallDef.governable``), checked by the pallet's ``check_parameters(state, parameters)`` (a
  ``ValueError`` becomes the pallet's ``BadParameters`` error); the pallet's
  ``on_parameters_change(ctx, parameters)`` hook runs before the new record is stored, and the
  call emits ``ParametersSet``;
* **the allow-list**: governance may propose exactly the calls marked governable.

A pallet declares ``PARAMETERS = PalletParameters(...)``, lists ``PARAMETERS.storage`` in its
``STORAGE`` and ``PARAMETERS.event`` in its ``EVENTS``, and binds
``set_parameters = PARAMETERS.call(index, weight=...)`` in its class body.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any, Generic, TypeVar

from runtime.abc import StateReader
from runtime.errors import EncodingError
from runtime.framework.pallet import ORIGIN_ROOT, DispatchContext, DispatchError, Origin, call
from runtime.framework.storage import StorageValue
from runtime.primitives.codec import Record, record

P = TypeVar("P", bound=Record)
PERBILL_SUFFIX = "_parts"


def compute_json_name(field: str) -> str:
    """The chain-spec key of a parameter field (module docstring)."""
    if field.endswith(PERBILL_SUFFIX):
        field = field[: -len(PERBILL_SUFFIX)] + "_perbill"
    head, *rest = field.split("_")
    return head + "".join(part.capitalize() for part in rest)


def make_single_field_record(name: str, module: str, field: str, field_type: type[Record]) -> type[Record]:
    """A record class ``name`` with one field, declared as if written in ``module``."""
    cls = type(name, (Record,), {"__annotations__": {field: field_type}, "__module__": module, "__qualname__": name})
    return record(cls)


class PalletParameters(Generic[P]):
    def __init__(
        self,
        pallet: str,
        module: str,
        parameters: type[P],
        default: P,
        bad_parameters: type[DispatchError] | None = None,
    ) -> None:
        self.pallet = pallet
        self.record = parameters
        self.default = default
        self.storage: StorageValue[P] = StorageValue(pallet, "Parameters", parameters, default)
        self.json_names = {field.name: compute_json_name(field.name) for field in fields(parameters)}  # type: ignore[arg-type]
        self.bad_parameters = bad_parameters
        self.call_args = make_single_field_record("SetParametersArgs", module, "parameters", parameters)
        self.event = make_single_field_record("ParametersSet", module, "parameters", parameters)
        # The parameters in ``state``: the storage item's own read (blocks read fees and the
        # existential deposit for every transaction, so no layer in between).
        self.get: Callable[[StateReader], P] = self.storage.get

    # --- genesis --------------------------------------------------------------------------

    def from_genesis(self, section: dict[str, Any]) -> P:
        """The parameters a pallet's chain-spec section sets: every key, or (a test chain) none
        of them for the default. Raises ValueError naming the key that is missing or wrong."""
        present = [key for key in self.json_names.values() if key in section]
        if not present:
            return self.default
        values = {}
        for field, key in self.json_names.items():
            if key not in section:
                raise ValueError(f"{self.pallet}.{key} is missing")
            values[field] = section[key]
        try:
            parameters = self.record(**values)
            parameters.encode()  # every field in its range
        except EncodingError as exc:
            raise ValueError(f"{self.pallet}: a parameter is out of range or of the wrong type: {exc}") from None
        return parameters

    def to_genesis(self, parameters: P) -> dict[str, Any]:
        return {key: getattr(parameters, field) for field, key in self.json_names.items()}

    # --- the call ---------------------------------------------------------------------------

    def call(self, index: int, *, weight: int) -> Callable[..., None]:
        """The pallet's ``set_parameters`` dispatchable, at call ``index``."""
        if self.bad_parameters is None:
            raise TypeError(f"{self.pallet}: a set_parameters call needs the pallet's BadParameters error")
        parameters_item, bad_parameters = self, self.bad_parameters

        def set_parameters(pallet: Any, ctx: DispatchContext, origin: Origin, args: Any) -> None:
            """Governance: replace the parameters (checked as the pallet checks them)."""
            try:
                pallet.check_parameters(ctx.state, args.parameters)
            except ValueError as exc:
                raise bad_parameters(str(exc)) from None
            pallet.on_parameters_change(ctx, args.parameters)
            parameters_item.storage.put(ctx.state, args.parameters)
            ctx.deposit_event(parameters_item.event(args.parameters))

        return call(index, self.call_args, weight=weight, origin=ORIGIN_ROOT, governable=True)(set_parameters)
