"""key=value items: values parse back as themselves; YAML files stand for their keys."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from omegaconf import OmegaConf

from fedrec.config import ConfigError, load_config
from fedrec.overrides import expand, file_overrides, format_override, to_yaml

SCALARS = (
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=12)
    | st.integers(-(10**9), 10**9)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.booleans()
    | st.none()
)


@given(SCALARS.filter(lambda v: not (isinstance(v, str) and "${" in v)))
def test_a_formatted_value_parses_back_as_itself(value):
    parsed = OmegaConf.to_container(OmegaConf.from_dotlist([format_override("k", value)]))
    assert parsed == {"k": value}


def test_an_interpolation_cannot_be_written_as_a_literal_value():
    with pytest.raises(ConfigError, match="interpolation"):
        format_override("k", "a${b}")


def test_numpy_scalars_are_written_as_plain_numbers():
    assert format_override("a.b", np.float64(0.25)) == "a.b=0.25"
    assert format_override("a.b", np.int64(3)) == "a.b=3"


def test_overrides_written_as_a_file_come_back_unchanged(tmp_path):
    # Prepare
    items = ["algorithm=fedmf", "fedrap.lr_head=0.125", "fedrap.regulariser=l2", "seed=3"]
    path = tmp_path / "best.yaml"
    # Execute
    path.write_text(to_yaml(items))
    back = file_overrides(path)
    # Assert
    assert back == items
    assert load_config(path) == load_config(None, back)


def test_expand_keeps_order_and_refuses_what_is_neither_item_nor_file(tmp_path):
    (tmp_path / "f.yml").write_text("rounds: 3\n")
    assert expand(["a=1", str(tmp_path / "f.yml"), "b=2"]) == ["a=1", "rounds=3", "b=2"]
    with pytest.raises(ConfigError, match="key=value"):
        expand(["rounds"])
    with pytest.raises(ConfigError, match="not found"):
        expand([str(tmp_path / "missing.yaml")])
