#!/usr/bin/env python3
"""A LiteLLM proxy operator's report script: health, models and their prices, request and spend counters.

Written against LiteLLM's documented endpoints and metric names only (nothing Easel-specific), with the
standard library alone, so it runs wherever Python 3 does:

    LITELLM_PROXY_URL=http://localhost:4000 LITELLM_MASTER_KEY=sk-1234 python3 litellm_admin.py

It prints a human report, then one line `REPORT {json}` with the same facts for a machine (the Easel test
suite reads that line). Exit code 0 when it could read everything, 2 when a deployment is unhealthy and
--fail-on-unhealthy is given, 1 on any error.
"""

import json
import os
import re
import sys
import urllib.error
import urllib.request

BASE = os.environ.get("LITELLM_PROXY_URL", "http://localhost:4000").rstrip("/")
KEY = os.environ.get("LITELLM_MASTER_KEY", "")


def get(path, parse_json=True):
    request = urllib.request.Request(BASE + path, headers={"Authorization": "Bearer " + KEY})
    with urllib.request.urlopen(request, timeout=30) as response:
        body = response.read().decode("utf-8")
    return json.loads(body) if parse_json else body


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def metrics(text):
    """Prometheus text format -> list of (name, labels, value)."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if m:
            labels = dict(LABEL.findall(m.group(2) or ""))
            out.append((m.group(1), labels, float(m.group(3))))
    return out


def total(samples, name, **labels):
    return sum(v for n, l, v in samples if n == name and all(l.get(k) == w for k, w in labels.items()))


def main():
    health = get("/health")
    print("healthy deployments: %d, unhealthy: %d" % (health["healthy_count"], health["unhealthy_count"]))
    for e in health["unhealthy_endpoints"]:
        print("  UNHEALTHY %s (%s): %s" % (e.get("model"), e.get("model_id"), e.get("error")))

    models = []
    for m in get("/model/info")["data"]:
        info = m["model_info"]
        models.append({
            "model_name": m["model_name"],
            "model": m["litellm_params"]["model"],
            "id": info["id"],
            "provider": info.get("litellm_provider"),
            "mode": info.get("mode"),
            "input_cost_per_token": info.get("input_cost_per_token"),
            "output_cost_per_image": info.get("output_cost_per_image"),
            "has_api_key": "api_key" in m["litellm_params"],
        })
        print("model %-12s %-28s id=%s input/token=%s output/image=%s" % (
            m["model_name"], m["litellm_params"]["model"], info["id"], info.get("input_cost_per_token"),
            info.get("output_cost_per_image")))

    groups = {g["model_group"]: {"providers": g["providers"], "rpm": g.get("rpm"), "tpm": g.get("tpm")}
              for g in get("/model_group/info")["data"]}

    samples = metrics(get("/metrics", parse_json=False))
    requests = total(samples, "litellm_requests_metric_total")
    spend = total(samples, "litellm_spend_metric_total")
    failed = total(samples, "litellm_proxy_failed_requests_metric_total")
    states = {l.get("model_id"): int(v) for n, l, v in samples if n == "litellm_deployment_state"}
    print("requests: %d, failed: %d, spend: $%.6f" % (requests, failed, spend))
    print("deployment states (0 healthy, 1 partial, 2 outage): %s" % states)

    report = {
        "healthy_count": health["healthy_count"],
        "unhealthy_count": health["unhealthy_count"],
        "unhealthy_ids": [e.get("model_id") for e in health["unhealthy_endpoints"]],
        "unhealthy_errors": [e.get("error") for e in health["unhealthy_endpoints"]],
        "models": models,
        "groups": groups,
        "requests": requests,
        "failed": failed,
        "spend": spend,
        "states": states,
    }
    print("REPORT " + json.dumps(report, sort_keys=True))
    if "--fail-on-unhealthy" in sys.argv and health["unhealthy_count"] > 0:
        return 2
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except urllib.error.HTTPError as e:
        print("HTTP %d from %s: %s" % (e.code, e.url, e.read().decode("utf-8", "replace")), file=sys.stderr)
        sys.exit(1)
