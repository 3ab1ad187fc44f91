"""Offline checks of the Kubernetes base in deploy/kubernetes (run by scripts/lint-deploy.sh with
the virtualenv that has kubernetes-validate, whose schemas it validates against):

- kustomization.yaml lists every manifest of the folder, and only existing files;
- each manifest is valid for the oldest supported Kubernetes version, strictly (no unknown
  fields);
- the ConfigMap and the Secret set only variables the README's Configuration table documents;
- SHUTDOWN_TIMEOUT_SECS plus the preStop pause stays below terminationGracePeriodSeconds.
"""

import pathlib
import re
import subprocess
import sys

import yaml

KUBERNETES_VERSION = "1.30.0"
ROOT = pathlib.Path(__file__).resolve().parent.parent
BASE = ROOT / "deploy" / "kubernetes"


def fail(message):
    print(f"kubernetes lint: {message}", file=sys.stderr)
    sys.exit(1)


def main():
    kustomization = yaml.safe_load((BASE / "kustomization.yaml").read_text())
    listed = kustomization.get("resources", [])
    present = sorted(p.name for p in BASE.glob("*.yaml") if p.name != "kustomization.yaml")
    if sorted(listed) != present:
        fail(f"kustomization.yaml lists {sorted(listed)}, the folder has {present}")

    validate = pathlib.Path(sys.executable).parent / "kubernetes-validate"
    files = [str(BASE / name) for name in listed]
    result = subprocess.run(
        [str(validate), "--strict", "--quiet", "-k", KUBERNETES_VERSION, *files],
        capture_output=True,
        text=True,
    )
    print(result.stdout, end="")
    print(result.stderr, end="", file=sys.stderr)
    if result.returncode != 0:
        fail("kubernetes-validate found errors")

    resources = {}
    for name in listed:
        for document in yaml.safe_load_all((BASE / name).read_text()):
            resources[(document["kind"], document["metadata"]["name"])] = document

    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", section))
    config = resources[("ConfigMap", "consultores")]["data"]
    secret = resources[("Secret", "consultores")]["stringData"]
    unknown = sorted((set(config) | set(secret)) - documented)
    if unknown:
        fail(f"variables not in the README's Configuration table: {unknown}")

    pod = resources[("Deployment", "consultores")]["spec"]["template"]["spec"]
    grace = pod["terminationGracePeriodSeconds"]
    container = pod["containers"][0]
    pause = container.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    shutdown = int(config["SHUTDOWN_TIMEOUT_SECS"])
    if shutdown + pause >= grace:
        fail(
            f"SHUTDOWN_TIMEOUT_SECS ({shutdown}) + preStop ({pause}) must stay below "
            f"terminationGracePeriodSeconds ({grace})"
        )
    print(f"kubernetes base ok: {len(listed)} manifests valid for Kubernetes {KUBERNETES_VERSION}")


if __name__ == "__main__":
    main()
