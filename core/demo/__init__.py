"""The deterministic demo portfolio: 18 models over 6 business units, with two years of history.

``build_demo(engine, seed=None, today=None, predictions_per_day=40)`` fills an empty registry
through the registry services (so everything is audited) and returns counts and seconds.
Same seed and same ``today`` give the same registry content, except the audit log's own
timestamps and hashes. Every date written derives from ``today``.

What is in it (see ``catalogue.py``; ``DEMO_FACTS`` lists the facts tests rely on):

- People: the personas of ``PERSONAS`` (Anna Dekker, Tom Jansen, Priya Shah, ... all
  ``@demo.steward``) with their roles; Jan de Vries is technical owner of one model and has
  left. Versions are created by their technical owner (a model_owner), never by an approver.
- Models: real scikit-learn models trained at build time on data generated with numpy.
  Stage history with realistic dates (``stage_change``), deployments, business rules.
- Prediction logs for every day a version was in production, ``predictions_per_day`` a day,
  made by the real model on generated inputs; ~15% labelled with a delay of 1-13 days
  (no labels for the last 14 days). Covariate drift, concept drift and an outage are
  injected into the models named in ``DEMO_FACTS``.
- About 19 months of daily costs (compute, storage, inference, labelling; EUR) per model.

Artifact conventions (used by explanations and drift):

- ``ModelVersion.artifact_uri`` (format ``skops``, sha256 in ``artifact_sha256``) is a fitted
  ``sklearn.pipeline.Pipeline([("prep", ColumnTransformer), ("model", estimator)])``. Load it
  with ``core.registry.artifacts.load_verified(uri, sha256, "skops")``. It takes a DataFrame
  with the columns ``ModelVersion.feature_names`` (in that order). ``prep`` one-hot encodes
  the string columns (``OneHotEncoder(handle_unknown="ignore", sparse_output=False)``) and
  passes the numeric ones through (standardised for logistic regression, MLP, SVM and k-NN);
  ``prep.get_feature_names_out()`` gives readable names (``verbose_feature_names_out=False``).
  The SVM's ``model`` step is ``CalibratedClassifierCV(SVC(), ensemble=False)`` (scikit-learn's
  replacement for ``SVC(probability=True)``). Classifiers are binary: ``predict_proba(X)[:, 1]`` is the logged ``score``; the logged
  ``prediction`` is ``score >= 0.5``. Regressors log ``prediction`` and no score.
- ``training_dataset_id`` and ``evaluation_dataset_id`` point to ``Dataset`` rows whose ``uri``
  is a parquet file in the artifact store (relative to ``settings.artifact_dir``; check it with
  ``core.registry.artifacts.verify_artifact(dataset.uri, dataset.content_hash)``). Columns:
  the version's feature names plus ``label``. The training sample (<= 5,000 rows) is the
  reference for drift; the evaluation sample (<= 2,000 rows) is the out-of-time hold-out
  the version's metrics were computed on.
- Store layout: ``<Model_name>/v<N>/model.skops``, ``training_sample.parquet``,
  ``evaluation_sample.parquet``.

Labels: ``prediction_log.labelled_at`` is when the label arrived and ``labelled_by_id`` who gave
it (Lisa Meyer for claims, Sven Olsen for fraud, the system account for outcomes read from
source systems). Area steps (``core/demo/steps.py``) run after the base portfolio.
"""

from core.demo.build import build_demo, portfolio_counts
from core.demo.catalogue import DEMO_FACTS, MODELS, PERSONAS

__all__ = ["build_demo", "portfolio_counts", "DEMO_FACTS", "MODELS", "PERSONAS"]
