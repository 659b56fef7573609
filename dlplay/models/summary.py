"""Parameter counts and layer tables, via torchinfo."""
from __future__ import annotations

import pandas as pd
from torch import nn


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def summary_table(model: nn.Module, input_size: tuple[int, ...]) -> pd.DataFrame:
    """One row per leaf layer: output shape and parameter count (torchinfo does the walk)."""
    from torchinfo import summary

    info = summary(model, input_size=input_size, verbose=0,
                   col_names=("output_size", "num_params"))
    rows = [{"layer": f"{layer.class_name} ({layer.var_name})" if layer.var_name else layer.class_name,
             "output shape": " × ".join(map(str, layer.output_size[1:])),
             "parameters": layer.num_params}
            for layer in info.summary_list if layer.is_leaf_layer]
    return pd.DataFrame(rows)
