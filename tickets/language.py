"""The language a customer wrote in, for routing rules and agents' languages (``py3langid``).

Detection is restricted to the languages the desk works in (``settings.DETECT_LANGUAGES``) and trusted
only above a confidence: "ok" or "grazie!" says too little, and then the contact's known language, if
any, stands in.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from django.conf import settings

# Below this the guess is no better than the contact's own language.
MIN_CONFIDENCE = 0.8
# The first characters say the language as well as the whole text, at a fraction of the cost.
_SAMPLE_CHARS = 1_000

_lock = threading.Lock()
_identifier: Any = None


def language_detect(text: str, *, fallback: str = "") -> str:
    """The language code of ``text`` ("it", "en", …), else ``fallback``."""
    sample = " ".join(text[:_SAMPLE_CHARS].split())
    if len(sample) < 3:
        return fallback
    code, confidence = _model().classify(sample)
    return str(code) if confidence >= MIN_CONFIDENCE else fallback


def _model() -> Any:
    global _identifier
    if _identifier is None:
        with _lock:
            if _identifier is None:
                # Loaded on first use (about a second), never at import: web processes rarely need it.
                from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

                model = LanguageIdentifier.from_modelpath(Path(MODEL_DIR) / MODEL_FILE, norm_probs=True)
                model.set_languages(list(settings.DETECT_LANGUAGES))
                _identifier = model
    return _identifier
