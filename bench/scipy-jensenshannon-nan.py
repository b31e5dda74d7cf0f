"""How often SciPy's jensenshannon returns NaN for distributions one ulp apart (scipy#20083),
the figure in docs/semantics.md: python3 bench/scipy-jensenshannon-nan.py"""
import warnings

import numpy as np
import scipy
from scipy.spatial.distance import jensenshannon

warnings.simplefilter("ignore", RuntimeWarning)  # the sqrt of a negative rounding residue
rng = np.random.default_rng(1)
N, DIM = 2000, 16
nan = sum(bool(np.isnan(jensenshannon(p, np.nextafter(p, 1)))) for p in (rng.dirichlet(np.ones(DIM)) for _ in range(N)))
print(f"scipy {scipy.__version__}: jensenshannon is NaN for {nan} of {N} random {DIM}-bin pairs one ulp apart ({100 * nan / N:.0f} %)")
