"""Generate scans of 部门项目支出预算绩效批复表 printed from spreadsheets, with truth files.

    python scripts/make_sheet_corpus.py --out corpus-sheet --seed 9300 --docs 20
    python scripts/make_sheet_corpus.py --out corpus-sheet-eval --seed 9300 --docs 20 \
        --form-types both

`--form-types` picks what the documents hold: `approval` (the default, the same files as ever),
`self_evaluation` (项目支出绩效自评表), or `both` (PDFs of a project's approval form followed by
its self-evaluation, and single self-evaluations).

Each form is typed into an .xlsx workbook (openpyxl), printed to PDF by LibreOffice headless,
rasterised by poppler and damaged (seals, pen, folds, holes, bleed-through, faded rulings,
skew, photos, 1-bit G4 TIFF). It shares no layout, drawing or damage code with
make_corpus.py, so the pipeline can be tuned on one and measured on the other.

Writes DIR/LEVEL/LEVEL-NNNN.{png,jpg,tif,pdf} with LEVEL-NNNN.gold.jsonl beside each, and
DIR/manifest.jsonl (level, seed, file, pages, dpi, renderer, damage per page). The same seed
gives the same files. Needs LibreOffice (libreoffice-calc-nogui) and poppler-utils.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from sheetsynth.documents import FORM_TYPES, write_corpus
from sheetsynth.levels import LEVELS
from sheetsynth.office import OfficeError


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
        "--form-types",
        choices=FORM_TYPES,
        default="approval",
        help="what the documents hold (default approval)",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    try:
        n = write_corpus(
            args.out, args.seed, args.docs, tuple(args.levels.split(",")), args.form_types
        )
    except (ValueError, OfficeError) as error:
        print(f"make_sheet_corpus: {error}", file=sys.stderr)
        return 2
    print(
        f"make_sheet_corpus: wrote {n} documents to {args.out} "
        f"in {time.perf_counter() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
