"""An oracle factory for ``lossrecon attack``: a 64-32-16-10 ReLU network on 300 digits.

lossrecon attack --oracle examples/digits_oracle.py:oracle --widths 64,32,16,10 --out rec.npz
python examples/digits_oracle.py truth.npz      # the private data, to score the result
lossrecon evaluate rec.npz --truth truth.npz
"""

import sys

import numpy as np

import lossrecon as lr


def private_data() -> lr.Dataset:
    return lr.load_dataset("digits", n_samples=300, random_state=0)


def oracle() -> lr.NumpyLossOracle:
    data = private_data()
    return lr.NumpyLossOracle(lr.ReLUNetwork([64, 32, 16, 10]), data.inputs, data.targets)


if __name__ == "__main__":
    data = private_data()
    np.savez(sys.argv[1], inputs=data.inputs, targets=data.targets)
