"""OCR engines: the real engines read rendered form text; normalising is tested on saved output.

Accuracy tolerance for recognize(): the five form strings are rendered in two faces (AR PL
UMing and Noto Sans CJK SC, 30 px, about 11 pt at 200 dpi), ten crops per engine. After NFKC
and removing whitespace, at most one of the ten may differ from the truth, and that one by at
most one character (edit distance 1). Both engines have been seen to insert a stray "I" after
UMing's full-width "（", depending on which crops share its batch.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from ocr_lines import FORM_LINES, render_line, render_page
from pydantic import ValidationError
from rapidfuzz.distance import Levenshtein

from pipeline.ocr import (
    ENGINES,
    OcrEngine,
    OcrOptions,
    TextLine,
    UnknownEngineError,
    load_engine,
    reading_order,
)
from pipeline.ocr.base import empty_line, is_blank, recognize_inked, to_bgr
from pipeline.ocr.onnx import OnnxEngine, normalize_onnx_read, normalize_onnx_recognize
from pipeline.ocr.paddle import PaddleEngine, normalize_paddle_read, normalize_paddle_recognize

DATA = Path(__file__).parent / "data" / "ocr"
FACES = ("uming", "noto_sans")
# Detected boxes include the engine's margin round the ink (the detector unclips its text
# regions); measured 2 to 6 px at 30 px text.
BOX_TOLERANCE_PX = 12


def norm(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def distances(lines: list[TextLine], truth: list[str]) -> list[int]:
    """Edit distance of each line's text from its truth, after NFKC and without whitespace."""
    return [
        Levenshtein.distance(norm(ln.text), norm(t)) for ln, t in zip(lines, truth, strict=True)
    ]


def _no_network(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("an OCR engine tried to reach the network")


@pytest.fixture(
    scope="module",
    params=["onnx", pytest.param("paddle", marks=pytest.mark.slow)],
)
def engine(request: pytest.FixtureRequest) -> Iterator[OcrEngine]:
    """Each engine once per module, loaded with every network call failing."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket, "getaddrinfo", _no_network)
        mp.setattr(socket.socket, "connect", _no_network)
        loaded = load_engine(OcrOptions(kind=request.param, threads=2))
    yield loaded


# --- the real engines --------------------------------------------------------------------


def test_registry_loads_the_engine_of_the_kind(engine: OcrEngine) -> None:
    assert isinstance(engine, ENGINES[engine.name])  # type: ignore[arg-type]
    assert engine.options.kind == engine.name
    model = {"onnx": "PP-OCRv6_rec_small", "paddle": "PP-OCRv5_mobile_rec"}[engine.name]
    assert model in engine.version


def test_recognize_reads_form_lines_in_two_faces(engine: OcrEngine) -> None:
    truth = [text for face in FACES for text in FORM_LINES]
    crops = [render_line(text, face) for face in FACES for text in FORM_LINES]

    lines = engine.recognize(crops)

    assert len(lines) == len(crops)
    distances = [
        Levenshtein.distance(norm(ln.text), norm(t)) for ln, t in zip(lines, truth, strict=True)
    ]
    misread = [(t, ln.text) for ln, t, d in zip(lines, truth, distances, strict=True) if d]
    assert max(distances) <= 1 and len(misread) <= 1, misread
    for line, crop in zip(lines, crops, strict=True):
        assert 0.0 <= line.score <= 1.0
        assert line.score > 0.5
        if line.char_scores is not None:
            assert len(line.char_scores) == len(line.text)
            assert all(0.0 <= s <= 1.0 for s in line.char_scores)
        assert line.bbox == (0.0, 0.0, float(crop.shape[1]), float(crop.shape[0]))
    if engine.name == "onnx":  # rapidocr gives per-character scores; PaddleOCR does not
        assert all(line.char_scores is not None for line in lines)


def test_recognize_takes_gray_crops_and_keeps_input_order(engine: OcrEngine) -> None:
    wide = render_line(FORM_LINES[4], "noto_sans")
    gray = render_line(FORM_LINES[2], "noto_sans")[:, :, 0].copy()
    short = render_line(FORM_LINES[1], "noto_sans")

    lines = engine.recognize([wide, gray, short])

    truth = [FORM_LINES[4], FORM_LINES[2], FORM_LINES[1]]
    assert (
        sum(
            Levenshtein.distance(norm(ln.text), norm(t)) for ln, t in zip(lines, truth, strict=True)
        )
        <= 1
    )
    assert [ln.bbox[2:] for ln in lines] == [(c.shape[1], c.shape[0]) for c in (wide, gray, short)]


def test_blank_and_empty_crops_give_no_text_rather_than_an_error(engine: OcrEngine) -> None:
    white = np.full((40, 200, 3), 255, np.uint8)
    zero_width = np.zeros((40, 0, 3), np.uint8)
    one_pixel = np.zeros((1, 1), np.uint8)

    lines = engine.recognize([white, zero_width, one_pixel])

    assert [(ln.text, ln.score, ln.char_scores) for ln in lines] == [("", 0.0, ())] * 3
    assert lines[1].bbox == (0.0, 0.0, 0.0, 40.0)
    assert engine.recognize([]) == []


def test_noisy_blank_crops_reach_the_engine_and_read_as_nothing(engine: OcrEngine) -> None:
    rng = np.random.default_rng(7)
    crops = [
        np.clip(240 + rng.normal(0, sigma, shape), 0, 255).astype(np.uint8)
        for sigma in (6, 12)
        for shape in [(40, 200), (48, 320), (30, 400)]
    ]
    assert not any(is_blank(c) for c in crops)

    lines = engine.recognize(crops)

    assert all(ln.text.strip() == "" or ln.score < 0.5 for ln in lines), lines


def test_read_finds_lines_where_they_were_drawn_in_reading_order(engine: OcrEngine) -> None:
    page, placed = render_page(
        [
            (FORM_LINES[3], (60, 60)),  # left of a row
            (FORM_LINES[1], (640, 66)),  # right of the same row, a little lower
            (FORM_LINES[4], (60, 300)),
        ],
        size=(1000, 600),
    )

    lines = engine.read(page)

    assert len(lines) == 3, [ln.text for ln in lines]
    errors = sum(
        Levenshtein.distance(norm(ln.text), norm(p.text))
        for ln, p in zip(lines, placed, strict=True)
    )
    assert errors <= 1, [ln.text for ln in lines]
    for line, drawn in zip(lines, placed, strict=True):
        assert np.allclose(line.bbox, drawn.box, atol=BOX_TOLERANCE_PX), (line.bbox, drawn.box)
        assert line.score >= engine.options.min_score
        if line.char_scores is not None:
            assert len(line.char_scores) == len(line.text)


def test_read_of_a_blank_page_finds_nothing(engine: OcrEngine) -> None:
    assert engine.read(np.full((300, 400), 255, np.uint8)) == []


# --- normalising saved engine output, without the engines --------------------------------


def _fixture(kind: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / f"{kind}_raw.json").read_text(encoding="utf-8"))
    return data


NORMALIZERS: dict[str, tuple[Callable[..., list[TextLine]], Callable[..., list[TextLine]]]] = {
    "onnx": (normalize_onnx_recognize, normalize_onnx_read),
    "paddle": (normalize_paddle_recognize, normalize_paddle_read),
}


@pytest.mark.parametrize("kind", sorted(NORMALIZERS))
def test_normalize_recognize_gives_one_line_per_crop(kind: str) -> None:
    fx = _fixture(kind)
    sizes = [tuple(s) for s in fx["recognize"]["sizes"]]

    lines = NORMALIZERS[kind][0](fx["recognize_raw"], sizes)

    assert [ln.text for ln in lines] == fx["recognize"]["texts"]
    assert [ln.bbox for ln in lines] == [(0.0, 0.0, float(w), float(h)) for w, h in sizes]
    blank = lines[-1]
    assert blank.score == 0.0 and blank.char_scores == ()
    for line in lines[:-1]:
        assert 0.9 < line.score <= 1.0
        if kind == "onnx":
            assert line.char_scores is not None and len(line.char_scores) == len(line.text)
        else:
            assert line.char_scores is None


@pytest.mark.parametrize("kind", sorted(NORMALIZERS))
def test_normalize_read_keeps_boxes_and_reading_order(kind: str) -> None:
    fx = _fixture(kind)
    drawn = fx["read"]["lines"]

    lines = NORMALIZERS[kind][1](fx["read_raw"], 0.5)

    assert [norm(ln.text) for ln in lines] == [norm(text) for text, _ in drawn]
    for line, (_, (x, y)) in zip(lines, drawn, strict=True):
        assert abs(line.bbox[0] - x) <= BOX_TOLERANCE_PX
        assert abs(line.bbox[1] - y) <= BOX_TOLERANCE_PX


@pytest.mark.parametrize("kind", sorted(NORMALIZERS))
def test_normalize_read_drops_lines_below_min_score(kind: str) -> None:
    fx = _fixture(kind)
    scores = fx["read_raw"]["scores" if kind == "onnx" else "rec_scores"]
    cut = sorted(scores)[1]

    lines = NORMALIZERS[kind][1](fx["read_raw"], cut)

    assert len(lines) == len(scores) - 1
    assert min(ln.score for ln in lines) >= cut


def test_onnx_char_scores_are_dropped_where_rapidocr_shifts_them() -> None:
    raw = _fixture("onnx")["read_raw"]
    # rapidocr gives no character entry for a space, so the scores of a line with a space
    # cannot be paired with its characters.
    raw["txts"][2] = raw["txts"][2].replace("率", "率 ")

    lines = normalize_onnx_read(raw, 0.5)

    assert [ln.char_scores is None for ln in lines] == [False, False, True, False]
    assert lines[2].text == raw["txts"][2]


def test_onnx_char_scores_are_dropped_when_rapidocr_loses_a_line_of_them() -> None:
    raw = _fixture("onnx")["read_raw"]
    del raw["word_results"][0]

    lines = normalize_onnx_read(raw, 0.5)

    assert len(lines) == 4 and all(ln.char_scores is None for ln in lines)


# --- typed results, options and registry -------------------------------------------------


def _line(text: str, x0: float, y0: float, x1: float, y1: float) -> TextLine:
    return TextLine(text=text, score=0.9, box=((x0, y0), (x1, y0), (x1, y1), (x0, y1)))


def test_reading_order_is_rows_top_to_bottom_then_left_to_right() -> None:
    a = _line("a", 10, 10, 100, 40)
    b = _line("b", 300, 18, 400, 48)  # same row as a, 8 px lower
    c = _line("c", 10, 60, 100, 90)
    d = _line("d", 200, 55, 260, 85)

    assert reading_order([d, c, b, a]) == [a, b, c, d]


def test_crops_are_narrowed_for_the_recogniser_and_keep_their_own_boxes() -> None:
    seen: list[tuple[int, ...]] = []

    def recognize(crops: list[np.ndarray]) -> list[TextLine]:
        seen.extend(c.shape for c in crops)
        return [empty_line(c.shape[1], c.shape[0]) for c in crops]

    inked = np.full((40, 200), 255, np.uint8)
    inked[10:30, 20:180] = 0
    blank = np.full((40, 90), 255, np.uint8)

    lines = recognize_inked([inked, blank], recognize, width_scale=0.6)

    assert seen == [(40, 120)]  # the blank crop never reaches the recogniser
    assert [ln.bbox for ln in lines] == [(0.0, 0.0, 200.0, 40.0), (0.0, 0.0, 90.0, 40.0)]


def test_text_line_checks_its_scores() -> None:
    box = ((0.0, 0.0), (10.0, 0.0), (10.0, 5.0), (0.0, 5.0))
    with pytest.raises(ValidationError, match="char_scores"):
        TextLine(text="ab", score=0.9, char_scores=(0.9,), box=box)
    with pytest.raises(ValidationError):
        TextLine(text="ab", score=1.2, box=box)
    line = TextLine(text="ab", score=0.9, box=box)
    with pytest.raises(ValidationError):
        line.text = "x"  # type: ignore[misc]


def test_options_are_strict() -> None:
    with pytest.raises(ValidationError, match="onnx"):
        OcrOptions(kind="tesseract")
    with pytest.raises(ValidationError):
        OcrOptions(kind="onnx", thread=2)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="download"):
        OcrOptions(kind="paddle", textline_orientation=True)
    assert OcrOptions().kind == "onnx"


def test_load_engine_names_the_known_kinds_for_an_unknown_one() -> None:
    assert sorted(ENGINES) == ["onnx", "paddle"]
    bogus = OcrOptions.model_construct(kind="tesseract")  # type: ignore[arg-type]
    with pytest.raises(UnknownEngineError, match=r"'tesseract'.*onnx, paddle"):
        load_engine(bogus)


def test_a_crop_is_blank_when_no_channel_varies() -> None:
    assert is_blank(np.full((40, 200, 3), (200, 30, 30), np.uint8))  # a uniform red crop
    assert is_blank(np.zeros((0, 5), np.uint8))
    dot = np.full((40, 200), 255, np.uint8)
    dot[20, 100] = 0  # one dark pixel is ink enough to ask the engine
    assert not is_blank(dot)


@pytest.mark.parametrize("engine_class", [OnnxEngine, PaddleEngine])
def test_an_engine_refuses_options_of_another_kind(engine_class: type[OcrEngine]) -> None:
    other = "paddle" if engine_class is OnnxEngine else "onnx"
    with pytest.raises(ValueError, match="options for"):
        engine_class(OcrOptions(kind=other))  # type: ignore[call-arg]


def test_inputs_must_be_uint8_gray_or_rgb() -> None:
    rgb = np.zeros((4, 6, 3), np.uint8)
    rgb[..., 0] = 200  # red
    assert to_bgr(rgb)[0, 0].tolist() == [0, 0, 200]
    assert to_bgr(np.zeros((4, 6), np.uint8)).shape == (4, 6, 3)
    with pytest.raises(ValueError, match="uint8"):
        to_bgr(np.zeros((4, 6), np.float32))
    with pytest.raises(ValueError, match="shape"):
        to_bgr(np.zeros((4, 6, 4), np.uint8))


def test_our_recogniser_reads_exactly_what_rapidocrs_does() -> None:
    # The same model through rapidocr's TextRecognizer: the same texts, scores and token
    # probabilities, for crops of many widths (rendered lines, cut and narrowed to the ratios
    # the pipeline sends), one crop a run: the two batch crops differently.
    from rapidocr.ch_ppocr_rec import TextRecInput

    engine = OnnxEngine(OcrOptions(kind="onnx", threads=2, rec_batch=1, hanzi="any"))
    lines = [render_line(text, face) for face in FACES for text in FORM_LINES]
    crops = [to_bgr(c) for c in lines] + [
        to_bgr(c[:, : max(8, c.shape[1] * k // 5)]) for c in lines for k in (1, 2, 3)
    ]

    ours = engine.recognize_raw(crops)
    reference = engine._full_page()._load_rec_model()  # type: ignore[no-untyped-call]
    theirs = reference(TextRecInput(img=crops, return_word_box=True))

    assert ours["txts"] == list(theirs.txts)
    assert ours["scores"] == [float(s) for s in theirs.scores]
    assert ours["confs"] == [[float(c) for c in w.confs] for w in theirs.word_results]


def test_crops_share_a_recognition_run_only_with_crops_of_about_their_width() -> None:
    recogniser = OnnxEngine(OcrOptions(kind="onnx", rec_batch=3, rec_width_spread=1.1))._rec
    # Model input widths: the floor for the narrow ones, else 48 px high scaled.
    crops = [np.zeros((48, w, 3), np.uint8) for w in (100, 300, 104, 40, 310, 600, 98, 109)]
    assert [recogniser._width(c) for c in crops] == [100, 300, 104, 96, 310, 600, 98, 109]
    runs = recogniser._batches([recogniser._width(c) for c in crops])
    assert runs == [[3, 6, 0], [2, 7], [1, 4], [5]]


def test_the_onnx_engine_recognises_without_importing_rapidocr() -> None:
    # rapidocr's import reads its configuration and costs about a second of each worker's
    # start; recognition, all the pipeline uses, does without it.
    code = (
        "import sys; import numpy as np; "
        "from pipeline.ocr import OcrOptions, load_engine; "
        "e = load_engine(OcrOptions(kind='onnx', threads=1)); "
        "crop = np.full((32, 64), 255, np.uint8); crop[8:24, 8:56] = 0; "
        "e.recognize([crop]); print('rapidocr' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_importing_the_package_loads_no_engine() -> None:
    code = (
        "import sys, pipeline.ocr; "
        "print(sorted(m for m in ('paddle', 'paddleocr', 'rapidocr', 'onnxruntime') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("face", ["uming", "noto_sans", "noto_serif"])
def test_a_lone_slash_is_read_as_a_slash_and_a_one_as_a_one(face: str) -> None:
    from pipeline.ocr.cells import _slash_read_as_one

    engine = load_engine(OcrOptions())
    crops = [render_line(text, face)[:, :, 0].copy() for text in ("/", "1", "l", "|")]
    first = engine.recognize(crops)
    assert first[0].text != "/", "PP-OCR reads a lone slash as something else"
    read = [_slash_read_as_one(line, crop).text for line, crop in zip(first, crops, strict=True)]
    assert read[:2] == ["/", "1"], read
    assert read[2:] == [line.text for line in first[2:]], "upright strokes keep their reading"


def test_a_lone_thin_digit_in_a_cell_is_text_and_a_speck_of_its_ink_is_not() -> None:
    """A `7` in a thin face (a self-evaluation's 分值) has less ink than a cell's noise floor.

    It stands as tall as a digit; a speck with as much ink does not.
    """
    from pipeline.ocr.cells import text_line_boxes

    mm = 8.12  # 206 dpi
    box = (0, 0, 68, 96)
    seven = np.zeros((96, 68), np.uint8)
    cv2.line(seven, (30, 41), (38, 41), 255, 1)  # the bar
    cv2.line(seven, (38, 42), (33, 57), 255, 1)  # the stem, 16 px (2 mm) down
    speck = np.zeros_like(seven)
    side = round(float(np.sqrt((seven > 0).sum())))
    speck[45 : 45 + side, 30 : 30 + side] = 255
    assert (seven > 0).sum() < 0.6 * mm * mm  # under the plain noise floor
    assert len(text_line_boxes(seven, box, mm)) == 1
    assert text_line_boxes(speck, box, mm) == []


def test_wrapped_lines_printed_with_no_paper_between_are_read_one_by_one() -> None:
    """A spreadsheet wraps a goal's text so close that no empty row parts its lines."""
    from pipeline.ocr.cells import split_lines_run_together, text_line_boxes, usual_line_height

    mm = 8.0
    mask = np.zeros((120, 400), np.uint8)
    # Two lines of 18 px glyphs; a few descenders of the first touch the second's ascenders.
    for top in (10, 29):
        for x in range(10, 390, 24):
            mask[top : top + 18, x : x + 18] = 255
    for x in (40, 140, 300):
        mask[27:30, x : x + 2] = 255
    single = [[(0, 0, 100, 18)]] * 6  # the page's other cells: one line of 18 px each
    [run] = text_line_boxes(mask, (0, 0, 400, 120), mm)
    assert run[3] - run[1] == 37  # no paper row parted them
    usual = usual_line_height([*single, [run]])
    parted = split_lines_run_together(mask, [run], usual)
    assert [(b[1], b[3]) for b in parted] == [(10, 28), (28, 47)]
    # A single line stays whole.
    assert split_lines_run_together(mask, [(10, 10, 390, 28)], usual) == [(10, 10, 390, 28)]


def test_a_line_end_comma_hanging_against_the_ruling_line_is_read() -> None:
    """Chinese typesetting lets a line-end ，hang past the text's measure, up to the cell's
    line. Cut at the cell's inner margin, only a sliver of it was left, dropped as a speck."""
    from ocr_lines import font
    from PIL import Image, ImageDraw

    from pipeline.grid import Cell, Grid
    from pipeline.ingest import PageImage, ScanFile
    from pipeline.ink import depth
    from pipeline.ocr.cells import inner_box, read_cells
    from pipeline.prepare import PreparedPage

    mm = 12.0  # 300 dpi
    text, face = "象人数有所减少", font("noto_serif", 36)
    mark = Image.new("L", (60, 60), 255)
    ImageDraw.Draw(mark).text((10, 5), "，", font=face, fill=0)
    ink_columns = np.flatnonzero((np.asarray(mark) < 128).any(axis=0))
    left, width = int(ink_columns[0]) - 10, int(ink_columns[-1] - ink_columns[0]) + 1
    text_end = 30 + round(face.getlength(text))
    box = (20, 30, text_end + round(1.7 * mm) + width + 3, 100)  # the cell, on its lines
    image = Image.new("L", (box[2] + 40, 140), 255)
    draw = ImageDraw.Draw(image)
    for x in (box[0], box[2]):
        draw.line([(x, 10), (x, 120)], fill=0, width=2)
    for y in (box[1], box[3]):
        draw.line([(0, y), (image.width - 10, y)], fill=0, width=2)
    draw.text((30, 45), text, font=face, fill=0)
    draw.text((box[2] - 3 - width - left, 45), "，", font=face, fill=0)  # its ink at the line
    gray = np.asarray(image)
    cell = Cell(0, 0, 0, 0, box)
    grid = Grid(xs=(box[0], box[2]), ys=(box[1], box[3]), cells=(cell,), px_per_mm=mm, line_px=2)
    assert box[2] - 3 > inner_box(box, grid)[2] + 2  # the comma runs past the inner box
    source = PageImage(ScanFile(None, "comma.png"), 1, gray, 300.0)  # type: ignore[arg-type]
    page = PreparedPage(source, gray, gray, gray, depth(gray), gray < 0, np.eye(3), 0.0, 0, True)

    engine = load_engine(OcrOptions())
    [read] = read_cells(page, grid, engine)
    assert norm(read.text) == norm(text + "，")

    # A stroke as tall as the text in the same place is what is left of the ruling line (a
    # thick or bent one): it stays out of the line, which would read it as a 1.
    stroked = np.asarray(image).copy()
    stroked[:, box[2] - 3 - width - left : box[2] - 1] = 255
    stroked[46:80, box[2] - 5 : box[2] - 3] = 0
    too_short_for_a_line = 6 * mm
    assert ((stroked[:, box[2] - 5 : box[2] - 3] == 0).sum(axis=0) < too_short_for_a_line).all()
    page = PreparedPage(
        source, stroked, stroked, stroked, depth(stroked), stroked < 0, np.eye(3), 0.0, 0, True
    )
    [read] = read_cells(page, grid, engine)
    assert norm(read.text) == norm(text)


def test_text_crossing_a_cell_s_edge_is_told_from_a_line_along_it() -> None:
    """A row line found through a merged cell's name cuts it: each half reads as nothing.
    The text's strokes run on above and below the edge; a dashed line the mask kept, or a
    line of text ending short of the edge, does not."""
    from pipeline.grid import Cell, Grid
    from pipeline.ocr.cells import text_cut_at_edge

    mm = 8.0
    box = (0, 0, 200, 100)  # the cell, on its lines; its bottom edge at y 100
    grid = Grid(xs=(0, 200), ys=(0, 100), cells=(Cell(0, 0, 0, 0, box),), px_per_mm=mm, line_px=2)
    mask = np.zeros((200, 200), np.uint8)
    for x in range(40, 160, 12):  # glyph strokes, 2 px wide, from y 90 to 112
        mask[90:112, x : x + 2] = 255
    assert text_cut_at_edge(mask, box, grid)
    dashed = np.zeros_like(mask)
    for x in range(20, 180, 6):
        dashed[99:102, x : x + 3] = 255
    assert not text_cut_at_edge(dashed, box, grid)
    above = np.zeros_like(mask)
    above[70:96, 40:160] = 255  # text that ends 0.5 mm above the edge
    assert not text_cut_at_edge(above, box, grid)


@pytest.mark.parametrize("face", FACES)
def test_hanzi_outside_simplified_print_are_read_as_the_likeliest_inside_it(face: str) -> None:
    """The recogniser knows traditional forms too, and reads 將 in a worn 将 now and then.
    These forms are printed in simplified Chinese: held to GB 2312, even a traditional form
    printed on purpose reads as its simplified one, at no higher a probability."""
    crops = [render_line(text, face) for text in ("下一步將加强项目管理", "確保按期完成")]
    anything = load_engine(OcrOptions(hanzi="any")).recognize(crops)
    simplified = load_engine(OcrOptions()).recognize(crops)
    assert [line.text for line in anything] == ["下一步將加强项目管理", "確保按期完成"]
    assert [line.text for line in simplified] == ["下一步将加强项目管理", "确保按期完成"]
    for held, free in zip(simplified, anything, strict=True):
        assert held.score <= free.score
