#!/usr/bin/env python3
"""Kueue's manager as a host process, from the files of Kueue's own Go module (read at run time, nothing copied):

  kueue-manifests.py config  MODULE_DIR OUT --namespace NS --webhook-port P --health-port P --metrics-port P \
                             --cert-dir DIR --qps Q --burst B
      Kueue's shipped Configuration (config/components/manager/controller_manager_config.yaml) with what a host
      process on the local plane needs: leader election off, internalCertManagement off (serving certificate from
      --cert-dir), webhook/health/metrics on 127.0.0.1, the client QPS/burst of the run, and only the batch/job
      integration (the one Turnstile has; no CRDs of the others are installed). Fair sharing stays off (unset).

  kueue-manifests.py webhooks MODULE_DIR OUT --port P --ca CA_FILE
      Kueue's webhook configurations (config/components/webhook/manifests.yaml) registered by URL:
      clientConfig.service becomes url https://127.0.0.1:P<path> with caBundle. Only the webhooks for Kueue's own
      kinds and batch/v1 Jobs are kept.
"""
import argparse
import base64
import json
import os
import sys

import yaml


def config(args):
    src = os.path.join(args.module, "config/components/manager/controller_manager_config.yaml")
    with open(src) as f:
        cfg = yaml.safe_load(f)
    cfg["namespace"] = args.namespace
    cfg["health"] = {"healthProbeBindAddress": f"127.0.0.1:{args.health_port}"}
    cfg.setdefault("metrics", {})["bindAddress"] = f"127.0.0.1:{args.metrics_port}"
    cfg["webhook"] = {"host": "127.0.0.1", "port": args.webhook_port, "certDir": args.cert_dir}
    cfg.setdefault("leaderElection", {})["leaderElect"] = False
    cfg["internalCertManagement"] = {"enable": False}
    cfg["clientConnection"] = {"qps": args.qps, "burst": args.burst}
    cfg["integrations"] = {"frameworks": ["batch/job"]}
    cfg.pop("fairSharing", None)
    with open(args.out, "w") as f:
        yaml.safe_dump(cfg, f, sort_keys=False)


def keep(webhook):
    for rule in webhook.get("rules", []):
        groups = rule.get("apiGroups", [])
        if "kueue.x-k8s.io" in groups:
            return True
        if "batch" in groups and "jobs" in rule.get("resources", []):
            return True
    return False


def webhooks(args):
    src = os.path.join(args.module, "config/components/webhook/manifests.yaml")
    with open(args.ca, "rb") as f:
        ca = base64.b64encode(f.read()).decode()
    items = []
    with open(src) as f:
        for doc in yaml.safe_load_all(f):
            if not doc:
                continue
            doc["metadata"] = {"name": "kueue-" + doc["metadata"]["name"]}
            kept = []
            for w in doc.get("webhooks", []):
                if not keep(w):
                    continue
                path = w["clientConfig"]["service"].get("path", "/")
                w["clientConfig"] = {"url": f"https://127.0.0.1:{args.port}{path}", "caBundle": ca}
                kept.append(w)
            if not kept:
                sys.exit(f"no webhooks kept from {src} ({doc['kind']})")
            doc["webhooks"] = kept
            items.append(doc)
    with open(args.out, "w") as f:
        json.dump({"apiVersion": "v1", "kind": "List", "items": items}, f, indent=1)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("config")
    c.add_argument("module")
    c.add_argument("out")
    c.add_argument("--namespace", required=True)
    c.add_argument("--webhook-port", type=int, required=True)
    c.add_argument("--health-port", type=int, required=True)
    c.add_argument("--metrics-port", type=int, required=True)
    c.add_argument("--cert-dir", required=True)
    c.add_argument("--qps", type=float, required=True)
    c.add_argument("--burst", type=int, required=True)
    w = sub.add_parser("webhooks")
    w.add_argument("module")
    w.add_argument("out")
    w.add_argument("--port", type=int, required=True)
    w.add_argument("--ca", required=True)
    args = p.parse_args()
    {"config": config, "webhooks": webhooks}[args.cmd](args)


if __name__ == "__main__":
    main()
