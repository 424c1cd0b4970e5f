"""A hand-made table of known answers (the CIFAR10 steps and the traps), each also run through torch."""

from __future__ import annotations

import pytest
import torch
from oracle import agree, calc_layer, torch_layer

from shapecalc.ops import REGISTRY

# (layer type, arguments, input shape, expected output shape or None when torch refuses it)
TABLE = [
    # the CIFAR10 net, step by step
    (
        "Conv2d",
        {"in_channels": 3, "out_channels": 32, "kernel_size": 5, "padding": 2},
        (64, 3, 32, 32),
        (64, 32, 32, 32),
    ),
    ("MaxPool2d", {"kernel_size": 2}, (64, 32, 32, 32), (64, 32, 16, 16)),
    (
        "Conv2d",
        {"in_channels": 32, "out_channels": 32, "kernel_size": 5, "padding": 2},
        (64, 32, 16, 16),
        (64, 32, 16, 16),
    ),
    ("MaxPool2d", {"kernel_size": 2}, (64, 32, 16, 16), (64, 32, 8, 8)),
    (
        "Conv2d",
        {"in_channels": 32, "out_channels": 64, "kernel_size": 5, "padding": 2},
        (64, 32, 8, 8),
        (64, 64, 8, 8),
    ),
    ("MaxPool2d", {"kernel_size": 2}, (64, 64, 8, 8), (64, 64, 4, 4)),
    ("Flatten", {}, (64, 64, 4, 4), (64, 1024)),
    ("Linear", {"in_features": 1024, "out_features": 64}, (64, 1024), (64, 64)),
    ("Linear", {"in_features": 64, "out_features": 10}, (64, 64), (64, 10)),
    # ceil_mode drops a last window that would start in the right padding: 5 -> 3, not 4
    (
        "MaxPool2d",
        {"kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True},
        (1, 1, 5, 5),
        (1, 1, 3, 3),
    ),
    ("MaxPool2d", {"kernel_size": 3, "stride": 2, "ceil_mode": True}, (1, 1, 6, 6), (1, 1, 3, 3)),
    (
        "AvgPool2d",
        {"kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True},
        (1, 1, 5, 5),
        (1, 1, 3, 3),
    ),
    # pooling padding at most half the kernel (plain and dilated kernel)
    ("MaxPool2d", {"kernel_size": 2, "padding": 2}, (1, 1, 8, 8), None),
    ("MaxPool2d", {"kernel_size": 3, "padding": 2, "dilation": 2}, (1, 1, 8, 8), None),
    ("AvgPool2d", {"kernel_size": 3, "padding": 2}, (1, 1, 8, 8), None),
    # kernel larger than the padded input
    ("Conv2d", {"in_channels": 1, "out_channels": 1, "kernel_size": 5}, (1, 1, 4, 4), None),
    (
        "Conv2d",
        {"in_channels": 1, "out_channels": 1, "kernel_size": 5, "padding": 1},
        (1, 1, 3, 3),
        (1, 1, 1, 1),
    ),
    (
        "Conv2d",
        {"in_channels": 1, "out_channels": 1, "kernel_size": 3, "dilation": 3},
        (1, 1, 6, 6),
        None,
    ),
    # output size below 1
    ("MaxPool2d", {"kernel_size": 3}, (1, 1, 2, 2), None),
    ("MaxPool2d", {"kernel_size": 3, "padding": 1}, (1, 1, 1, 1), (1, 1, 1, 1)),
    # rectangular kernels, strides and dilation per dimension
    (
        "Conv2d",
        {
            "in_channels": 2,
            "out_channels": 4,
            "kernel_size": [3, 5],
            "stride": [2, 1],
            "dilation": [1, 2],
        },
        (1, 2, 11, 12),
        (1, 4, 5, 4),
    ),
    # 'same' with an even kernel pads asymmetrically (and torch warns); refused at stride > 1
    (
        "Conv2d",
        {"in_channels": 1, "out_channels": 1, "kernel_size": 4, "padding": "same"},
        (1, 1, 7, 7),
        (1, 1, 7, 7),
    ),
    (
        "Conv2d",
        {"in_channels": 1, "out_channels": 1, "kernel_size": 3, "padding": "same", "dilation": 2},
        (1, 1, 2, 2),
        (1, 1, 2, 2),
    ),
    (
        "Conv2d",
        {"in_channels": 1, "out_channels": 1, "kernel_size": 3, "padding": "same", "stride": 2},
        (1, 1, 7, 7),
        None,
    ),
    (
        "Conv2d",
        {"in_channels": 1, "out_channels": 1, "kernel_size": 3, "padding": "valid"},
        (1, 1, 7, 7),
        (1, 1, 5, 5),
    ),
    # groups must divide both channel counts
    (
        "Conv2d",
        {"in_channels": 4, "out_channels": 6, "kernel_size": 1, "groups": 4},
        (1, 4, 3, 3),
        None,
    ),
    (
        "Conv2d",
        {"in_channels": 6, "out_channels": 4, "kernel_size": 1, "groups": 4},
        (1, 6, 3, 3),
        None,
    ),
    (
        "Conv2d",
        {"in_channels": 4, "out_channels": 8, "kernel_size": 1, "groups": 4},
        (1, 4, 3, 3),
        (1, 8, 3, 3),
    ),
    # reflect padding must be smaller than the input, circular at most the input
    (
        "Conv2d",
        {
            "in_channels": 1,
            "out_channels": 1,
            "kernel_size": 3,
            "padding": 3,
            "padding_mode": "reflect",
        },
        (1, 1, 3, 3),
        None,
    ),
    (
        "Conv2d",
        {
            "in_channels": 1,
            "out_channels": 1,
            "kernel_size": 3,
            "padding": 3,
            "padding_mode": "circular",
        },
        (1, 1, 3, 3),
        (1, 1, 7, 7),
    ),
    (
        "Conv2d",
        {
            "in_channels": 1,
            "out_channels": 1,
            "kernel_size": 3,
            "padding": 4,
            "padding_mode": "circular",
        },
        (1, 1, 3, 3),
        None,
    ),
    # Flatten's start/end dims
    ("Flatten", {"start_dim": 2}, (2, 3, 4, 5), (2, 3, 20)),
    ("Flatten", {"start_dim": 0, "end_dim": 1}, (2, 3, 4, 5), (6, 4, 5)),
    ("Flatten", {"start_dim": 2, "end_dim": 1}, (2, 3, 4, 5), None),
    ("Flatten", {}, (5,), None),
    # Linear's in_features against the last dimension; a Linear on a 4-D tensor acts on W
    ("Linear", {"in_features": 4096, "out_features": 64}, (64, 1024), None),
    ("Linear", {"in_features": 6, "out_features": 2}, (1, 3, 5, 6), (1, 3, 5, 2)),
    # a Conv2d fed a flattened tensor; a 3-D tensor is taken as unbatched
    ("Conv2d", {"in_channels": 1, "out_channels": 1, "kernel_size": 5}, (4, 1024), None),
    ("Conv2d", {"in_channels": 4, "out_channels": 2, "kernel_size": 1}, (4, 5, 6), (2, 5, 6)),
    ("BatchNorm2d", {"num_features": 3}, (2, 4, 2, 2), None),
    ("BatchNorm2d", {"num_features": 3}, (2, 3), None),
    ("Softmax", {"dim": 5}, (4, 5), None),
    ("Softmax", {"dim": -1}, (4, 5), (4, 5)),
    ("AvgPool2d", {"kernel_size": 2, "divisor_override": 3}, (1, 1, 5, 4), (1, 1, 2, 2)),
    # transposed convolution: k3 s2 p1 gives 2n−1, output_padding=1 gives 2n; k4 s2 p1 doubles
    (
        "ConvTranspose2d",
        {"in_channels": 2, "out_channels": 1, "kernel_size": 3, "stride": 2, "padding": 1},
        (1, 2, 16, 16),
        (1, 1, 31, 31),
    ),
    (
        "ConvTranspose2d",
        {
            "in_channels": 2,
            "out_channels": 1,
            "kernel_size": 3,
            "stride": 2,
            "padding": 1,
            "output_padding": 1,
        },
        (1, 2, 16, 16),
        (1, 1, 32, 32),
    ),
    (
        "ConvTranspose2d",
        {"in_channels": 8, "out_channels": 4, "kernel_size": 4, "stride": 2, "padding": 1},
        (1, 8, 4, 4),
        (1, 4, 8, 8),
    ),
    # output_padding must be smaller than stride or dilation (either one is enough)
    (
        "ConvTranspose2d",
        {"in_channels": 1, "out_channels": 1, "kernel_size": 3, "output_padding": 1},
        (1, 1, 5, 5),
        None,
    ),
    (
        "ConvTranspose1d",
        {"in_channels": 1, "out_channels": 1, "kernel_size": 3, "output_padding": 2, "dilation": 3},
        (1, 1, 5),
        (1, 1, 13),
    ),
    (
        "ConvTranspose3d",
        {
            "in_channels": 1,
            "out_channels": 1,
            "kernel_size": 3,
            "stride": [1, 1, 2],
            "output_padding": [0, 0, 2],
        },
        (1, 1, 2, 2, 2),
        None,
    ),
    # the output must be at least 1; only 'zeros' padding; the weight is (C_in, C_out/groups, k)
    (
        "ConvTranspose1d",
        {"in_channels": 1, "out_channels": 1, "kernel_size": 1, "padding": 1},
        (1, 1, 2),
        None,
    ),
    (
        "ConvTranspose1d",
        {"in_channels": 1, "out_channels": 1, "kernel_size": 3, "padding": 1},
        (1, 1, 1),
        (1, 1, 1),
    ),
    (
        "ConvTranspose2d",
        {"in_channels": 1, "out_channels": 1, "kernel_size": 3, "padding_mode": "reflect"},
        (1, 1, 5, 5),
        None,
    ),
    (
        "ConvTranspose2d",
        {"in_channels": 4, "out_channels": 6, "kernel_size": 1, "groups": 2},
        (4, 3, 3),
        (6, 3, 3),
    ),
    # Upsample: ⌊H·scale⌋ in double precision (100·0.29 = 28.999999999999996), any mode
    ("Upsample", {"scale_factor": 2}, (1, 3, 16, 16), (1, 3, 32, 32)),
    ("Upsample", {"scale_factor": 1.5}, (1, 1, 5, 5), (1, 1, 7, 7)),
    ("Upsample", {"scale_factor": 0.29}, (1, 1, 100), (1, 1, 28)),
    ("Upsample", {"scale_factor": 0.29, "mode": "bilinear"}, (1, 1, 100, 100), (1, 1, 28, 28)),
    ("Upsample", {"scale_factor": [2.5, 1.5], "mode": "bicubic"}, (1, 1, 3, 3), (1, 1, 7, 4)),
    ("Upsample", {"scale_factor": 0.1}, (1, 1, 3), None),
    ("Upsample", {"scale_factor": 0.1, "mode": "area"}, (1, 1, 3), None),  # torch: empty
    ("Upsample", {"size": [5, 7], "mode": "nearest-exact"}, (1, 1, 3, 3), (1, 1, 5, 7)),
    ("Upsample", {"size": [5, 7]}, (1, 1, 3), None),
    ("Upsample", {"size": 4, "scale_factor": 2}, (1, 1, 3, 3), None),
    ("Upsample", {}, (1, 1, 3, 3), None),
    # each interpolating mode its rank; align_corners only for them (torch refuses even false)
    ("Upsample", {"scale_factor": 2, "mode": "bilinear"}, (1, 1, 3), None),
    ("Upsample", {"scale_factor": 2, "mode": "linear"}, (1, 1, 3, 3), None),
    ("Upsample", {"scale_factor": 2, "mode": "bicubic"}, (1, 1, 3, 3, 3), None),
    ("Upsample", {"scale_factor": 2, "mode": "trilinear"}, (1, 1, 2, 3, 3), (1, 1, 4, 6, 6)),
    ("Upsample", {"scale_factor": 2, "mode": "area"}, (1, 1, 2, 3, 3), (1, 1, 4, 6, 6)),
    ("Upsample", {"scale_factor": 2, "align_corners": False}, (1, 1, 3, 3), None),
    (
        "Upsample",
        {"scale_factor": 2, "mode": "bilinear", "align_corners": True},
        (1, 1, 3, 3),
        (1, 1, 6, 6),
    ),
    ("Upsample", {"size": 4, "recompute_scale_factor": True}, (1, 1, 3), None),
    ("Upsample", {"scale_factor": 2}, (3, 16, 16), (3, 16, 32)),  # no unbatched form: 1-D!
    ("Upsample", {"scale_factor": 2}, (16, 16), None),
    ("UpsamplingNearest2d", {"scale_factor": 2}, (1, 1, 3), (1, 1, 6)),
    ("UpsamplingBilinear2d", {"scale_factor": 2}, (1, 1, 3), None),
    ("UpsamplingBilinear2d", {"size": [4, 5]}, (1, 1, 3, 3), (1, 1, 4, 5)),
    # sub-pixel shuffles: channels divisible by r², sizes by r
    ("PixelShuffle", {"upscale_factor": 3}, (1, 9, 64, 64), (1, 1, 192, 192)),
    ("PixelShuffle", {"upscale_factor": 2}, (1, 6, 3, 3), None),
    ("PixelShuffle", {"upscale_factor": 2}, (2, 3, 8, 3, 3), (2, 3, 2, 6, 6)),
    ("PixelUnshuffle", {"downscale_factor": 2}, (1, 2, 4, 6), (1, 8, 2, 3)),
    ("PixelUnshuffle", {"downscale_factor": 2}, (1, 2, 5, 6), None),
    ("PixelUnshuffle", {"downscale_factor": 2}, (1, 2, 4, 5), None),
    # padding lists the last dim first: (left, right, top, bottom)
    ("ZeroPad2d", {"padding": [1, 2, 3, 4]}, (1, 1, 5, 5), (1, 1, 12, 8)),
    ("ZeroPad2d", {"padding": 1}, (5, 5), (7, 7)),  # constant padding takes any rank
    ("ZeroPad2d", {"padding": -1}, (1, 1, 4, 4), (1, 1, 2, 2)),  # negative crops
    ("ZeroPad2d", {"padding": [-4, 0, 0, 0]}, (1, 1, 4, 4), None),  # torch: empty
    ("ConstantPad1d", {"padding": [-3, 4], "value": 1.5}, (1, 4), (1, 5)),
    ("ConstantPad1d", {"padding": [-5, 6], "value": 1.5}, (1, 4), None),
    # reflection: each padding smaller than its dim; replication crops past the input
    ("ReflectionPad2d", {"padding": 3}, (1, 1, 3, 3), None),
    ("ReflectionPad2d", {"padding": 2}, (1, 1, 3, 3), (1, 1, 7, 7)),
    ("ReflectionPad2d", {"padding": [0, 0, 3, 0]}, (1, 1, 3, 4), None),
    ("ReflectionPad1d", {"padding": 1}, (1, 1, 1, 4), None),
    ("ReplicationPad1d", {"padding": [-5, 6]}, (1, 1, 4), (1, 1, 5)),
    ("ReplicationPad2d", {"padding": 9}, (1, 1, 1, 1), (1, 1, 19, 19)),
    # circular: at most the input once around
    ("CircularPad1d", {"padding": 4}, (1, 1, 4), (1, 1, 12)),
    ("CircularPad1d", {"padding": 5}, (1, 1, 4), None),
    ("CircularPad2d", {"padding": 1}, (4, 4), None),
    # adaptive pooling: any output size, larger than the input too; null keeps a dim
    ("AdaptiveAvgPool2d", {"output_size": 7}, (1, 2, 5, 5), (1, 2, 7, 7)),
    ("AdaptiveAvgPool2d", {"output_size": [None, 3]}, (1, 2, 5, 6), (1, 2, 5, 3)),
    ("AdaptiveMaxPool3d", {"output_size": [1, None, 2]}, (2, 3, 4, 5), (2, 1, 4, 2)),
    ("AdaptiveAvgPool1d", {"output_size": 0}, (1, 2, 5), None),  # torch: empty
    ("AdaptiveMaxPool2d", {"output_size": 2, "return_indices": True}, (1, 2, 5, 5), None),
    # an output of 1s is a mean over the last dims: AdaptiveAvgPool2d takes any rank then
    ("AdaptiveAvgPool2d", {"output_size": 1}, (3, 4), (1, 1)),
    ("AdaptiveAvgPool2d", {"output_size": 1}, (1, 2, 3, 4, 5), (1, 2, 3, 1, 1)),
    ("AdaptiveAvgPool2d", {"output_size": [1, 1]}, (3, 4), None),
    ("AdaptiveAvgPool2d", {"output_size": 2}, (1, 2, 3, 4, 5), None),
    ("AdaptiveMaxPool2d", {"output_size": 1}, (3, 4), None),
    # power-average pooling: no padding; LPPool1d's kernel is one int; LPPool3d checks the kernel
    ("LPPool2d", {"norm_type": 2, "kernel_size": 2}, (1, 1, 5, 5), (1, 1, 2, 2)),
    ("LPPool1d", {"norm_type": 2, "kernel_size": [3]}, (1, 1, 7), None),
    ("LPPool2d", {"norm_type": 2, "kernel_size": 3, "ceil_mode": True}, (1, 1, 2, 7), (1, 1, 1, 3)),
    ("LPPool3d", {"norm_type": 2, "kernel_size": 3, "ceil_mode": True}, (1, 1, 2, 7, 7), None),
    (
        "LPPool3d",
        {"norm_type": float("inf"), "kernel_size": 3, "ceil_mode": True},
        (1, 1, 2, 7, 7),
        (1, 1, 1, 3, 3),
    ),
    # BatchNorm: batch statistics need more than one value per channel; without running
    # statistics eval mode uses them too. Without weights nor statistics num_features is unused.
    ("BatchNorm2d", {"num_features": 3, "track_running_stats": False}, (1, 3, 1, 1), None),
    ("BatchNorm2d", {"num_features": 3}, (1, 3, 1, 1), (1, 3, 1, 1)),
    ("BatchNorm1d", {"num_features": 3, "track_running_stats": False}, (1, 3), None),
    (
        "BatchNorm2d",
        {"num_features": 3, "affine": False, "track_running_stats": False},
        (2, 5, 2, 2),
        (2, 5, 2, 2),
    ),
    ("BatchNorm2d", {"num_features": 3, "affine": False}, (2, 5, 2, 2), None),
    # InstanceNorm: a wrong num_features only warns without affine and running statistics
    ("InstanceNorm2d", {"num_features": 3}, (2, 4, 3, 3), (2, 4, 3, 3)),
    ("InstanceNorm2d", {"num_features": 3, "affine": True}, (2, 4, 3, 3), None),
    ("InstanceNorm2d", {"num_features": 3, "track_running_stats": True}, (2, 4, 3, 3), None),
    ("InstanceNorm2d", {"num_features": 3}, (2, 3, 1, 1), None),
    (
        "InstanceNorm2d",
        {"num_features": 3, "track_running_stats": True},
        (2, 3, 1, 1),
        (2, 3, 1, 1),
    ),
    ("InstanceNorm1d", {"num_features": 3, "affine": True}, (3, 5), (3, 5)),
    ("InstanceNorm1d", {"num_features": 5, "affine": True}, (3, 5), None),
    # GroupNorm: divisibility, and one value per group refused in eval mode too
    ("GroupNorm", {"num_groups": 3, "num_channels": 4}, (2, 4, 3), None),
    ("GroupNorm", {"num_groups": 2, "num_channels": 4}, (2, 4, 3), (2, 4, 3)),
    ("GroupNorm", {"num_groups": 2, "num_channels": 4}, (2, 6, 3), None),
    ("GroupNorm", {"num_groups": 2, "num_channels": 4, "affine": False}, (2, 6, 3), (2, 6, 3)),
    ("GroupNorm", {"num_groups": 2, "num_channels": 4, "affine": False}, (2, 5, 3), None),
    ("GroupNorm", {"num_groups": 4, "num_channels": 4}, (1, 4, 1, 1), None),
    ("GroupNorm", {"num_groups": 4, "num_channels": 4}, (2, 4, 1, 1), (2, 4, 1, 1)),
    ("GroupNorm", {"num_groups": 2, "num_channels": 4}, (1, 4), (1, 4)),
    # LayerNorm: normalized_shape must equal the trailing dims
    ("LayerNorm", {"normalized_shape": [3, 4]}, (2, 3, 4), (2, 3, 4)),
    ("LayerNorm", {"normalized_shape": 5}, (2, 4), None),
    ("LayerNorm", {"normalized_shape": [4, 3]}, (2, 3, 4), None),
    ("LayerNorm", {"normalized_shape": [2, 3, 4]}, (3, 4), None),
    ("LocalResponseNorm", {"size": 2}, (2, 4), None),
    ("LocalResponseNorm", {"size": 50}, (2, 4, 3), (2, 4, 3)),
    # Unflatten: the product must equal the dim; one -1 is filled in
    ("Unflatten", {"dim": 1, "unflattened_size": [2, 3]}, (2, 6), (2, 2, 3)),
    ("Unflatten", {"dim": 1, "unflattened_size": [2, 2]}, (2, 6), None),
    ("Unflatten", {"dim": -1, "unflattened_size": [-1, 3]}, (2, 6), (2, 2, 3)),
    ("Unflatten", {"dim": 1, "unflattened_size": [-1, 4]}, (2, 6), None),
    ("Unflatten", {"dim": 1, "unflattened_size": [-1, -1]}, (2, 6), None),
    ("Unflatten", {"dim": 1, "unflattened_size": [-2, 3]}, (2, 6), None),
    ("Unflatten", {"dim": 1, "unflattened_size": []}, (2, 6), None),
    ("Unflatten", {"dim": 1, "unflattened_size": 6}, (2, 6), None),
    # dropout ranks: Dropout1d refuses, Dropout2d/3d only warn
    ("Dropout1d", {}, (2, 3, 4, 5), None),
    ("Dropout1d", {}, (3, 4), (3, 4)),
    ("Dropout3d", {}, (2, 3, 4), (2, 3, 4)),
    ("ChannelShuffle", {"groups": 3}, (1, 4, 2, 2), None),
    ("ChannelShuffle", {"groups": 2}, (1, 4, 2, 2), (1, 4, 2, 2)),
    ("ChannelShuffle", {"groups": 2}, (2, 4), None),
    # activations with rules
    ("Softmax2d", {}, (2, 4), None),
    ("Softmax2d", {}, (4, 3, 3), (4, 3, 3)),
    ("Softmax2d", {}, (2, 4, 1, 1, 1), None),
    ("PReLU", {"num_parameters": 4}, (2, 4, 5), (2, 4, 5)),
    ("PReLU", {"num_parameters": 4}, (4, 5, 5), None),  # channels are dim 1, even unbatched
    ("PReLU", {"num_parameters": 4}, (4,), None),
    ("GLU", {"dim": 1}, (2, 3), None),
    ("GLU", {}, (2, 4, 6), (2, 4, 3)),
    ("Hardtanh", {"min_val": 1, "max_val": 1}, (2, 3), None),
    ("Softshrink", {"lambd": -1}, (2, 3), None),
    ("Softshrink", {"lambd": 0}, (2, 3), (2, 3)),
    ("CELU", {"alpha": 0}, (2, 3), None),
    ("LogSoftmax", {"dim": 2}, (2, 3), None),
]


@pytest.mark.parametrize(("layer_type", "args", "shape", "expected"), TABLE)
def test_known_answer(layer_type, args, shape, expected):  # type: ignore[no-untyped-def]
    calc = calc_layer(layer_type, args, shape)
    real = torch_layer(layer_type, args, shape)
    # the table pins torch and the calculator alike
    assert real.ok == (expected is not None), real.error
    assert real.shape == expected
    agree(calc, real, (layer_type, args, shape))


def test_other_dimensions_are_a_matter_of_registering() -> None:
    """A Conv1d/MaxPool3d needs only a subclass with another n: checked here against torch."""
    from typing import Literal

    from shapecalc.layers import ConvNd, MaxPoolNd

    class Conv1d(ConvNd):
        n = 1
        type: Literal["Conv1d"]

    class MaxPool3d(MaxPoolNd):
        n = 3
        type: Literal["MaxPool3d"]

    conv = Conv1d.model_validate(
        {"type": "Conv1d", "out_channels": 4, "kernel_size": 3, "stride": 2}
    )
    assert [d.axis for d in conv.infer((2, 3, 17)).dims] == ["L"]
    real = torch_layer("Conv1d", conv.constructor_args({"in_channels": 3}), (2, 3, 17))
    assert conv.infer((2, 3, 17)).output == real.shape == (2, 4, 8)
    pool = MaxPool3d.model_validate(
        {"type": "MaxPool3d", "kernel_size": [2, 3, 2], "ceil_mode": True}
    )
    real = torch_layer("MaxPool3d", pool.constructor_args(), (1, 2, 5, 7, 9))
    assert pool.infer((1, 2, 5, 7, 9)).output == real.shape == (1, 2, 3, 3, 5)


def test_lppool_refuses_norm_type_zero() -> None:
    """torch takes the 1/norm_type-th root: 0 is a ZeroDivisionError on the first forward pass."""
    with pytest.raises(ZeroDivisionError):
        torch.nn.LPPool2d(0, 2)(torch.ones(1, 1, 4, 4))
    verdict = calc_layer("LPPool2d", {"norm_type": 0, "kernel_size": 2}, (1, 1, 4, 4))
    assert not verdict.ok and "norm_type" in verdict.error and "ZeroDivisionError" in verdict.error


def test_empty_outputs_are_refused_with_the_reason() -> None:
    """torch returns an empty tensor here; shapecalc refuses, since no later layer can use it."""
    assert torch.nn.AdaptiveAvgPool2d(0)(torch.ones(1, 1, 4, 4)).shape == (1, 1, 0, 0)
    assert torch.nn.ZeroPad2d(-2)(torch.ones(1, 1, 4, 4)).shape == (1, 1, 0, 0)
    adaptive = calc_layer("AdaptiveAvgPool2d", {"output_size": 0}, (1, 1, 4, 4))
    assert "but got 0 (torch returns an empty tensor" in adaptive.error
    pad = calc_layer("ZeroPad2d", {"padding": -2}, (1, 1, 4, 4))
    assert "the output would be empty: −2 + 4 − 2 = 0 along H" in pad.error


EMPTY_TENSOR = "torch returns an empty tensor, which no later layer can use"


@pytest.mark.parametrize(
    ("layer_type", "padding", "shape", "raises", "verdict"),
    [
        ("ZeroPad2d", -1, (1, 1, 2, 2), False, EMPTY_TENSOR),
        ("ConstantPad1d", (-1, -1), (1, 1, 2), False, EMPTY_TENSOR),
        ("CircularPad2d", -1, (1, 1, 2, 2), False, EMPTY_TENSOR),
        ("ReflectionPad1d", (-1, -1), (1, 1, 2), True, "torch refuses it: input is too small"),
        ("ReplicationPad1d", (-1, -1), (1, 1, 2), True, "torch refuses it: input is too small"),
        ("ReflectionPad2d", (0, 0, -1, -1), (1, 1, 2, 3), False, f"{EMPTY_TENSOR}, or refuses"),
        ("ReplicationPad2d", -1, (1, 1, 2, 2), True, f"{EMPTY_TENSOR}, or refuses it when every"),
    ],
)
def test_padding_that_crops_everything_says_what_torch_does(
    layer_type: str,
    padding: int | tuple[int, ...],
    shape: tuple[int, ...],
    raises: bool,
    verdict: str,
) -> None:
    """torch refuses an empty output only for reflection and replication padding empty in every
    padded dim; shapecalc refuses every empty output and says which torch does."""
    module = getattr(torch.nn, layer_type)(padding, *([0.0] if "Constant" in layer_type else []))
    if raises:
        with pytest.raises(RuntimeError, match="is too small"):
            module(torch.ones(shape))
    else:
        assert 0 in module(torch.ones(shape)).shape
    args: dict[str, object] = {"padding": list(padding) if isinstance(padding, tuple) else padding}
    if "Constant" in layer_type:
        args["value"] = 0.0
    error = calc_layer(layer_type, args, shape).error
    assert "the output would be empty" in error and verdict in error


def test_circular_padding_past_a_crop_depends_on_torch_memory_layout() -> None:
    """Cropping one side and wrapping the other by more than is left: torch refuses it for one
    layout and wraps around twice for another, so shapecalc refuses it (and the differential test
    leaves it out)."""
    module = torch.nn.CircularPad1d((-1, 2))
    with pytest.raises(RuntimeError, match="refer to a single memory location"):
        module(torch.ones(1, 1, 2))
    assert module(torch.ones(2, 3, 2)).shape == (2, 3, 3)
    for shape in ((1, 1, 2), (2, 3, 2)):
        verdict = calc_layer("CircularPad1d", {"padding": [-1, 2]}, shape)
        assert verdict.error == (
            "circular padding (-1, 2) along L = 2 pads 2 from the 1 value the crop leaves: torch "
            "then copies overlapping memory (wrong values or an error, depending on the tensor's "
            "layout). Pad at most 1 on the right, or crop nothing on the left"
        )
    layer = REGISTRY["CircularPad1d"]
    assert layer.layout_dependent({"padding": [-1, 2]}, (2, 3, 2))
    assert not layer.layout_dependent({"padding": [-1, 1]}, (2, 3, 2))


@pytest.mark.parametrize(
    ("layer_type", "padding", "shape", "axis", "sides"),
    [
        ("CircularPad1d", [2, -2], (1, 1, 2), "L", ("left", "right")),
        ("CircularPad2d", [2, -2, 0, 0], (1, 1, 3, 2), "W", ("left", "right")),
        ("CircularPad2d", [0, 0, 2, -2], (1, 1, 2, 3), "H", ("top", "bottom")),
        ("CircularPad3d", [0, 0, 0, 0, 2, -2], (1, 1, 2, 3, 3), "D", ("front", "back")),
    ],
)
def test_circular_padding_from_nothing_left_by_the_crop(
    layer_type: str, padding: list[int], shape: tuple[int, ...], axis: str, sides: tuple[str, str]
) -> None:
    """Cropping a whole dim on one side and padding it on the other: torch accepts it and returns
    memory it never wrote (uninitialised, so its values are not asserted: a reused allocation can
    hold anything, the input's values included); shapecalc refuses it and names the layer's axis."""
    module = getattr(torch.nn, layer_type)(tuple(padding))
    assert module(torch.full(shape, 1234.5)).shape == shape
    verdict = calc_layer(layer_type, {"padding": padding}, shape)
    assert verdict.error == (
        f"circular padding (2, -2) along {axis} = 2 pads 2 from the 0 values the crop leaves: "
        "torch then copies overlapping memory (wrong values or an error, depending on the "
        f"tensor's layout). Pad at most 0 on the {sides[0]}, or crop nothing on the {sides[1]}"
    )


def test_circular_padding_beyond_the_input_wraps_more_than_once() -> None:
    """Padding more than the input, cropped or not, is torch's own refusal."""
    for padding in ((3, -1), (3, 0)):
        with pytest.raises(RuntimeError, match="wrapping around more than once"):
            torch.nn.CircularPad1d(padding)(torch.ones(1, 1, 2))
        verdict = calc_layer("CircularPad1d", {"padding": list(padding)}, (1, 1, 2))
        assert verdict.error == (
            f"padding value causes wrapping around more than once: padding {padding} for "
            "L = 2. Use padding of at most 2 along L, or a larger input"
        )


def test_output_padding_is_checked_on_cpu_but_not_on_meta() -> None:
    """torch checks output_padding in its CPU kernel; the meta device computes a shape anyway.
    shapecalc refuses it for every device, when the spec is read."""
    module = torch.nn.ConvTranspose1d(1, 1, 3, output_padding=1)
    with pytest.raises(RuntimeError, match="output padding must be smaller than either stride"):
        module(torch.ones(1, 1, 5))
    assert module.to("meta")(torch.ones(1, 1, 5, device="meta")).shape == (1, 1, 8)
    verdict = calc_layer(
        "ConvTranspose1d", {"kernel_size": 3, "out_channels": 1, "output_padding": 1}, (1, 1, 5)
    )
    assert not verdict.ok and "output padding must be smaller than either stride" in verdict.error


@pytest.mark.parametrize(
    ("layer_type", "args", "shape", "texts"),
    [
        (
            "ConvTranspose2d",
            {"out_channels": 1, "kernel_size": 3, "stride": 2, "padding": 1, "output_padding": 1},
            (1, 1, 16, 16),
            [
                "H: (16 − 1)·2 − 2·1 + 1·(3−1) + 1 + 1 = 32",
                "W: (16 − 1)·2 − 2·1 + 1·(3−1) + 1 + 1 = 32",
            ],
        ),
        ("Upsample", {"scale_factor": 2.0}, (1, 1, 16, 8), ["H: ⌊16·2.0⌋ = 32", "W: ⌊8·2.0⌋ = 16"]),
        ("Upsample", {"scale_factor": 0.29}, (1, 1, 100), ["L: ⌊100·0.29⌋ = 28"]),
        (
            "ZeroPad2d",
            {"padding": [1, 2, -3, 4]},
            (1, 1, 5, 5),
            ["H: −3 + 5 + 4 = 6", "W: 1 + 5 + 2 = 8"],
        ),
        (
            "AdaptiveAvgPool1d",
            {"output_size": 7},
            (1, 1, 13),
            ["L: 13 → 7 (output_size; windows of 2 to 3)"],
        ),
        (
            "LPPool1d",
            {"norm_type": 2, "kernel_size": 3, "stride": 2},
            (1, 1, 9),
            ["L: ⌊(9 − 3)/2⌋ + 1 = 4"],
        ),
    ],
)
def test_formula_text_shows_the_users_numbers(  # type: ignore[no-untyped-def]
    layer_type, args, shape, texts
):
    outcome = REGISTRY[layer_type].model_validate({"type": layer_type, **args}).infer(shape)
    assert [d.text for d in outcome.dims] == texts
