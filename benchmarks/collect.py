"""Assemble benchmarks/RESULTS.md from the summary and the per-benchmark result files.

Run: python benchmarks/collect.py (after any benchmark script has rewritten its file).
"""

from pathlib import Path

HERE = Path(__file__).parent
ORDER = [
    "summary",
    "point",
    "quantile",
    "ar1",
    "missing_point",
    "missing_quantile",
    "npe",
    "npe_gate",
    "nre",
    "sequential",
    "bootstrap",
    "ensemble",
    "threads",
    "mcmc",
    "memmap",
    "inference_cost",
    "inference_cost_ratio",
    "misspecification",
]


def main():
    parts = [
        "# Benchmark results\n\n_Assembled by `python benchmarks/collect.py` from "
        "`benchmarks/results/*.md`; each section names the command that produced "
        "it._\n"
    ]
    for name in ORDER:
        path = HERE / "results" / f"{name}.md"
        if path.exists():
            parts.append(path.read_text().strip() + "\n")
    (HERE / "RESULTS.md").write_text("\n\n".join(parts))


if __name__ == "__main__":
    main()
