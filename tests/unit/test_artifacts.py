"""The artifact store: one folder per model name (never shared by two models), files never
overwritten once registered, loading only after the sha256 matched."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import skops.io
from sklearn.linear_model import LogisticRegression

from core.errors import IntegrityViolation, InvalidInput
from core.registry import artifacts

# Names that one slug (non-alphanumerics -> "_") or a case-insensitive file system would merge.
LOOKALIKES = ["a-b", "a_b", "a b", "a/b", "A b", "a.b", "a\\b", "a:b"]


def _file(tmp_path: Path, content: bytes, name: str = "model.joblib") -> Path:
    folder = tmp_path / "incoming" / content.hex()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(content)
    return path


def test_models_whose_names_differ_only_in_punctuation_or_case_get_their_own_files(tmp_path: Path) -> None:
    stored = {}
    for name in LOOKALIKES:
        content = f"weights of {name}".encode()
        stored[name] = (
            *artifacts.store_artifact(_file(tmp_path, content), model_name=name, version=1),
            content,
        )
    uris = [uri for uri, _, _ in stored.values()]
    assert len(set(uris)) == len(LOOKALIKES)
    folders = [uri.split("/")[0] for uri in uris]
    assert len({f.lower() for f in folders}) == len(LOOKALIKES)  # distinct even where case is ignored
    for name, (uri, sha, content) in stored.items():
        assert artifacts.verify_artifact(uri, sha).read_bytes() == content, name
        assert uri.split("/")[0].startswith(artifacts.model_dir_name(name))
    assert artifacts.model_dir_name("Retail credit scoring").startswith("Retail_credit_scoring-")


def test_a_registered_file_is_never_overwritten(tmp_path: Path) -> None:
    first_uri, first_sha = artifacts.store_artifact(_file(tmp_path, b"first"), model_name="Churn", version=2)
    second_uri, second_sha = artifacts.store_artifact(
        _file(tmp_path, b"second"), model_name="Churn", version=2
    )
    assert first_uri != second_uri and first_sha != second_sha
    assert artifacts.verify_artifact(first_uri, first_sha).read_bytes() == b"first"
    assert artifacts.verify_artifact(second_uri, second_sha).read_bytes() == b"second"
    # the same content again reuses the stored file
    assert artifacts.store_artifact(_file(tmp_path, b"first"), model_name="Churn", version=2) == (
        first_uri,
        first_sha,
    )
    assert not list(artifacts.store_dir().rglob("*.partial"))


def test_concurrent_registrations_of_one_file_agree_and_leave_no_partial_copies(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    content = bytes(range(256)) * (16 * 1024)  # 4 MiB, so the copies overlap in time
    source = _file(tmp_path, content)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(
            pool.map(lambda _: artifacts.store_artifact(source, model_name="Churn", version=3), range(16))
        )
    assert len(set(results)) == 1
    uri, sha = results[0]
    assert artifacts.verify_artifact(uri, sha).read_bytes() == content
    assert not list(artifacts.store_dir().rglob("*.partial"))


def test_names_cannot_escape_the_store(tmp_path: Path) -> None:
    uri, sha = artifacts.store_artifact(_file(tmp_path, b"x"), model_name="../../etc", version=1)
    path = artifacts.verify_artifact(uri, sha)
    assert artifacts.store_dir().resolve() in path.parents
    with pytest.raises(InvalidInput, match="lies outside the artifact store"):
        artifacts.resolve("../outside.joblib")


def test_loading_needs_the_registered_hash_and_a_safe_format(tmp_path: Path) -> None:
    source = tmp_path / "pipe.skops"
    model = LogisticRegression().fit(np.arange(20.0).reshape(10, 2), np.arange(10) % 2)
    skops.io.dump(model, source)
    uri, sha = artifacts.store_artifact(source, model_name="Credit scoring", version=1)
    loaded = artifacts.load_verified(uri, sha, "skops")
    assert np.array_equal(loaded.coef_, model.coef_)
    with pytest.raises(InvalidInput, match="artifact format 'onnx' cannot be loaded"):
        artifacts.load_verified(uri, sha, "onnx")
    path = artifacts.resolve(uri)
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(IntegrityViolation, match="was changed after registration.*It will not be loaded"):
        artifacts.load_verified(uri, sha, "skops")
    with pytest.raises(InvalidInput, match="does not exist or is not a file"):
        artifacts.store_artifact(tmp_path / "missing.joblib", model_name="Credit scoring", version=1)


def test_the_browser_accepts_no_model_files_and_nothing_it_uploads_is_unpickled() -> None:
    """Every file upload in the app takes data formats only (CSV, Parquet), and no page or app
    module loads pickles: models reach the registry through the CLI (`steward register-version`)."""
    import ast
    import re

    root = Path(__file__).resolve().parents[2]
    sources = {p: p.read_text() for folder in ("pages", "app") for p in (root / folder).rglob("*.py")}
    uploads = []
    for path, text in sources.items():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "file_uploader":
                kinds = next((k.value for k in node.keywords if k.arg == "type"), None)
                assert isinstance(kinds, ast.List), (
                    f"{path.name}: a file upload without a list of allowed types"
                )
                uploads.append({ast.literal_eval(e) for e in kinds.elts})
    assert uploads, "the drift page's batch upload should be found"
    assert all(kinds <= {"csv", "parquet"} for kinds in uploads), uploads
    for path, text in sources.items():
        assert not re.search(
            r"\b(pickle|joblib|cloudpickle|dill)\.loads?\(|load_verified\(|torch\.load\(", text
        ), path
