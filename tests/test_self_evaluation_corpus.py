"""The second form type in both corpus generators: 项目支出绩效自评表 (performance_self_evaluation).

Its truth has exactly the spec's keys and keeps the spec's relations except for the one slip a
form may carry on purpose; the layouts merge 一级 and 二级 over their rows and close with 总分;
a `both` document is a PDF of a project's approval form followed by its self-evaluation; and
poppler renders what is written. Real files throughout: one document per renderer and level.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import unicodedata
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook
from sheetsynth import documents as sheet_documents
from sheetsynth import office
from sheetsynth.look import Look
from sheetsynth.self_evaluation_sheet import add_self_evaluation, evaluation_look
from synth import documents as synth_documents
from synth.content import invent_sheet
from synth.render import Ink
from synth.self_evaluation import SLIPS, SelfEvaluation, invent_self_evaluation, self_evaluation_of
from synth.self_evaluation_layout import evaluation_style, layout_self_evaluation
from truth_files import SELF_EVALUATION_INDICATOR_KEYS, SELF_EVALUATION_SCALAR_KEYS

from pipeline.form_spec import load_template
from pipeline.records import FORM_TYPE

APPROVAL = load_template(FORM_TYPE)
SCALAR_KEYS = tuple(APPROVAL.scalar_keys)
LEVEL1_NAMES = tuple(APPROVAL.indicators.vocabulary)
LEVEL2_NAMES = tuple(APPROVAL.level2_names)

SELF_EVALUATION = "performance_self_evaluation"
needs_poppler = pytest.mark.skipif(
    shutil.which("pdftoppm") is None, reason="needs poppler-utils: scripts/setup.sh"
)
needs_office = pytest.mark.skipif(
    shutil.which("soffice") is None or shutil.which("pdftoppm") is None,
    reason="needs LibreOffice (libreoffice-calc-nogui) and poppler-utils: scripts/setup.sh",
)


def broken_relations(record: dict[str, object]) -> set[str]:
    """The spec's relations a self-evaluation record breaks, named as in `SLIPS`."""
    f: dict[str, str] = record["fields"]  # type: ignore[assignment]
    rows: list[dict[str, str]] = record["indicators"]  # type: ignore[assignment]

    def amount(key: str) -> Decimal:
        return Decimal(f[key]) if f[key] else Decimal(0)

    broken = set()
    for column in ("initial", "budget", "executed"):
        parts = sum(amount(f"funds_{r}_{column}") for r in ("fiscal", "carryover", "other"))
        if amount(f"funds_total_{column}") != parts:
            broken.add("funds_column")
    share = amount("funds_total_executed") / amount("funds_total_budget")
    if f["funds_rate"] != f"{(share * 100).quantize(Decimal('0.01'), ROUND_HALF_UP)}%":
        broken.add("funds_rate")
    if any(Decimal(r["score"]) > Decimal(r["weight"]) for r in rows):
        broken.add("row_score")
    weights = amount("funds_weight") + sum(Decimal(r["weight"]) for r in rows)
    if weights != amount("total_weight") or amount("total_weight") != 100:
        broken.add("weights")
    if amount("funds_score") + sum(Decimal(r["score"]) for r in rows) != amount("total_score"):
        broken.add("total_score")
    return broken


def assert_spec_record(record: dict[str, object], slip: str) -> None:
    """Keys exactly the spec's, every leaf a string, relations kept but for `slip`."""
    assert record["form_type"] == SELF_EVALUATION
    assert tuple(record) == ("form_type", "fields", "indicators")
    fields: dict[str, str] = record["fields"]  # type: ignore[assignment]
    assert tuple(fields) == SELF_EVALUATION_SCALAR_KEYS
    assert all(isinstance(v, str) for v in fields.values())
    assert fields["year"].isdigit() and fields["total_weight"] == "100"
    assert fields["goal_expected"] and fields["goal_actual"]
    seqs: dict[str, int] = {}
    for row in record["indicators"]:  # type: ignore[attr-defined]
        assert tuple(row) == SELF_EVALUATION_INDICATOR_KEYS
        assert all(isinstance(v, str) for v in row.values())
        assert row["level1"] in LEVEL1_NAMES and row["level2"] in LEVEL2_NAMES
        seqs[row["level2"]] = seqs.get(row["level2"], 0) + 1
        assert row["seq"] == str(seqs[row["level2"]]), "seq counts the rows of a level2 from 1"
        assert row["name"]
    assert broken_relations(record) == ({slip} if slip else set())


def _truth(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _poppler_pages(pdf: Path, out: Path) -> int:
    """Render every page of `pdf` with poppler; returns how many came out."""
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(pdf), str(out / "p")], check=True)
    return len(list(out.glob("p-*.png")))


def _normal(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


# ---- content -----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(60))
def test_invented_truth_keeps_the_spec(seed: int) -> None:
    form = invent_self_evaluation(random.Random(seed), long=seed % 4 == 0)
    assert_spec_record(form.gold().model_dump(), form.slip)


def test_slips_are_rare_and_each_breaks_its_relation() -> None:
    forms = [invent_self_evaluation(random.Random(f"slip:{i}")) for i in range(400)]
    slipped = [f for f in forms if f.slip]
    assert 0 < len(slipped) < 0.2 * len(forms)
    assert {f.slip for f in slipped} == set(SLIPS)
    for form in slipped:
        assert_spec_record(form.gold().model_dump(), form.slip)


def test_self_evaluation_is_of_the_approved_project() -> None:
    rng = random.Random(7)
    sheet = invent_sheet(rng)
    form = self_evaluation_of(sheet, rng)
    approved, evaluated = sheet.gold(), form.gold()
    for key in ("year", "project_name", "department", "implementing_unit"):
        assert evaluated.fields[key] == approved.fields[key]
    assert evaluated.fields["funds_total_initial"] != ""
    targets = {(r["level2"], r["name"], r["value"]) for r in approved.indicators}
    assert {(r.level2, r.name, r.target) for r in evaluated.indicators} <= targets


def test_printed_variants_occur() -> None:
    forms = [invent_self_evaluation(random.Random(f"v:{i}")) for i in range(120)]
    assert {f.title for f in forms} == {"项目支出绩效自评表", "部门预算项目支出绩效自评表"}
    assert {f.funds[1].label for f in forms} == {"其中：当年财政拨款", "其中：本年财政拨款"}
    assert {f.funds[1].weight for f in forms} == {"—", "/", ""}
    assert any(f.points for f in forms) and any(not f.points for f in forms)
    deviations = [r.deviation for f in forms for b in f.blocks for r in b.rows]
    assert "" in deviations and any(len(d) > 20 for d in deviations)
    assert any(len(f.goal_expected) > 80 for f in forms)


# ---- layouts -----------------------------------------------------------------------------------


def _one_page_form() -> SelfEvaluation:
    return invent_self_evaluation(random.Random(3))


def test_first_renderer_merges_levels_and_closes_with_the_total() -> None:
    rng = random.Random(11)
    form = _one_page_form()
    [page] = layout_self_evaluation(form, evaluation_style(rng), Ink.draw(rng).measure())
    names = [c for c in page.cells if c.role == "ind:name"]
    assert ["".join(c.lines) for c in names] == [r.name for b in form.blocks for r in b.rows]

    def merged(prefix: str) -> list[tuple[str, int]]:
        """Each merged cell's text and the 三级指标 rows it spans, top to bottom."""
        cells = sorted((c for c in page.cells if c.role.startswith(prefix)), key=lambda c: c.y0)
        return [
            ("".join(c.lines), sum(1 for n in names if c.y0 < (n.y0 + n.y1) / 2 < c.y1))
            for c in cells
        ]

    level1_rows: dict[str, int] = {}
    for b in form.blocks:
        level1_rows[b.level1] = level1_rows.get(b.level1, 0) + len(b.rows)
    assert merged("level1") == [(form.level1_label(k), n) for k, n in level1_rows.items()]
    assert merged("level2:") == [(b.level2, len(b.rows)) for b in form.blocks]
    total = next(c for c in page.cells if c.role == "label:总分")
    assert "".join(total.lines) == "总分"
    assert total.y1 == max(c.y1 for c in page.cells), "总分 is the last row"


def test_first_renderer_continues_a_long_form_on_a_second_page() -> None:
    rng = random.Random(5)
    form = invent_self_evaluation(rng, long=True)
    pages = layout_self_evaluation(
        form, evaluation_style(rng, tall_rows=True), Ink.draw(rng).measure()
    )
    assert len(pages) >= 2
    assert all(c.y1 <= p.height_mm - 5 for p in pages for c in p.cells), "table runs off the page"
    assert pages[0].texts[0].text == form.title
    assert not any(t.text == form.title for p in pages[1:] for t in p.texts)
    assert any(c.role == "label:总分" for c in pages[-1].cells)
    assert not any(c.role == "label:总分" for p in pages[:-1] for c in p.cells)


def test_sheet_renderer_merges_levels_and_closes_with_the_total() -> None:
    rng = random.Random(12)
    form = _one_page_form()
    look = evaluation_look(Look.draw(rng, open_frame=0.0, tall_rows=False), rng)
    wb = Workbook()
    printed = add_self_evaluation(wb, form, look, "表1")
    ws = wb["表1"]
    assert printed.pages == 1
    spans = {
        str(ws.cell(m.min_row, m.min_col).value): m.max_row - m.min_row + 1
        for m in ws.merged_cells.ranges
        if m.min_col == m.max_col and m.min_col in (2, 3) and m.max_row > m.min_row
    }
    for level1 in {b.level1 for b in form.blocks}:
        count = sum(len(b.rows) for b in form.blocks if b.level1 == level1)
        if count > 1:
            assert spans[form.level1_label(level1)] == count
    for b in form.blocks:
        if len(b.rows) > 1:
            assert spans[b.level2] == len(b.rows)
    last = printed.rows
    assert ws.cell(last, 1).value == "总分"
    assert ws.cell(last, 7).value == form.total_weight
    assert ws.cell(last, 8).value == form.total_score


# ---- documents: the first renderer -------------------------------------------------------------


@needs_poppler
def test_first_renderer_pair_pdf(tmp_path: Path) -> None:
    doc = synth_documents.make_document(5, "clean", 1, "both")
    assert doc.notes["kind"] == "pair", "seed 5's clean-0001 is a pair; pick another index"
    entry = synth_documents.write_document(doc, tmp_path)
    truth = _truth(tmp_path / "clean-0001.gold.jsonl")
    assert [t["form_type"] for t in truth] == [FORM_TYPE, SELF_EVALUATION]
    assert tuple(truth[0]["fields"]) == SCALAR_KEYS  # type: ignore[arg-type]
    assert truth[0]["fields"]["project_name"] == truth[1]["fields"]["project_name"]  # type: ignore[index]
    assert_spec_record(truth[1], doc.notes["slips"][1])  # type: ignore[index]
    assert entry["file"] == "clean-0001.pdf" and entry["forms"] == 2
    assert _poppler_pages(tmp_path / "clean-0001.pdf", tmp_path / "png") == entry["pages"] >= 2


@needs_poppler
def test_first_renderer_damaged_self_evaluation(tmp_path: Path) -> None:
    doc = synth_documents.make_document(5, "heavy", 0, "self_evaluation")
    entry = synth_documents.write_document(doc, tmp_path)
    [truth] = _truth(tmp_path / "heavy-0000.gold.jsonl")
    assert_spec_record(truth, doc.notes["slips"][0])  # type: ignore[index]
    assert entry["damage"][0]["jpeg"] is not None  # type: ignore[index]
    scan = tmp_path / str(entry["file"])
    assert scan.stat().st_size > 10_000


def test_unknown_form_types_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="form types"):
        synth_documents.write_corpus(tmp_path, 1, 1, ("clean",), False, "evaluation")
    with pytest.raises(ValueError, match="form types"):
        sheet_documents.write_corpus(tmp_path, 1, 1, ("clean",), "evaluation")


# ---- documents: the spreadsheet renderer -------------------------------------------------------


@needs_office
def test_sheet_renderer_pair_and_damaged_documents(tmp_path: Path) -> None:
    """One LibreOffice run prints a clean pair and a bilevel self-evaluation that runs on."""
    seed = 5
    pair_index = next(
        i
        for i in range(20)
        if sheet_documents.plan_document(seed, "clean", i, "both").kind == "pair"
    )
    plans = [
        (pair_index, sheet_documents.plan_document(seed, "clean", pair_index, "both")),
        (0, sheet_documents.plan_document(seed, "bilevel", 0, "self_evaluation")),
    ]
    work = tmp_path / "work"
    books = [sheet_documents.build_workbook(plan, work) for _, plan in plans]
    pdfs = office.to_pdf(books, work)

    # The printed pair: the approval form's pages, then the self-evaluation's, one project.
    (_, pair), pair_pdf = plans[0], pdfs[0]
    approval_pages = pair.forms[0].pages
    boxes = office.text_boxes(pair_pdf)
    text = ["".join(_normal(b.text) for b in page if b.kind == "word") for page in boxes]
    name = _normal(pair.sheets[0].project_name)
    assert "部门项目支出预算绩效批复表" in text[0] and name in text[0]
    assert "绩效自评表" in text[approval_pages] and name in text[approval_pages]
    assert not any("绩效自评表" in t for t in text[:approval_pages])

    out = tmp_path / "out"
    entries = []
    for (index, plan), pdf in zip(plans, pdfs, strict=True):
        scans = sheet_documents.scan_document(plan, pdf, seed, index)
        entries.append(sheet_documents.write_document(plan, scans, out))

    pair_entry, bilevel_entry = entries
    assert pair_entry["kind"] == "pair" and str(pair_entry["file"]).endswith(".pdf")
    truth = _truth(out / f"clean-{pair_index:04d}.gold.jsonl")
    assert [t["form_type"] for t in truth] == [FORM_TYPE, SELF_EVALUATION]
    assert truth[0]["fields"]["project_name"] == truth[1]["fields"]["project_name"]  # type: ignore[index]
    assert_spec_record(truth[1], pair_entry["slips"][1])  # type: ignore[index]
    assert _poppler_pages(out / str(pair_entry["file"]), tmp_path / "png") == pair_entry["pages"]

    assert bilevel_entry["file"] == "bilevel-0000.tif"
    assert bilevel_entry["kind"] == "continued" and bilevel_entry["pages"] >= 2
    [damaged] = _truth(out / "bilevel-0000.gold.jsonl")
    assert_spec_record(damaged, bilevel_entry["slips"][0])  # type: ignore[index]
