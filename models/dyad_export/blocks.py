"""Building blocks whose forward the exporter knows, for models meant to be exported.

Any nn.Sequential made of these blocks and of the leaf modules listed in
qgraph.lower() can be exported; anything else raises ExportError naming the module.
"""
from torch import nn


class ConvBN(nn.Module):
    """Conv2d (no bias, 'same' padding for odd kernels) followed by BatchNorm2d.

    The BatchNorm is folded into the conv at export (HAWQ-V3 fix_BN).
    """

    def __init__(self, cin, cout, kernel, stride=1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return self.bn(self.conv(x))


class BasicBlock(nn.Module):
    """ResNet basic block: relu(conv2(relu(conv1(x))) + shortcut(x)).

    The shortcut is the identity, or a strided 1x1 ConvBN when the shape changes.
    Exported as conv -> conv (int32 accumulator) -> add(accumulator, identity or
    shortcut accumulator) with a fused ReLU.
    """

    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = ConvBN(cin, cout, 3, stride)
        self.conv2 = ConvBN(cout, cout, 3, 1)
        self.shortcut = ConvBN(cin, cout, 1, stride) if (stride != 1 or cin != cout) else None
        self.relu = nn.ReLU()

    def forward(self, x):
        y = self.conv2(self.relu(self.conv1(x)))
        s = x if self.shortcut is None else self.shortcut(x)
        return self.relu(y + s)
