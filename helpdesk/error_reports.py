"""What an error report may show: Django's debug page and the mails to ADMINS, with secrets hidden.

Django hides sensitive settings always, but local variables only in functions marked with
``sensitive_variables`` and only while DEBUG is off. Here every report, DEBUG or not, hides any setting,
local variable or dictionary key whose name says it holds a secret (a channel's ``config``, a
``secret``, a ``token``, a ``signature``...), and the password inside any URL it shows.
"""

from __future__ import annotations

import re
from collections.abc import ItemsView
from typing import Any

from django.http import HttpRequest
from django.views.debug import SafeExceptionReporterFilter

_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*):[^@/\s]+@", re.IGNORECASE)


class SecretsHiddenFilter(SafeExceptionReporterFilter):
    hidden_settings = re.compile(
        "API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|SIGNED|HASH|CREDENTIAL|CONFIG|COOKIE|SESSIONID",
        flags=re.IGNORECASE,
    )

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        try:
            cleansed = super().cleanse_setting(key, value)
        except RecursionError:
            return self.cleansed_substitute
        if isinstance(cleansed, str):
            # str() also resolves lazy strings (axes keeps its settings as lazy proxies of str).
            return _URL_PASSWORD.sub(r"\g<head>:***@", str(cleansed))
        return cleansed

    def get_traceback_frame_variables(
        self, request: HttpRequest | None, tb_frame: Any
    ) -> ItemsView[str, Any]:
        variables = super().get_traceback_frame_variables(request, tb_frame)
        return {name: self.cleanse_setting(name, value) for name, value in variables}.items()
