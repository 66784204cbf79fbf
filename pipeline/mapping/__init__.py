"""Stage 5, mapping: a form type's anchors and fields found among a file's read cells.

`forms.read_forms` groups a file's pages into forms and maps each: the scalar fields from its
first page (`scalars`), the indicator rows from every page (`indicators`, with the table's
columns from `columns`), each row's 二级 block from the order of the rows (`blocks`). Labels
are found by fuzzy match (`anchors`), so an OCR slip in a label (`项目名林`) still finds it;
a cell becomes a field's reading with its evidence in `cell_reading`.
Where worn lines joined cells, the mapping takes them apart as far as their text allows and
marks every field so read; a line without a name is no row.
"""
