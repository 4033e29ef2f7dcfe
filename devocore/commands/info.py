"""Show versions, the torch device and the models found with their cards."""
from __future__ import annotations

import json
import platform


def add_arguments(parser) -> None:
    parser.add_argument("--json", action="store_true", help="print everything as one JSON object")


def run(args) -> dict:
    import torch

    import devocore
    from devocore import config, registry
    from devocore.device import choose_device

    device = choose_device()
    models = registry.list_models()
    info = {
        "devocore": devocore.__version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "device": device.name,
        "device_reason": device.reason,
        "shipped_model_dir": str(config.SHIPPED_MODEL_DIR),
        "user_model_dir": str(config.user_model_dir()),
        "limits": config.LIMITS.describe(),
        "models": [{"name": m.name, "source": m.source, "task": m.task, "version": m.card.get("version"),
                    "metrics": m.card.get("metrics", {})} for m in models],
    }
    if not args.json:
        print(f"devocore {info['devocore']}  python {info['python']}  torch {info['torch']}")
        print(f"device: {device.name} ({device.reason})")
        print(f"models ({len(models)}):" if models else "models: none found")
        for m in models:
            metrics = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"  # 0.04412, not 17 digits
                                for k, v in list(m.card.get("metrics", {}).items())[:4]
                                if not isinstance(v, (dict, list)))
            print(f"  {m.label():<40} {m.task:<14} {metrics}")
        print("limits: " + "; ".join(f"{k} {v}" for k, v in info["limits"].items()))
    else:
        print(json.dumps(info))
    return 0
