"""The float networks: a small ResNet (exportable to dyad) and a small ViT."""
from collections import OrderedDict

import torch
from torch import nn

from ..dyad_export.blocks import BasicBlock, ConvBN


class ResNet(nn.Sequential):
    """stem 3x3 conv + BN + ReLU, 2x2 max pool, residual blocks, global average pool, FC.

    A Sequential, so the exporter can walk it in execution order.
    """

    def __init__(self, widths=(16, 32, 64), num_classes=10):
        blocks = [BasicBlock(widths[0], widths[0], 1)]
        for cin, cout in zip(widths[:-1], widths[1:]):
            blocks.append(BasicBlock(cin, cout, 2))
        super().__init__(OrderedDict([
            ("stem", ConvBN(1, widths[0], 3)),
            ("stem_relu", nn.ReLU()),
            ("pool", nn.MaxPool2d(2)),
            ("blocks", nn.Sequential(*blocks)),
            ("gap", nn.AdaptiveAvgPool2d(1)),
            ("flatten", nn.Flatten()),
            ("fc", nn.Linear(widths[-1], num_classes)),
        ]))


class Linear(nn.Linear):
    """nn.Linear computed as a 1x1 convolution.

    Debian's torch links the reference BLAS, which makes matmul about 7x slower
    than oneDNN's convolution on this machine. Parameters and state_dict keys are
    exactly nn.Linear's, so checkpoints load into a plain nn.Linear.
    """

    def forward(self, x):
        shape = x.shape
        y = nn.functional.conv2d(x.reshape(-1, shape[-1], 1, 1),
                                 self.weight[:, :, None, None], self.bias)
        return y.view(*shape[:-1], self.out_features)


class EncoderLayer(nn.Module):
    """Post-LN transformer encoder layer (BERT order, which I-BERT quantizes)."""

    def __init__(self, dim, heads, mlp):
        super().__init__()
        self.heads = heads
        self.q = Linear(dim, dim)
        self.k = Linear(dim, dim)
        self.v = Linear(dim, dim)
        self.proj = Linear(dim, dim)
        self.ln1 = nn.LayerNorm(dim)
        self.fc1 = Linear(dim, mlp)
        self.act = nn.GELU()
        self.fc2 = Linear(mlp, dim)
        self.ln2 = nn.LayerNorm(dim)

    def forward(self, x):
        b, t, d = x.shape
        h = self.heads
        q = self.q(x).view(b, t, h, d // h).transpose(1, 2)
        k = self.k(x).view(b, t, h, d // h).transpose(1, 2)
        v = self.v(x).view(b, t, h, d // h).transpose(1, 2)
        att = torch.softmax(q @ k.transpose(-1, -2) / (d // h) ** 0.5, dim=-1)
        ctx = (att @ v).transpose(1, 2).reshape(b, t, d)
        x = self.ln1(x + self.proj(ctx))
        return self.ln2(x + self.fc2(self.act(self.fc1(x))))


class ViT(nn.Module):
    """Patch embedding (conv with stride = patch), class token, learned positions,
    post-LN encoder layers, classifier on the class token."""

    def __init__(self, patch=4, dim=64, depth=2, heads=4, mlp=128, num_classes=10, image=28):
        super().__init__()
        self.patch_embed = nn.Conv2d(1, dim, patch, stride=patch)
        tokens = (image // patch) ** 2 + 1
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.randn(1, tokens, dim) * 0.02)
        self.layers = nn.Sequential(*[EncoderLayer(dim, heads, mlp) for _ in range(depth)])
        self.head = Linear(dim, num_classes)

    def forward(self, x):
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        x = self.layers(x)
        return self.head(x[:, 0])
