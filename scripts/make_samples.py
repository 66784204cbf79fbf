"""Write the small committed sample set in samples/ (kept under 10 MB).

    python scripts/make_samples.py --out samples

For each damage level one single-page scan; a clean multi-form PDF; a light and a heavy form
whose indicator rows continue on a second page; and the seven real seed forms as one clean
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
# (level, kind, formats accepted): JPG and PDF keep the set small.
WANTED = [(level, "single", ("jpg", "png")) for level in LEVELS] + [
    ("clean", "multi", ("pdf",)),
    ("light", "continued", ("pdf", "tif")),
    ("heavy", "continued", ("pdf",)),
]
MAX_TRIES = 60


def find(level: str, kind: str, formats: tuple[str, ...]) -> Document:
    for index in range(MAX_TRIES):
        doc = make_document(SAMPLES_SEED, level, index)
        if doc.notes["kind"] == kind and doc.ext in formats:
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
    for level, kind, formats in WANTED:
        entries.append(
            {"level": level, **write_document(find(level, kind, formats), args.out / level)}
        )
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
