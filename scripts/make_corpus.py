"""Generate a synthetic corpus of scanned 部门项目支出预算绩效批复表 forms with truth files.

    python scripts/make_corpus.py --out corpus --seed 1000 --docs 40
    python scripts/make_corpus.py --out corpus-eval --seed 1000 --docs 40 --form-types both

`--form-types` picks what the documents hold: `approval` (the default, the same files as ever),
`self_evaluation` (项目支出绩效自评表), or `both` (PDFs of a project's approval form followed by
its self-evaluation, and single self-evaluations).

writes corpus/LEVEL/LEVEL-NNNN.{png,jpg,tif,pdf} with LEVEL-NNNN.gold.jsonl beside each, and
corpus/manifest.jsonl (kind, pages, dpi, damage per page). The same seed gives the same files.
Keep the seeds you tune on apart from the seeds you report on.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from synth.degrade import LEVELS
from synth.documents import FORM_TYPES, write_corpus


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True, help="folder to write into")
    parser.add_argument("--seed", type=int, default=0, help="corpus seed (default 0)")
    parser.add_argument("--docs", type=int, default=40, help="documents per level (default 40)")
    parser.add_argument(
        "--levels",
        default=",".join(LEVELS),
        help=f"comma-separated damage levels (default {','.join(LEVELS)})",
    )
    parser.add_argument(
        "--seed-forms",
        action="store_true",
        help="also write the seven real seed forms as one PDF per level",
    )
    parser.add_argument(
        "--form-types",
        choices=FORM_TYPES,
        default="approval",
        help="what the documents hold (default approval)",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    try:
        n = write_corpus(
            args.out,
            args.seed,
            args.docs,
            tuple(args.levels.split(",")),
            args.seed_forms,
            args.form_types,
        )
    except ValueError as error:
        print(f"make_corpus: {error}", file=sys.stderr)
        return 2
    print(
        f"make_corpus: wrote {n} documents to {args.out} in {time.perf_counter() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
