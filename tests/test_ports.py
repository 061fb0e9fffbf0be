from __future__ import annotations

import pytest

from roost.domain.errors import InvalidInput
from roost.domain.spec import FixedPort
from roost.ports import Wanted, parse_range, plan_ports


def test_offsets_fixed_auto_and_explicit() -> None:
    spec = {"web": 3211, "rcon": FixedPort(fixed=25575), "metrics": "auto", "ui": 5173}
    planned = plan_ports(spec, stride=100, ordinal=5, explicit={"ui": 8212})  # type: ignore[arg-type]
    assert planned == [
        Wanted("web", "offset", 3711),
        Wanted("rcon", "fixed", 25575),
        Wanted("metrics", "auto", None),
        Wanted("ui", "explicit", 8212),
    ]


@pytest.mark.parametrize(("ordinal", "expected"), [(0, 5173), (1, 5273), (2, 5373), (5, 5673)])
def test_seed_004_offsets(ordinal: int, expected: int) -> None:
    assert (
        plan_ports({"frontend": 5173}, stride=100, ordinal=ordinal, explicit={})[0].port == expected
    )


def test_out_of_range_and_unknown_names_are_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        plan_ports({"web": 65000}, stride=100, ordinal=6, explicit={})
    assert (refused.value.code, refused.value.extra["port"]) == ("PORT_OUT_OF_RANGE", 65600)
    with pytest.raises(InvalidInput) as unknown:
        plan_ports({"web": 80}, stride=100, ordinal=0, explicit={"db": 5432})
    assert unknown.value.code == "UNKNOWN_PORT"


def test_port_ranges() -> None:
    assert parse_range("20000-29999") == range(20000, 30000)
    for bad in ("20000", "a-b", "0-10", "30000-20000", "1-70000"):
        with pytest.raises(InvalidInput):
            parse_range(bad)
