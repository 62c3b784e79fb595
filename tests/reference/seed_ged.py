"""Reference code for the GED seed (/work/shared/seeds/ged-gpt2-him-her.txt), used by
make_ged_fixtures.py.  Not a generator itself.

``dimred_PCA`` (Exercise 3), ``sourcesep_GED_train`` (Exercise 4) and the per-layer loop
(Exercise 5, inside ``run_seed``) are copied with their numerical statements VERBATIM.  Do not
"fix" them here.  What changed, and only in how inputs arrive and what comes out:

* The seed reads globals (train_activations, train_tokens, sentences, him_sentences,
  her_sentences, test_activations, numLayers).  Here ``run_seed(train_layers, a_idx, b_idx,
  test_layers, test_a_idx, test_b_idx)`` takes them as arguments and sets the module globals the
  seed's functions read (trainacts, PCA_eigvecs, numComps2keep, him_sentences, her_sentences).
* ``train_layers[L]`` is the [N, D] target-token activation matrix, already extracted (the seed
  picks the " him"/" her" row out of the hook output inside dimred_PCA; the generator does that
  extraction).  ``dimred_PCA`` still builds ``trainacts`` as float64 with np.zeros and fills it
  row by row from the (float32) rows, as the seed does.
* ``test_layers[L]`` is the [M, D] test matrix (the seed's ``test_activations[...][:,5,:]``),
  and the seed's test split [:50] / [50:] becomes test_a_idx / test_b_idx.
* ``sourcesep_GED_train`` additionally returns mlpPattern_him, mlpPattern_her and the full
  sorted evalsHim, evalsHer; the loop additionally records per layer numComps2keep, the filters
  PCA_eigvecs[:,:numComps2keep] @ evecsHim[:,0] (and ...Her), the patterns, the train
  projections and the test projections.

Quirks kept on purpose:
* ``numComps2keep = np.where(cumVarExplained>99)[0][0]`` is an INDEX used as a COUNT: the first
  index whose cumulative variance exceeds 99 % is i, and i components (0..i-1) are kept, i.e. one
  fewer than the smallest count that reaches > 99 %.
* ``lowD_acts = trainacts @ PCA_eigvecs[...]`` projects the UNCENTRED activations (np.cov
  centres each class itself; the projections keep the offset).
* regularisation uses ``np.mean(np.linalg.eig(C)[0])`` (= trace(C)/m up to rounding; for a
  singular C the general eig may return complex-conjugate pairs, which makes the regularised
  matrix complex and scipy.linalg.eigh take the Hermitian path; np.real is applied afterwards).
* scipy.linalg.eigh(A, B) scales eigenvectors so that v^T B v = 1; the SIGN of each eigenvector
  is LAPACK's and arbitrary, so filters, patterns and projections are defined up to sign (|t|
  and |r| are not affected).
"""

import numpy as np
import scipy.linalg
import scipy.stats as stats
from sklearn.decomposition import PCA

# module globals read by the seed's functions (set by run_seed)
train_layers = None
trainacts = None
PCA_eigvecs = None
numComps2keep = None
him_sentences = None
her_sentences = None
last_pca = None  # the fitted PCA object of the latest dimred_PCA call (for reporting)


# Exercise 3: A function for PCA
def dimred_PCA(layerNum):
  global last_pca

  # --- get target activations
  # (seed: np.zeros((len(sentences), train_activations[f'mlp_{layerNum}'].shape[-1])) and the
  #  row at the " him"/" her" token of each sentence; here the rows are already extracted)
  trainacts = np.zeros((train_layers[layerNum].shape[0],train_layers[layerNum].shape[-1]))

  for senti in range(train_layers[layerNum].shape[0]):

    # then get the activation
    trainacts[senti,:] = train_layers[layerNum][senti,:]

  # --- PCA via sklearn's PCA()
  pca = PCA().fit(trainacts)
  cumVarExplained = np.cumsum(100*pca.explained_variance_ratio_)
  PCA_eigvecs = pca.components_.T # pca.components_ have eigenvectors in the rows

  # how many components to explain 99% of the variability?
  # NB: an index used as a count (keeps one fewer than the first count reaching > 99 %)
  numComps2keep = np.where(cumVarExplained>99)[0][0]

  last_pca = pca
  # --- output the activations, eigenvectors, and number of components to keep
  return trainacts,PCA_eigvecs,numComps2keep


# Exercise 4: A function for GED
def sourcesep_GED_train(layerNum):

  # --- create the regularized covariance matrices

  # compress down to numComps2keep dimensions
  lowD_acts = trainacts @ PCA_eigvecs[:,:numComps2keep]

  # covariance matrices
  himProjcov = np.cov(lowD_acts[him_sentences,:].T)
  herProjcov = np.cov(lowD_acts[her_sentences,:].T)

  # regularization
  regu_gam = .01
  himProjcovS = (1-regu_gam)*himProjcov + regu_gam*np.mean(np.linalg.eig(himProjcov)[0])*np.eye(numComps2keep)
  herProjcovS = (1-regu_gam)*herProjcov + regu_gam*np.mean(np.linalg.eig(herProjcov)[0])*np.eye(numComps2keep)


  # --- generalized eigendecomposition
  #     (note: using regularized matrices only for "R" (second input))

  # HIM > HER: eig and sort
  evalsHim,evecsHim = scipy.linalg.eigh(himProjcov,herProjcovS)
  idx = evalsHim.argsort()[::-1]
  evalsHim = np.real(evalsHim[idx])
  evecsHim = np.real(evecsHim[:,idx]) # sort the columns, not the rows!

  # HER > HIM
  evalsHer,evecsHer = scipy.linalg.eigh(herProjcov,himProjcovS)
  idx = evalsHer.argsort()[::-1]
  evalsHer = np.real(evalsHer[idx])
  evecsHer = np.real(evecsHer[:,idx])

  # project the data onto the top GED vectors
  ged_proj_him = lowD_acts @ evecsHim[:,0]
  ged_proj_her = lowD_acts @ evecsHer[:,0]

  # find the pattern in the covariance matrix (through the PC vectors to return to MLP space)
  mlpPattern_him = PCA_eigvecs[:,:numComps2keep] @ himProjcov @ evecsHim[:,0]
  mlpPattern_her = PCA_eigvecs[:,:numComps2keep] @ herProjcov @ evecsHer[:,0]

  r = stats.pearsonr(np.real(mlpPattern_him),np.real(mlpPattern_her))

  # --- output the projections, vectors, and correlations
  # (added: the patterns and the full sorted eigenvalue vectors)
  return (ged_proj_him,ged_proj_her,evecsHim,evecsHer,r,evalsHim[0],evalsHer[0],
          mlpPattern_him,mlpPattern_her,evalsHim,evalsHer)


def run_seed(train_layers_in, a_idx, b_idx, test_layers_in, test_a_idx, test_b_idx):
  """Exercise 5 for every layer.  Returns a dict with ged_results [L, 7, 2] and per-layer lists
  (see the module docstring)."""
  global train_layers, trainacts, PCA_eigvecs, numComps2keep, him_sentences, her_sentences
  train_layers = train_layers_in
  him_sentences = np.asarray(a_idx)
  her_sentences = np.asarray(b_idx)
  numLayers = len(train_layers)
  out = {k: [] for k in ["numComps2keep", "evalsHim", "evalsHer", "filter_him", "filter_her",
                         "mlpPattern_him", "mlpPattern_her", "ged_proj_him", "ged_proj_her",
                         "ged_proj_him_test", "ged_proj_her_test", "pca_solver",
                         "cumVarExplained", "pca_explained_variance"]}

  # initialize a results matrix
  ged_results = np.zeros((numLayers,7,2))


  # loop over layers
  for layeri in range(numLayers):


    ### --- training data to get GED vectors
    # PCA
    trainacts,PCA_eigvecs,numComps2keep = dimred_PCA(layeri)

    # GED
    (ged_proj_him,ged_proj_her,evecsHim,evecsHer,r,evHim,evHer,
     mlpPattern_him,mlpPattern_her,evalsHim,evalsHer) = sourcesep_GED_train(layeri)

    # statistical results and their p-values
    tres = stats.ttest_ind(ged_proj_him[him_sentences],ged_proj_him[her_sentences])
    ged_results[layeri,0,0] = abs( tres.statistic )
    ged_results[layeri,0,1] = tres.pvalue

    tres = stats.ttest_ind(ged_proj_her[him_sentences],ged_proj_her[her_sentences])
    ged_results[layeri,1,0] = abs( tres.statistic )
    ged_results[layeri,1,1] = tres.pvalue

    ged_results[layeri,2,0] = abs( r.statistic )
    ged_results[layeri,2,1] = r.pvalue

    # top eigenvalues
    ged_results[layeri,5,0] = evHim
    ged_results[layeri,5,1] = evHer

    # number of components to reach 99% variance explained
    ged_results[layeri,6,0] = numComps2keep


    ### --- out-of-sample evaluation
    # get target activations (seed: test_activations[f'mlp_{layeri}'][:,5,:])
    testacts = test_layers_in[layeri]

    # project down to numComps2keep dimensions
    actsProj = testacts @ PCA_eigvecs[:,:numComps2keep]

    # then project onto the top GED vectors
    ged_proj_him_test = actsProj @ evecsHim[:,0]
    ged_proj_her_test = actsProj @ evecsHer[:,0]

    # ttests (seed: [:50] vs [50:])
    tres = stats.ttest_ind(ged_proj_him_test[test_a_idx],ged_proj_him_test[test_b_idx])
    ged_results[layeri,3,0] = abs( tres.statistic )
    ged_results[layeri,3,1] = tres.pvalue

    tres = stats.ttest_ind(ged_proj_her_test[test_a_idx],ged_proj_her_test[test_b_idx])
    ged_results[layeri,4,0] = abs( tres.statistic )
    ged_results[layeri,4,1] = tres.pvalue

    # --- added: everything else the fixtures store
    out["numComps2keep"].append(int(numComps2keep))
    out["evalsHim"].append(evalsHim)
    out["evalsHer"].append(evalsHer)
    out["filter_him"].append(PCA_eigvecs[:,:numComps2keep] @ evecsHim[:,0])
    out["filter_her"].append(PCA_eigvecs[:,:numComps2keep] @ evecsHer[:,0])
    out["mlpPattern_him"].append(np.real(mlpPattern_him))
    out["mlpPattern_her"].append(np.real(mlpPattern_her))
    out["ged_proj_him"].append(ged_proj_him)
    out["ged_proj_her"].append(ged_proj_her)
    out["ged_proj_him_test"].append(ged_proj_him_test)
    out["ged_proj_her_test"].append(ged_proj_her_test)
    out["pca_solver"].append(last_pca._fit_svd_solver)
    out["cumVarExplained"].append(np.cumsum(100*last_pca.explained_variance_ratio_))
    out["pca_explained_variance"].append(last_pca.explained_variance_)

  out["ged_results"] = ged_results
  return out
