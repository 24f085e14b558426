"""Is the network there? One place for the offline switches and a short-timeout reachability probe.

``offline()`` is true when ``HF_HUB_OFFLINE`` or ``HF_DATASETS_OFFLINE`` is set: then no request
is made at all. ``url_reachable`` sends one HEAD request with a timeout of a few seconds, so code
that would otherwise hang on a machine without network fails fast with a clear message.
``hub_dataset_url`` honours ``HF_ENDPOINT`` as huggingface_hub does (mirrors, tests).
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request

OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")


def offline() -> bool:
    return any(os.environ.get(v, "").lower() in ("1", "true", "yes", "on") for v in OFFLINE_VARIABLES)


def hub_dataset_url(dataset_id: str) -> str:
    return f"{os.environ.get('HF_ENDPOINT', 'https://huggingface.co').rstrip('/')}/api/datasets/{dataset_id}"


def url_reachable(url: str, timeout_s: float = 3.0) -> bool:
    if offline():
        return False
    request = urllib.request.Request(url, method="HEAD", headers={"User-Agent": "trex"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return 200 <= response.status < 400
    except (urllib.error.URLError, OSError, ValueError):
        return False
