"""The committed corpus: every valid document accepted as what it is, every malicious or
malformed file refused with the reason its manifest names. Nothing skipped."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from support_kyc import CORPUS, corpus_manifest

from brokerdesk.modules.kyc.files import upload_check

LIMIT = 10 * 1024 * 1024
MANIFEST = corpus_manifest()


def test_the_manifest_lists_exactly_the_files_of_the_corpus():
    for folder in ("valid", "malicious"):
        on_disk = sorted(path.name for path in (CORPUS / folder).iterdir())
        assert on_disk == sorted(MANIFEST[folder]), folder
    assert len(MANIFEST["valid"]) >= 10 and len(MANIFEST["malicious"]) >= 40


def test_the_whole_valid_corpus_is_accepted_as_what_it_is():
    answers = {}
    for name in MANIFEST["valid"]:
        data = (CORPUS / "valid" / name).read_bytes()
        try:
            answers[name] = upload_check(data, max_bytes=LIMIT).content_type
        except ValidationError as exc:
            answers[name] = f"refused: {exc.messages}"

    assert answers == MANIFEST["valid"]


def test_the_whole_malicious_corpus_is_refused_with_its_reason():
    answers = {}
    for name in MANIFEST["malicious"]:
        data = (CORPUS / "malicious" / name).read_bytes()
        try:
            checked = upload_check(data, max_bytes=LIMIT)
        except ValidationError as exc:
            answers[name] = exc.code
            assert exc.messages and all(len(m) > 15 for m in exc.messages), name
        else:
            answers[name] = f"accepted as {checked.content_type}"

    assert answers == MANIFEST["malicious"]


def test_an_oversized_file_is_refused_before_it_is_read():
    data = (CORPUS / "valid" / "passport-photo.jpg").read_bytes()

    with pytest.raises(ValidationError) as refused:
        upload_check(data, max_bytes=len(data) - 1)

    assert refused.value.code == "too_large"
    assert "files can be at most" in refused.value.messages[0]


def test_a_checked_file_carries_its_fingerprint_and_size_facts():
    data = (CORPUS / "valid" / "bank-statement-3-pages.pdf").read_bytes()
    checked = upload_check(data, max_bytes=LIMIT)
    image = upload_check((CORPUS / "valid" / "utility-bill.png").read_bytes(), max_bytes=LIMIT)

    assert (checked.extension, checked.page_count, len(checked.sha256)) == ("pdf", 3, 64)
    assert (image.extension, image.width_px, image.height_px) == ("png", 320, 200)


def test_the_committed_corpus_is_what_the_committed_script_makes():
    """Names and expected answers agree with make_corpus.py, and the files written from fixed
    bytes are byte-identical (archives, images and pypdf output carry times or encoder
    differences, so those are checked by what the upload check answers, above)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)

    assert {name: expected for name, (_, expected) in script.VALID.items()} == MANIFEST["valid"]
    assert {name: expected for name, (_, expected) in script.MALICIOUS.items()} == MANIFEST[
        "malicious"
    ]
    fixed = [name for name in script.MALICIOUS if name.startswith(FIXED_BYTES)]
    assert len(fixed) == 19
    for name in fixed:
        assert (CORPUS / "malicious" / name).read_bytes() == script.MALICIOUS[name][0], name


FIXED_BYTES = ("svg-", "html-", "php-", "shell-", "plain-", "seven-zip", "rar-", "windows-",
               "linux-", "empty", "pdf-header-only", "pdf-garbage", "pdf-with-javascript",
               "pdf-with-escaped", "pdf-with-launch")  # fmt: skip
