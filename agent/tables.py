"""The item table read from the word boxes (tools/tables) in place of the model's rows.

When the reading passes its checks (tools/table_checks), the model is asked for the header
fields only (``header_model``: the values model without ``line_items``, so the table is never
decoded token by token) and the rows read at their boxes are put in with the record merge
(agent/windows.merge); their provenance is then found at their printed boxes like any
printed value (tools/provenance). When a check fails, the model extracts the rows.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel, create_model

from core.records import DocType, values_model_for
from tools.provenance import PageText
from tools.tables import Table, read_table


def checked_table(pages: list[PageText], doc_type: DocType) -> Table | None:
    """The document's item table when its reading passes the checks (tools/table_checks),
    else None. OCR'd pages never pass: scans stay with the model."""
    table = read_table(pages, doc_type)
    return table if table.passed else None


@cache
def header_model(doc_type: DocType) -> type[BaseModel]:
    """The values model of the type without its line items."""
    full = values_model_for(doc_type)
    fields: Any = {
        name: (info.annotation, info)
        for name, info in full.model_fields.items()
        if name != "line_items"
    }
    return create_model(full.__name__, __base__=full.__base__, **fields)
