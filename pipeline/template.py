"""The form type's old address: it now lives in `pipeline.form_spec`.

Kept only while `pipeline.review.labels` imports `TEMPLATE_DIR`, `Template` and
`load_template` from here; the mapping of read cells onto a form type is `pipeline.mapping`
(issue 20).
"""

from pipeline.form_spec import TEMPLATE_DIR as TEMPLATE_DIR
from pipeline.form_spec import Template as Template
from pipeline.form_spec import load_template as load_template
