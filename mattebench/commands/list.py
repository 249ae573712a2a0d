"""`mattebench list`: every registered method and dataset with its card."""

from __future__ import annotations

import argparse
import json
from importlib.resources import files

from tabulate import tabulate

from mattebench.methods.registry import (
    broken_plugins,
    dataset_card,
    list_datasets,
    list_methods,
    method_card,
)
from mattebench.methods.shipped import shipped_checkpoints


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list methods and datasets with their cards", description="List registered methods and datasets (built-in and plug-ins).")
    p.add_argument("what", nargs="?", choices=("methods", "datasets", "all"), default="all")
    p.add_argument("--json", action="store_true", help="print the full cards as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    methods = [method_card(n) for n in list_methods()] if args.what in ("methods", "all") else []
    datasets = [dataset_card(n) for n in list_datasets()] if args.what in ("datasets", "all") else []
    ships = list(shipped_checkpoints().values()) if args.what in ("methods", "all") else []
    if args.json:
        print(json.dumps({"methods": [c.as_dict() for c in methods], "datasets": [c.as_dict() for c in datasets],
                          "shipped_checkpoints": [{"name": s.spec, "method": s.method, "sha256": s.sha256, "input_rule": s.input_rule,
                                                   "description": s.description} for s in ships]}, indent=2))
        return 0
    if methods:
        rows = [[c.name, c.family, "yes" if c.needs_trimap else "no", c.pretrained or "", "yes" if c.trainable else "", (c.paper.split(".")[0] if c.paper else "")[:48]] for c in methods]
        print(f"Methods ({len(methods)})")
        print(tabulate(rows, headers=["name", "family", "trimap", "pretrained", "trainable", "paper"], tablefmt="simple"))
        print()
    if ships:
        rows = [[s.spec, s.method, f"ref_size={s.input_rule.get('ref_size')}", s.sha256[:12], s.description[:60]] for s in ships]
        print(f"Shipped checkpoints ({len(ships)}; --checkpoint NAME; card: {files('mattebench.weights') / 'CARD.md'})")
        print(tabulate(rows, headers=["name", "method", "input rule", "sha256", "what"], tablefmt="simple"))
        print()
    if datasets:
        rows = [[c.name, c.kind, ",".join(c.protocols), c.primary_metric, "no (embedded)" if not c.needs_root else "yes", c.licence[:40]] for c in datasets]
        print(f"Datasets ({len(datasets)})")
        print(tabulate(rows, headers=["name", "kind", "protocols", "primary", "needs data", "licence"], tablefmt="simple"))
    broken = broken_plugins()
    if broken:
        print()
        for k, v in broken.items():
            print(f"warning: plug-in {k} is broken: {v}")
    return 0
