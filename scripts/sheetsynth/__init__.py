"""A second corpus generator: forms typed into a spreadsheet, printed by LibreOffice, then damaged.

It shares no layout, drawing or damage code with `synth`; only the form content
(`synth.content`) is common, so the pipeline can be tuned on one and measured on the other.
"""
