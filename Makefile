# Two commands do all the set-up on a fresh machine:
#   make run    read the bundled samples/ into out/samples/
#   make test   run the test suite
# Either one first makes .venv/ (scripts/setup.sh) when it is missing or out of date.

VENV  := .venv
STAMP := $(VENV)/.formscan-installed

.PHONY: run test setup corpus

$(STAMP): pyproject.toml constraints.txt scripts/setup.sh
	bash scripts/setup.sh
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/formscan run samples --out out/samples

test: $(STAMP)
	$(VENV)/bin/pytest

corpus: $(STAMP)
	$(VENV)/bin/python scripts/make_corpus.py --out corpus/fit --seed 1000 --docs 25 --seed-forms
