"""SHAP explanations on a model's original features: explainers, stored global summaries, sentences.

Everything here imports shap lazily: the first page of the app must not pay for it.
"""
