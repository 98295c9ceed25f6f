"""An oracle factory for ``lossrecon attack --blind``: an 8-6-4-1 ReLU network on 20
Gaussian samples. The attacker is told nothing but N.

    lossrecon attack --oracle examples/blind_oracle.py:oracle --blind --out rec.npz
    python examples/blind_oracle.py truth.npz      # the private data, to score the result
    lossrecon evaluate rec.npz --truth truth.npz
"""

import sys

import numpy as np

import lossrecon as lr


def private_data() -> lr.Dataset:
    return lr.synthetic(20, 8, 1, random_state=0)


def oracle() -> lr.NumpyLossOracle:
    data = private_data()
    return lr.NumpyLossOracle(lr.ReLUNetwork([8, 6, 4, 1]), data.inputs, data.targets)


if __name__ == "__main__":
    data = private_data()
    np.savez(sys.argv[1], inputs=data.inputs, targets=data.targets)
