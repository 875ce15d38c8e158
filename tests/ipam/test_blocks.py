"""The address parser accepts exactly the strict grammar (four decimal octets 0-255, no leading
zero, no sign, no space; a prefix length 0-32 the same way) and reads what ipaddress reads."""

from __future__ import annotations

import ipaddress
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idcpilot.ipam.blocks import Block, parse_address

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
STRICT_ADDRESS = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}")
STRICT_PREFIX = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}/(?:3[0-2]|[12][0-9]|[0-9])")

# text that looks like an address: digits, dots, slashes and a few characters other parsers skip
near = st.text(alphabet="0123456789./ +-x\n\t\u0660\uff11", min_size=0, max_size=20)
octet = st.one_of(st.integers(0, 300).map(str), st.sampled_from(["00", "01", "007", "+1", " 1", "1 ", "", "0x1", "\u0661"]))
dotted = st.builds(lambda parts: ".".join(parts), st.lists(octet, min_size=3, max_size=5))


def accepts(fn, text: str) -> bool:  # type: ignore[no-untyped-def]
    try:
        fn(text)
    except ValueError:
        return False
    return True


@settings(max_examples=3000, deadline=None)
@given(st.one_of(near, dotted))
def test_an_address_is_read_exactly_when_the_strict_grammar_matches(text: str) -> None:
    assert accepts(parse_address, text) == bool(STRICT_ADDRESS.fullmatch(text)), text
    if STRICT_ADDRESS.fullmatch(text):
        assert parse_address(text) == int(ipaddress.IPv4Address(text))


@settings(max_examples=3000, deadline=None)
@given(st.one_of(near, st.builds(lambda a, n: f"{a}/{n}", dotted, st.sampled_from(["0", "8", "24", "32", "33", "07", "+8", " 8", "", "８"]))))
def test_a_prefix_is_read_exactly_when_the_strict_grammar_matches(text: str) -> None:
    grammar = bool(STRICT_PREFIX.fullmatch(text))
    if grammar and ipaddress.IPv4Network(text, strict=False).network_address != ipaddress.IPv4Address(text.split("/")[0]):
        assert not accepts(Block.parse, text)  # host bits set: refused with the suggestion
        return
    assert accepts(Block.parse, text) == grammar, text
    if grammar:
        net = ipaddress.IPv4Network(text)
        assert Block.parse(text) == Block(int(net.network_address), int(net.broadcast_address))


@pytest.mark.parametrize("value", [None, 10, 10.5, b"10.0.0.1", ["10.0.0.1"], {"a": 1}])
def test_values_that_are_not_text_are_refused_in_words(value: object) -> None:
    with pytest.raises(ValueError, match="not an IPv4 address"):
        parse_address(value)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a CIDR prefix"):
        Block.parse(value)  # type: ignore[arg-type]
