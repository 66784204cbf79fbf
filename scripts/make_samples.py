"""Write the small committed sample set in samples/ (kept under 10 MB).

    python scripts/make_samples.py --out samples

For each damage level one single-page scan; a clean multi-form PDF; a light and a heavy form
whose indicator rows continue on a second page; a light PDF of a project's approval form and
then its self-evaluation (项目支出绩效自评表), in grey; and the seven real seed forms as one clean
PDF. Documents are drawn from the corpus generator with seed 20241; the first of each wanted
kind and format is kept.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from synth.degrade import LEVELS
from synth.documents import Document, make_document, seed_document, write_document

SAMPLES_SEED = 20241
# (level, kind, formats accepted, form types): JPG and PDF keep the set small.
WANTED = [(level, "single", ("jpg", "png"), "approval") for level in LEVELS] + [
    ("clean", "multi", ("pdf",), "approval"),
    ("light", "continued", ("pdf", "tif"), "approval"),
    ("heavy", "continued", ("pdf",), "approval"),
    ("light", "pair", ("pdf",), "both"),
]
MAX_TRIES = 60
MOST_DPI = 200  # a sample of both form types at no more than this keeps the set under 10 MB


def find(level: str, kind: str, formats: tuple[str, ...], form_types: str) -> Document:
    for index in range(MAX_TRIES):
        doc = make_document(SAMPLES_SEED, level, index, form_types)
        if doc.notes["kind"] == kind and doc.ext in formats:
            if form_types != "approval":
                if doc.pages[0].dpi > MOST_DPI:
                    continue
                doc.name = doc.name.replace("-", "-both-", 1)  # apart from the approval names
                for page in doc.pages:
                    page.gray = True  # three pages in colour would take a tenth of the budget
            return doc
    raise SystemExit(f"make_samples: no {kind} {level} document in {MAX_TRIES} tries")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("samples"))
    args = parser.parse_args()
    for level in LEVELS:
        shutil.rmtree(args.out / level, ignore_errors=True)
    entries = []
    for level, kind, formats, form_types in WANTED:
        doc = find(level, kind, formats, form_types)
        entries.append({"level": level, **write_document(doc, args.out / level)})
    seeds = seed_document("clean", SAMPLES_SEED)
    for page in seeds.pages:
        page.gray = True  # seven pages in colour would take a third of the size budget
    entries.append({"level": "clean", **write_document(seeds, args.out / "clean")})
    with (args.out / "manifest.jsonl").open("w", encoding="utf-8") as manifest:
        for entry in entries:
            manifest.write(json.dumps(entry, ensure_ascii=False) + "\n")
    total = sum(f.stat().st_size for f in args.out.rglob("*") if f.is_file())
    print(f"make_samples: {len(entries)} documents, {total / 1e6:.1f} MB in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
