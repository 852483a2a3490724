# Two commands do everything on a fresh machine: `make quickstart` and `make test`.
VENV ?= .venv
export VENV
STAMP := $(VENV)/.avcurr-installed

.PHONY: setup quickstart test clean

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/setup_env.sh
	bash scripts/setup_env.sh

quickstart: $(STAMP)
	$(VENV)/bin/python pipelines/quickstart.py --work avcurr-work/quickstart

test: $(STAMP)
	$(VENV)/bin/python -m pytest -n 2 -q

clean:
	rm -rf avcurr-work .pytest_cache
