"""Reference code for the LDA (between-class scatter) seed, shared by the fixture generators.

What is in here
---------------
* ``prepare_class_data`` and ``find_role_variance_subspace``: copied VERBATIM from the seed
  notebook /work/shared/seeds/lda-role-activations.txt (cells "In [11]" and "In [12]").  They are
  the reference algorithm; do not "fix" them here.  Known quirks kept on purpose:
    - class order = acts2 dict order (pos_2 classes) then acts3 dict order (pos_3 classes);
    - with float32 input (the seed's ``.float().numpy()``) the scaler output, the means and the
      outer products are float32, only the scatter sums are float64;
    - ``np.linalg.eig(np.linalg.pinv(S_T) @ S_B)`` with NumPy's default pinv cutoff
      (rcond = 1e-15 * largest singular value), real parts taken, eigenvectors unit-norm, sign
      arbitrary.
* ``load_scores`` / ``load_role_activations``: the seed's data-loading cells ("In [6]", "In [9]"),
  with one deliberate change: directory entries are visited in SORTED order (the seed used raw
  ``os.listdir`` order, which is filesystem dependent).
* ``MeanScaler`` / ``L2MeanScaler``: re-implementations of the scalers the seed imports from
  ``utils.pca_utils`` (facts from /work/shared/docs/SEED-NOTES.md): MeanScaler subtracts the
  fitted mean; L2MeanScaler subtracts the fitted mean and divides each row by
  max(||row||_2, 1e-12).  Attribute names (``mean``, ``eps``) follow the public pipeline so that a
  pickled instance has the same state layout.  Their ``__module__`` is "utils.pca_utils" and
  ``install_fake_pca_utils()`` registers that module in ``sys.modules`` so that pickling
  (torch.save) and unpickling (torch.load(weights_only=False)) work without the real package.
* ``eigh_range_lda``: an independent solver used for sanity checks (see make_lda_fixtures.py).

Not a generator itself; imported by make_roles_example.py and make_lda_fixtures.py.
"""

import json
import os
import sys
import types

import numpy as np
import scipy.linalg
import torch


# ---------------------------------------------------------------------------------------------
# Scalers standing in for utils.pca_utils (module name matters for pickles)
# ---------------------------------------------------------------------------------------------
class MeanScaler:
    """x -> x - mean (mean over all but the last axis, fitted once)."""

    def __init__(self, mean=None):
        self.mean = mean

    def fit(self, X):
        X = np.asarray(X)
        if self.mean is None:
            self.mean = X.mean(axis=tuple(range(X.ndim - 1)))
        return self

    def transform(self, X):
        if self.mean is None:
            raise RuntimeError("MeanScaler not fitted")
        return np.asarray(X) - self.mean

    def fit_transform(self, X):
        return self.fit(X).transform(X)


class L2MeanScaler:
    """x -> (x - mean) / max(||x - mean||_2 (per row), eps), eps = 1e-12."""

    def __init__(self, mean=None, eps: float = 1e-12):
        self.mean = mean
        self.eps = eps

    def fit(self, X):
        X = np.asarray(X)
        if self.mean is None:
            self.mean = X.mean(axis=tuple(range(X.ndim - 1)))
        return self

    def transform(self, X):
        if self.mean is None:
            raise RuntimeError("L2MeanScaler not fitted")
        Xc = np.asarray(X) - self.mean
        norms = np.linalg.norm(Xc, ord=2, axis=-1, keepdims=True)
        return Xc / np.maximum(norms, self.eps)

    def fit_transform(self, X):
        return self.fit(X).transform(X)


MeanScaler.__module__ = "utils.pca_utils"
L2MeanScaler.__module__ = "utils.pca_utils"


def install_fake_pca_utils():
    """Register modules ``utils`` and ``utils.pca_utils`` holding the two scaler classes."""
    utils = sys.modules.get("utils")
    if utils is None:
        utils = types.ModuleType("utils")
        utils.__path__ = []  # mark as package
        sys.modules["utils"] = utils
    mod = sys.modules.get("utils.pca_utils")
    if mod is None:
        mod = types.ModuleType("utils.pca_utils")
        sys.modules["utils.pca_utils"] = mod
    mod.MeanScaler = MeanScaler
    mod.L2MeanScaler = L2MeanScaler
    utils.pca_utils = mod
    return mod


install_fake_pca_utils()


# ---------------------------------------------------------------------------------------------
# Seed data-loading cells (In [6], In [9]); only change: sorted(os.listdir(...))
# ---------------------------------------------------------------------------------------------
def load_scores(dir):
    # load in scores
    scores = {}
    for file in sorted(os.listdir(f"{dir}/extract_scores")):
        if file.endswith('.json'):
            scores[file.replace('.json', '')] = json.load(open(f"{dir}/extract_scores/{file}"))
    return scores


def load_role_activations(dir, scores):
    # load in raw activations
    acts3 = {}
    acts2 = {}
    for file in sorted(os.listdir(f"{dir}/response_activations")):
        if file.endswith('.pt') and 'default' not in file:
            # dict we should iterate over (1200 each)
            role_acts3 = []
            role_acts2 = []
            obj = torch.load(f"{dir}/response_activations/{file}")
            for key in obj:
                if scores[file.replace('.pt', '')][key] == 3:
                    role_acts3.append(obj[key])
                elif scores[file.replace('.pt', '')][key] == 2:
                    role_acts2.append(obj[key])
            if role_acts3:
                acts3[file.replace('.pt', '')] = torch.stack(role_acts3)
            if role_acts2:
                acts2[file.replace('.pt', '')] = torch.stack(role_acts2)
    return acts2, acts3


# ---------------------------------------------------------------------------------------------
# VERBATIM from the seed (In [11])
# ---------------------------------------------------------------------------------------------
def prepare_class_data(acts2, acts3, layer, min_samples=10):
    """
    Combine acts2 and acts3 dictionaries into class-based structure.
    
    Parameters:
    -----------
    acts2 : dict
        Dictionary mapping role names to tensors of shape [n_samples, n_layers, N]
    acts3 : dict
        Dictionary mapping role names to tensors of shape [n_samples, n_layers, N]
    layer : int
        Which layer to extract activations from
    min_samples : int
        Minimum number of samples required to include a class
    
    Returns:
    --------
    class_data : dict
        Dictionary mapping class names (e.g., "graduate_pos_2") to arrays of shape [n_samples, N]
    """
    class_data = {}
    
    # Process pos_2 samples
    for role, activations in acts2.items():
        class_name = f"{role}_pos_2"
        # Extract specified layer
        layer_acts = activations[:, layer, :].float().numpy()
        if len(layer_acts) >= min_samples:
            class_data[class_name] = layer_acts
    
    # Process pos_3 samples
    for role, activations in acts3.items():
        class_name = f"{role}_pos_3"
        # Extract specified layer
        layer_acts = activations[:, layer, :].float().numpy()
        if len(layer_acts) >= min_samples:
            class_data[class_name] = layer_acts
    
    return class_data


# ---------------------------------------------------------------------------------------------
# VERBATIM from the seed (In [12])
# ---------------------------------------------------------------------------------------------
def find_role_variance_subspace(class_data, scaler=None, k=None):
    """
    Find subspace maximizing between-class variance using Linear Discriminant Analysis.
    
    Parameters:
    -----------
    class_data : dict
        Dictionary mapping class names to arrays of shape [n_samples, N]
    scaler : sklearn-compatible scaler or None
        Optional scaler (StandardScaler, L2MeanScaler, MeanScaler, etc.)
    k : int, optional
        Number of dimensions in subspace. If None, returns all components.
    
    Returns:
    --------
    projection_matrix : array of shape [N, k]
        Columns are the optimal projection directions
    eigenvalues : array
        The eigenvalues (variance ratios)
    projected_data : dict
        Dictionary mapping class names to projected data of shape [n_samples, k]
    """
    # Gather all data and class information
    class_names = list(class_data.keys())
    class_samples = [class_data[name] for name in class_names]
    class_sizes = [len(samples) for samples in class_samples]
    
    # Concatenate all data
    X = np.vstack(class_samples)  # shape: [total_samples, N]
    N = X.shape[1]
    
    # Apply scaler if provided
    if scaler is not None:
        X = scaler.fit_transform(X)
        # Also transform individual classes for later projection
        scaled_class_samples = []
        start_idx = 0
        for size in class_sizes:
            scaled_class_samples.append(X[start_idx:start_idx + size])
            start_idx += size
        class_samples = scaled_class_samples
    
    # Compute overall mean
    mu_total = X.mean(axis=0)
    
    # Compute per-class means
    class_means = [samples.mean(axis=0) for samples in class_samples]
    
    # Compute between-class scatter matrix (weighted by number of samples)
    S_B = np.zeros((N, N))
    for i, (mean, n_samples) in enumerate(zip(class_means, class_sizes)):
        diff = mean - mu_total
        S_B += n_samples * np.outer(diff, diff)
    
    # Compute total scatter matrix
    S_T = np.zeros((N, N))
    for i in range(len(X)):
        diff = X[i] - mu_total
        S_T += np.outer(diff, diff)
    
    # Solve generalized eigenvalue problem: S_B w = λ S_T w
    # Equivalent to: (S_T^-1 @ S_B) w = λ w
    eigenvalues, eigenvectors = np.linalg.eig(
        np.linalg.pinv(S_T) @ S_B
    )
    
    # Sort by eigenvalue (descending)
    idx = eigenvalues.argsort()[::-1]
    eigenvalues = eigenvalues[idx].real
    eigenvectors = eigenvectors[:, idx].real
    
    # Select top k components
    if k is not None:
        eigenvectors = eigenvectors[:, :k]
        eigenvalues = eigenvalues[:k]
    
    # Project data onto subspace
    projected_data = {}
    for name, samples in zip(class_names, class_samples):
        projected_data[name] = samples @ eigenvectors
    
    return eigenvectors, eigenvalues, projected_data


# ---------------------------------------------------------------------------------------------
# Independent solver for sanity checks (not part of the seed)
# ---------------------------------------------------------------------------------------------
def scatter_matrices(Xs, labels):
    """Float64 S_B, S_T, S_W of already-scaled data Xs [N, D] with integer-like labels [N]."""
    Xs = np.asarray(Xs, dtype=np.float64)
    mu = Xs.mean(axis=0)
    Xc = Xs - mu
    S_T = Xc.T @ Xc
    D = Xs.shape[1]
    S_B = np.zeros((D, D))
    S_W = np.zeros((D, D))
    for c in dict.fromkeys(labels.tolist()):
        m = labels == c
        Xk = Xs[m]
        mk = Xk.mean(axis=0)
        d = mk - mu
        S_B += m.sum() * np.outer(d, d)
        Z = Xk - mk
        S_W += Z.T @ Z
    return 0.5 * (S_B + S_B.T), 0.5 * (S_T + S_T.T), 0.5 * (S_W + S_W.T)


def eigh_range_lda(S_B, S_T, N, k):
    """Solve S_B w = lambda S_T w on range(S_T).

    Eigendecompose S_T, keep eigenvalues > max(N, D) * eps * max eigenvalue, whiten
    (W = V_r diag(e_r^-1/2)), eigh of W^T S_B W.  Returns (eigenvalues [k] descending,
    components [k, D] unit-norm rows, rank of S_T).
    """
    D = S_T.shape[0]
    e, V = scipy.linalg.eigh(S_T)
    tol = max(N, D) * np.finfo(np.float64).eps * e.max()
    keep = e > tol
    W = V[:, keep] / np.sqrt(e[keep])
    M = W.T @ S_B @ W
    M = 0.5 * (M + M.T)
    lam, U = scipy.linalg.eigh(M)
    order = np.argsort(lam)[::-1][:k]
    lam = lam[order]
    comps = (W @ U[:, order]).T
    comps /= np.linalg.norm(comps, axis=1, keepdims=True)
    return lam, comps, int(keep.sum())
