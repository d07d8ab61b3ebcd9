"""Vendor quirks of printer supply levels, kept apart from the RFC 3805 parsing.

Each quirk names the devices it was seen on. A quirk only ever turns a
number into a *state*: when a vendor sends a code instead of a level, no
percentage is invented from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.wire import SupplyState

BROTHER = 2435
RICOH = 367  # also NRG, Lanier, Savin, Gestetner: same firmware, same enterprise number

#: Ricoh private toner level table (RICOH-PRIVATE-MIB ricohEngTonerLevel), indexed like the Printer-MIB
#: supplies' last index; percent levels, -100 empty, -3 some remaining.
RICOH_TONER_LEVEL = "1.3.6.1.4.1.367.3.2.1.2.24.1.1.5"

#: Brother status codes in prtMarkerSuppliesLevel when the capacity is not a number (-2):
#: seen on HL-5370DW (toner level 0, capacity -2). LibreNMS maps them to 100/5/0/1 percent.
BROTHER_CODES: dict[int, SupplyState] = {
    0: SupplyState.full,
    1: SupplyState.low,
    2: SupplyState.empty,
    3: SupplyState.near_empty,
}
#: Brother models that report real levels (LibreNMS's exception list).
BROTHER_REAL_LEVEL_MODELS: tuple[str, ...] = ("MFC-L8850",)

#: Ricoh's "empty" level (seen on Ricoh/NRG MP series, per LibreNMS).
RICOH_EMPTY = -100


@dataclass(frozen=True)
class Quirks:
    brother_codes: bool = False
    ricoh: bool = False

    def level_state(self, level: int, capacity: int | None) -> SupplyState | None:
        """A vendor state for a raw level, or ``None`` when the level is an ordinary number."""
        if self.ricoh and level == RICOH_EMPTY:
            return SupplyState.empty
        # Brother codes only where no capacity gives the number a scale: a drum at 3 of 12000 pages
        # is a real (nearly exhausted) level, not "near empty" code 3.
        if self.brother_codes and (capacity is None or capacity <= 0) and level in BROTHER_CODES:
            return BROTHER_CODES[level]
        return None


def quirks_for(enterprise: int | None, model: str | None) -> Quirks:
    if enterprise == BROTHER:
        model_upper = (model or "").upper()
        real = any(m in model_upper for m in BROTHER_REAL_LEVEL_MODELS)
        return Quirks(brother_codes=not real)
    if enterprise == RICOH:
        return Quirks(ricoh=True)
    return Quirks()
