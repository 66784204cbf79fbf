# Two commands do all the set-up on a fresh machine:
#   make run    read the bundled samples/ into out/samples/
#   make test   run the test suite
# Either one first makes .venv/ (scripts/setup.sh) when it is missing or out of date.

VENV  := .venv
STAMP := $(VENV)/.formscan-installed

.PHONY: run test setup corpus messages

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

# The review pages' messages: extract them (babel.cfg), merge them into each language's
# catalogue, compile the .mo files kept beside them. Fill in the new zh_CN msgstr, then run
# it again to compile them.
LOCALE := pipeline/review/locale
messages: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg --no-location --sort-output --project formscan \
		-o $(LOCALE)/messages.pot pipeline/review
	$(VENV)/bin/pybabel update -i $(LOCALE)/messages.pot -d $(LOCALE) --ignore-obsolete \
		--no-fuzzy-matching --width 100
	$(VENV)/bin/pybabel compile -d $(LOCALE) --statistics
	rm $(LOCALE)/messages.pot
