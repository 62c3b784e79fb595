"""Generate tests/data/analysis/: small inputs for the CLI tests of `actlens pca` and `actlens ged`
(tests/cli/analysis_tests.cmake), mostly ones they must refuse with one clear line.

Files (float32 arrays, seed 5):
  good.npy           [20, 8]     random normal rows (a valid input)
  good_layers.npy    [20, 2, 8]  random normal, with a layer axis
  nan.npy            [20, 8]     good.npy with X[7, 3] = NaN
  inf_layers.npy     [20, 2, 8]  good_layers.npy with X[12, 1, 0] = +Inf
  constant.npy       [20, 8]     every value 1.5 (zero variance everywhere)
  two_classes.csv    label: 10 x "a", then 10 x "b"
  one_class.csv      label: 20 x "a"
  lone_b.csv         label: 19 x "a", then one "b"
  three_classes.csv  label: 7 x "a", 7 x "b", 6 x "c"
  short_labels.csv   label: 5 rows (a count that matches no array)
  class_a.npy        [10, 8]     good.npy rows 0..9 (the "a" rows of two_classes.csv)
  class_b.npy        [10, 8]     good.npy rows 10..19 (--a/--b must equal --labels)
  wider.npy          [20, 12]    random normal: 12 features where the others have 8
"""
import os

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "analysis")


def labels(path, values):
    with open(path, "w") as f:
        f.write("label\n")
        for v in values:
            f.write(v + "\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(5)
    good = rng.standard_normal((20, 8)).astype(np.float32)
    np.save(os.path.join(OUT, "class_a.npy"), good[:10])
    np.save(os.path.join(OUT, "class_b.npy"), good[10:])
    np.save(os.path.join(OUT, "wider.npy"), rng.standard_normal((20, 12)).astype(np.float32))
    layers = rng.standard_normal((20, 2, 8)).astype(np.float32)
    np.save(os.path.join(OUT, "good.npy"), good)
    np.save(os.path.join(OUT, "good_layers.npy"), layers)
    nan = good.copy()
    nan[7, 3] = np.nan
    np.save(os.path.join(OUT, "nan.npy"), nan)
    inf = layers.copy()
    inf[12, 1, 0] = np.inf
    np.save(os.path.join(OUT, "inf_layers.npy"), inf)
    np.save(os.path.join(OUT, "constant.npy"), np.full((20, 8), 1.5, dtype=np.float32))
    labels(os.path.join(OUT, "two_classes.csv"), ["a"] * 10 + ["b"] * 10)
    labels(os.path.join(OUT, "one_class.csv"), ["a"] * 20)
    labels(os.path.join(OUT, "lone_b.csv"), ["a"] * 19 + ["b"])
    labels(os.path.join(OUT, "three_classes.csv"), ["a"] * 7 + ["b"] * 7 + ["c"] * 6)
    labels(os.path.join(OUT, "short_labels.csv"), ["a", "b", "a", "b", "a"])
    # t-SNE thread-count check: 1000 clustered points in 30-D, large enough that OpenBLAS
    # threads its products (a thread-dependent PCA init would show as different bytes)
    trng = np.random.default_rng(7)
    centres = trng.normal(size=(8, 30)) * 4
    np.save(os.path.join(OUT, "tsne_threads.npy"),
            (centres[trng.integers(0, 8, 1000)] + trng.normal(size=(1000, 30))).astype(np.float32))
    print("wrote", sorted(os.listdir(OUT)))


if __name__ == "__main__":
    main()
