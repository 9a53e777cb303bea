# matchguide — the two commands: `make build` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
AS_OF  ?= $(shell date +%F)
N      ?= 200
ARGS   ?=

.PHONY: build test check bench readability golden clean distclean setup browsers fonts hugo

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --config-settings editable_mode=compat -e '.[test]'
	touch $(STAMP)

setup: $(STAMP) fonts

## Build the sample cohort into output/ (HTML site, PDFs, manifest, roster).
build: $(STAMP) fonts
	$(BIN)/matchguide build --as-of $(AS_OF) $(ARGS)

## Validate profiles, content and theme; write nothing.
check: $(STAMP)
	$(BIN)/matchguide check --as-of $(AS_OF) $(ARGS)

## Set up and run the whole test suite.
test: $(STAMP) browsers
	$(BIN)/python -m pytest -q $(ARGS)

## Headless Chromium for the browser tests and poppler for the PDF tests (Debian's packages; needs root or an
## existing install), and the fonts below.
browsers: fonts
	@need=""; \
	command -v chromium >/dev/null 2>&1 || need="$$need chromium"; \
	command -v pdftoppm >/dev/null 2>&1 || need="$$need poppler-utils"; \
	if [ -n "$$need" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$need >/dev/null) \
	      || echo "warning: could not install$$need; browser tests will be skipped"; \
	  else echo "note:$$need not found; browser tests will be skipped"; fi; fi
	@$(MAKE) --no-print-directory hugo

## Fonts for every applicant's name in the PDFs: Latin, Greek, Cyrillic, Arabic, Hebrew (DejaVu), Devanagari and
## the other scripts of India, Africa and Asia (Noto), Chinese, Japanese, Korean (Noto CJK), emoji. Debian's packages.
FONT_PACKAGES := fonts-dejavu-core fonts-noto-core fonts-noto-cjk fonts-noto-color-emoji
fonts:
	@command -v dpkg >/dev/null 2>&1 || exit 0; need=""; \
	for p in $(FONT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || need="$$need $$p"; done; \
	if [ -n "$$need" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$need >/dev/null) \
	      || echo "warning: could not install$$need; some names may print as empty boxes (matchguide check warns)"; \
	  else echo "note:$$need not installed (apt-get install them as root); some names may print as empty boxes"; fi; fi

## Hugo, for the bench's comparison (Debian's package); without it the comparison is skipped, with a note.
hugo:
	@command -v hugo >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hugo >/dev/null) \
	      || echo "note: could not install hugo; the Hugo comparison will be skipped"; \
	  else echo "note: hugo not found (Debian's hugo package); the Hugo comparison will be skipped"; fi; }

## Benchmark a synthetic cohort of N guides (default 200); writes output/bench.json.
bench: $(STAMP) hugo
	$(BIN)/python -m benchmarks.bench --n $(N)

## Flesch-Kincaid grade of the guide's prose, per content file.
readability: $(STAMP)
	$(BIN)/python -m tests.readability

## Regenerate the golden HTML files of tests/golden/ (review the diff before committing).
golden: $(STAMP)
	$(BIN)/python -m tests.golden

clean:
	rm -rf output .output.staging .output.old .output.lock

distclean: clean
	rm -rf $(VENV) *.egg-info
