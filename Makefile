# swift-pretrain: `make demo` runs the default job, `make test` the test suite. Both install what is missing.
SHELL := /bin/bash
APT_PACKAGES := libdnnl-dev libopenblas-dev libopenblas0-openmp pkg-config libsndfile1-dev libfftw3-dev libsoxr-dev espeak-ng sox \
	libopenmpi-dev openmpi-bin fluidsynth fluid-soundfont-gm
SWIFT ?= swift
RELEASE := $(SWIFT) build -c release

TASKS ?= data/tasks

.PHONY: tasks deps build test demo study-cpt study-transfer study-data study-downstream study-compose study-audio study-newlang study-w2v-bert study-gender study-mert study-position study-tts study-telephone study-indic bench bench-dp fixtures clean fuzz faults sources

# Debian/Ubuntu packages the build links against (and the tools `pretrain data synth-speech` drives: espeak-ng,
# sox; `pretrain data synth-music`: fluidsynth and its General MIDI soundfont; Open MPI for data-parallel training
# under mpirun); apt-get runs only when one is missing.
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi
	@command -v $(SWIFT) >/dev/null || { echo "Swift 6 toolchain not found on PATH (https://swift.org/install)"; exit 1; }

build: deps
	$(RELEASE) --product pretrain

# The multi-source text corpus in data/sources/ (docs/DATA_SOURCES.md): fortunes in fifteen languages, the
# Linux man pages, CPython's standard library (Debian packages fetched with `apt-get download`, nothing installed) and
# both Shakespeare editions, as JSONL. Runs `apt-get update` only on a machine without package lists; a second run
# with the same package versions does nothing.
sources:
	scripts/fetch_text_sources.sh

# The labelled text tasks of docs/EVALUATION.md in data/tasks/: the three Shakespeare tasks from the bundled plays, the
# four others from data/sources (fetched first when missing).
tasks: build sources
	$(PRETRAIN) tasks prepare --shakespeare data/shakespeare --sources data/sources --out $(TASKS)

# Numerical tests run in release: debug builds are too slow for the kernels. The suite is XCTest only;
# --disable-swift-testing keeps the empty Swift Testing run from printing the last line ("0 tests").
test: deps
	$(SWIFT) build -c release --build-tests
	$(SWIFT) test -c release --skip-build --disable-swift-testing

# The default job: tokenize Shakespeare (byte-level BPE, 4096 tokens; Hamlet and The Tempest held out), train
# recipes/shakespeare-gpt.yaml (a 4-layer GPT, about five minutes on two cores) into runs/demo, print the validation
# bits per byte and a sample. The corpus is prepared once; the run starts afresh each time.
DEMO_CORPUS := data/shakespeare-4096
DEMO_RUN := runs/demo
PRETRAIN := .build/release/pretrain

demo: build
	$(PRETRAIN) sysinfo
	@if [ -f $(DEMO_CORPUS)/corpus.json ]; then echo "corpus: $(DEMO_CORPUS) (already prepared)"; else \
		$(PRETRAIN) tokenize --train-vocab 4096 --val-files hamlet,tempest --out $(DEMO_CORPUS) data/shakespeare; fi
	$(PRETRAIN) train recipes/shakespeare-gpt.yaml --run-dir $(DEMO_RUN) --overwrite
	$(PRETRAIN) eval $(DEMO_RUN) --data $(DEMO_CORPUS)
	$(PRETRAIN) generate $(DEMO_RUN) --prompt "ROMEO:" --max-tokens 120 --temperature 0.8 --top-k 50 --seed 1

# The continual pre-training study (about 25 minutes on two cores): a small GPT pre-trained on
# modern-spelling Shakespeare, continued on the First Folio spelling in arms (rewarming, replay, schedules, a
# multi-epoch subset). Both corpora share the upstream tokenizer and are prepared once. Writes runs/study-cpt/
# (one run directory per arm, results.json) and the "Continual pre-training" section of docs/RESULTS.md
# with its figures in docs/results/. STUDY_FLAGS=--quick runs the tiny CI size; --reuse keeps finished arms.
FOLIO_CORPUS := data/shakespeare-folio-4096
STUDY_FLAGS ?=

study-cpt: build
	@if [ -f $(DEMO_CORPUS)/corpus.json ]; then echo "corpus: $(DEMO_CORPUS) (already prepared)"; else \
		$(PRETRAIN) tokenize --train-vocab 4096 --val-files hamlet,tempest --out $(DEMO_CORPUS) data/shakespeare; fi
	@if [ -f $(FOLIO_CORPUS)/corpus.json ] && cmp -s $(FOLIO_CORPUS)/tokenizer.json $(DEMO_CORPUS)/tokenizer.json; then \
		echo "corpus: $(FOLIO_CORPUS) (already prepared)"; else \
		$(PRETRAIN) tokenize --tokenizer $(DEMO_CORPUS)/tokenizer.json --val-files hamlet,tempest --out $(FOLIO_CORPUS) data/shakespeare-folio; fi
	OMP_WAIT_POLICY=passive $(PRETRAIN) study cpt --upstream $(DEMO_CORPUS) --downstream $(FOLIO_CORPUS) \
		--out runs/study-cpt --results docs/RESULTS.md $(STUDY_FLAGS)

# Our training step next to PyTorch's, alternating runs (needs Python with torch).
bench: build
	python3 bench/compare.py

# Data-parallel throughput here: 2 ranks × 1 thread under mpirun against 1 rank × 2 threads (docs/DISTRIBUTED.md).
bench-dp: build
	scripts/bench_dp.sh

# Regenerates the PyTorch reference fixtures (needs Python with torch and safetensors).
fixtures:
	python3 -m pip install -q torch safetensors
	python3 scripts/make_fixtures.py
	python3 scripts/make_optimizer_fixtures.py
	python3 scripts/make_safetensors_fixture.py
	python3 scripts/train_parity.py
	python3 scripts/make_ctc_fixtures.py
	python3 -m pip install -q scipy numpy
	python3 -m pip install -q --no-deps torchaudio   # without its pinned torch, which would replace the installed one
	python3 scripts/make_audio_fixtures.py
	python3 scripts/make_audio_objective_fixtures.py
	python3 scripts/make_w2v_bert_fixtures.py
	python3 scripts/make_mert_fixtures.py
	python3 scripts/make_text_position_fixtures.py
	python3 scripts/make_cqt_fixtures.py
	python3 scripts/make_tts_audio_fixtures.py
	python3 scripts/make_fastspeech_fixtures.py
	python3 -m pip install -q transformers tokenizers
	python3 scripts/make_wav2vec2_fixtures.py
	python3 scripts/make_beats_fixtures.py
	python3 scripts/make_choice_fixtures.py
	python3 scripts/make_seqcls_fixtures.py
	python3 scripts/make_compose_fixtures.py

clean:
	rm -rf .build

# The knowledge-transfer study (about 35 minutes on two cores): soft-label KD, SALT, ERNIE-Tiny's stages, self-distillation
# for further pre-training, bert2BERT growth and SPDF on the plays in data/shakespeare and data/shakespeare-folio (the
# study tokenizes them itself). Writes runs/study-transfer/ and its section of docs/RESULTS.md; STUDY_FLAGS=--quick for
# the CI size, --reuse to continue an interrupted study.
study-transfer: build
	OMP_WAIT_POLICY=passive $(PRETRAIN) study transfer --text data/shakespeare --folio data/shakespeare-folio \
		--out runs/study-transfer --results docs/RESULTS.md $(STUDY_FLAGS)

# The data-centric study (conditional training, Skill-it, data age, curation) on the sources `make sources` prepares.
# Writes runs/study-data/ and its section of docs/RESULTS.md; STUDY_FLAGS=--quick for the CI size, --reuse to continue.
study-data: build sources
	OMP_WAIT_POLICY=passive $(PRETRAIN) study data --sources data/sources --out runs/study-data --results docs/RESULTS.md $(STUDY_FLAGS)

# The downstream study (about an hour on two cores): the task suite of docs/EVALUATION.md for a GPT and a BERT of one shape
# (and both continued on the tasks' texts), PCP vs TAPT vs none, self-training, same loss with different flatness.
# Uses data/sources for four of the seven tasks when it exists (`make sources`). Writes runs/study-downstream/ and its
# section of docs/RESULTS.md; STUDY_FLAGS=--quick for the CI size, --reuse to continue an interrupted study.
study-downstream: build
	OMP_WAIT_POLICY=passive $(PRETRAIN) study downstream --sources data/sources --out runs/study-downstream \
		--results docs/RESULTS.md $(STUDY_FLAGS)

# The composition study (about half an hour on two cores): EFT up-scaling with a β sweep, residual transfer and merging
# (average, task arithmetic, TIES) on the plays in data/shakespeare and data/shakespeare-folio. Writes runs/study-compose/
# and its section of docs/RESULTS.md; STUDY_FLAGS=--quick for the CI size, --reuse to continue an interrupted study.
study-compose: build
	OMP_WAIT_POLICY=passive $(PRETRAIN) study compose --out runs/study-compose --results docs/RESULTS.md $(STUDY_FLAGS)

# The speech pre-training study of issue 6: espeak-ng corpus, TERA and SSAST pre-training (about 18 minutes each on
# two cores), probes of both encoders and both baselines; the table lands in runs/study-audio/results.md.
study-audio: build
	OMP_WAIT_POLICY=passive scripts/study_audio.sh

# Continued pre-training for a new language: a 6-layer English TERA encoder (trained first, 15-20 min) continued on
# Finnish, then CTC fine-tuning with 10 labelled minutes against no continued pre-training and from scratch (44 min on
# a 2-core Zen 5, about 65 on a Zen 3); the table lands in runs/study-newlang/results.md.
study-newlang: build
	OMP_WAIT_POLICY=passive scripts/study_newlang.sh

# The speech and music studies of the second round (each needs `make study-audio`'s corpus, or the music corpus of
# `pretrain data synth-music --out data/music`; TINY=1 in the environment runs any of them small, as a smoke test):
# w2v-BERT vs wav2vec 2.0 vs HuBERT at equal time; the speakers' gender in pre-training; MERT vs HuBERT on music;
# position prediction vs masked reconstruction; telephone-domain continued pre-training; multilingual Indic
# pre-training. Each writes runs/study-*/results.md; docs/RESULTS.md reports them.
study-w2v-bert: build
	OMP_WAIT_POLICY=passive scripts/study_w2v_bert.sh
study-gender: build
	OMP_WAIT_POLICY=passive scripts/study_gender.sh
study-mert: build
	OMP_WAIT_POLICY=passive scripts/study_mert.sh
study-position: build
	OMP_WAIT_POLICY=passive scripts/study_position.sh
study-tts: build
	OMP_WAIT_POLICY=passive scripts/study_tts.sh
study-telephone: build
	OMP_WAIT_POLICY=passive scripts/study_telephone.sh
study-indic: build
	OMP_WAIT_POLICY=passive scripts/study_indic.sh

# The fuzz suite of issue 18: every parser's structured fuzzer (`pretrain fuzz`) for FUZZ_SECONDS each, seeded with
# FUZZ_SEED (printed, so that a failure reruns exactly). Fails when a parser's process dies by a signal (a trap),
# hangs (exit 2) or passes FUZZ_MAX_RSS_MB (exit 3); each such line names the input and its rerun command.
# FUZZ_FLAGS=--skip-known leaves out the mutation families of issue items still open (see docs/RELIABILITY.md).
# FUZZ_INPUTS=N instead runs N inputs per parser, however long that takes (FUZZ_INPUTS=1000000: about 70 minutes on
# one core).
FUZZ_SECONDS ?= 600
FUZZ_INPUTS ?=
FUZZ_SEED ?= $(shell date +%s)
FUZZ_MAX_RSS_MB ?= 2048
FUZZ_PARSERS ?= recipe tokenizer corpus shard safetensors wav flac manifest jsonl curate
FUZZ_FLAGS ?=

fuzz: build
	@budget="$(if $(FUZZ_INPUTS),--inputs $(FUZZ_INPUTS),--seconds $(FUZZ_SECONDS))"; \
	echo "fuzz: seed $(FUZZ_SEED), $$budget per parser"; failed=""; \
	for parser in $(FUZZ_PARSERS); do \
		nice -n 10 $(PRETRAIN) fuzz $$parser $$budget --seed $(FUZZ_SEED) \
			--max-rss-mb $(FUZZ_MAX_RSS_MB) $(FUZZ_FLAGS); status=$$?; \
		if [ $$status -gt 128 ]; then failed="$$failed $$parser(signal $$((status - 128)))"; \
		elif [ $$status -ne 0 ]; then failed="$$failed $$parser(exit $$status)"; fi; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: FAILED:$$failed"; exit 1; fi; echo "fuzz: every parser ended every input in success or an error"

# The fault suite of issue 18 (scripts/faults.sh): kill -9 during training and checkpoint writes, a full disk, two
# concurrent resumes, a read-only run directory, corrupt checkpoint bytes; FAULT_TRIALS per scenario (default 5).
faults: build
	scripts/faults.sh
